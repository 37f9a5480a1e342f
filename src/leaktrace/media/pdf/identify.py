"""Reading a leaked PDF file: its file-level marks, and the page layer, word shifts and
embedded images of every page, grouped per registered document.

Each leaked page is rendered and found among the registered page assets like a screenshot
would be (hashes, then local features), registered, and its residual projected onto that page's
code groups. The pipeline then combines every block of a document into one score per recipient
(Stouffer), and each layer also decides alone, under one correction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from leaktrace.media.image.identify import keyed_blocks, raster_blocks
from leaktrace.media.image.locate import Located, cached_features, find_assets, load_original
from leaktrace.media.pdf import document as pdfdoc
from leaktrace.media.pdf import layers
from leaktrace.media.pdf.reading import PageReading, file_word_blocks
from leaktrace.pipeline.decide import per_part
from leaktrace.pipeline.evidence import Block, Findings, Group, Outcome, TokenMatch
from leaktrace.pipeline.session import Session

__all__ = ["file_tokens", "read_pdf"]

# Probability that an innocent recipient's keyed token matches by chance.
TOKEN_COINCIDENCE = 2.0 ** (-8 * layers.TOKEN_BYTES)
# A leaked PDF page rendered at the registered scale lands pixel for pixel on the original's
# render: above this correlation no search is needed.
SAME_RENDER_NCC = 0.9
CANDIDATE_PAGES = 8
# Word shifts move text by a third of a pixel, which alone takes a dense page's correlation
# with its original render from ~0.99 to ~0.9; compared blurred, it stays near 0.99.
SAME_RENDER_BLUR = 1.5
# Registered pages whose alignment is this close to the best are the same picture: a page
# reissued unchanged in another document (a new revision, an encrypted variant).
SAME_PICTURE_MARGIN = 1e-3


def _file_marks(pdf) -> list[tuple[str, bytes]]:
    """(where, value) of every value in the file that may be a file-level mark."""
    found: list[tuple[str, bytes]] = []
    ids = pdf.trailer.get("/ID")
    if ids is not None and len(ids) >= 1:
        found.append(("document /ID", bytes(ids[0])))
    try:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            value = meta.get("xmpMM:DocumentID")
    except Exception:  # an unreadable XMP packet is simply no evidence
        value = None
    if value:
        mark = layers.mark_from_xmp(str(value))
        if mark is not None:
            found.append(("XMP DocumentID", mark))
    for index, page in enumerate(pdf.pages):
        value = page.obj.get(layers.PAGE_KEY)
        if value is not None:
            found.append((f"page {index + 1} key", bytes(value)))
    return found


def file_tokens(registry, pdf) -> list[TokenMatch]:
    """Every file-level mark that names a registered asset, with the recipient it proves (or
    None when the token matches nobody who received that asset)."""
    lines = []
    for where, value in _file_marks(pdf):
        parts = layers.split_mark(value)
        if parts is None:
            continue
        asset_id, found_token = parts
        assets = registry.get_assets([asset_id])
        if not assets:
            continue
        asset = assets[0]
        label = "document-id" if asset.kind == "pdf" else "page-key"
        holders = registry.holder_codes(asset.id)
        # Each copy's token is keyed by the key that made it (before or after a rotation).
        proved = [
            rid
            for rid, key_id in zip(holders.recipient_ids, holders.key_ids, strict=True)
            if layers.token(registry.key_for(key_id), label, asset.sha256, rid) == found_token
        ]
        lines.append(
            TokenMatch(
                where,
                asset.id,
                proved[0] if proved else None,
                min(1.0, TOKEN_COINCIDENCE * max(1, len(holders))) if proved else None,
            )
        )
    return lines


def _ncc(a: np.ndarray, b: np.ndarray, blur: float = 0.0) -> float:
    import cv2

    a, b = a.astype(np.float32), b.astype(np.float32)
    if blur:
        a, b = cv2.GaussianBlur(a, (0, 0), blur), cv2.GaussianBlur(b, (0, 0), blur)
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def _one_per_document(found: list[tuple[Located, float]], margin: float) -> list[Located]:
    """The best-aligned candidate of every document whose best is as good as the overall best.

    Sister pages of one document differ in a word and align a little worse, so only one page per
    document is kept; identical pages in several documents are all kept, and each document is
    then scored on its own, with the correction covering them all.
    """
    if not found:
        return []
    top = max(score for _, score in found)
    per_document: dict = {}
    for candidate, score in found:
        document = candidate.asset.parent_id
        if score >= top - margin and (
            document not in per_document or score > per_document[document][1]
        ):
            per_document[document] = (candidate, score)
    return [located for located, _ in sorted(per_document.values(), key=lambda item: -item[1])]


def _locate_page(registry, rgb: np.ndarray, luma: np.ndarray) -> list:
    """The registered pages a rendered leak page shows, aligned; empty when none verifies.

    Pages of one document often look alike (same letterhead, same table), so the nearest
    candidates by hash are tried and the closest wins within a document; a same-size render is
    checked pixel-aligned before any search. An identical page in several documents gives one
    candidate per document (see :func:`_one_per_document`).
    """
    from leaktrace.engine.match import registration
    from leaktrace.engine.match.hashing import nearest_assets, perceptual_hashes

    phash, dhash = perceptual_hashes(rgb)
    ids, phashes, dhashes = registry.hash_table()
    nearest = nearest_assets(phash, dhash, ids, phashes, dhashes, limit=4 * CANDIDATE_PAGES)
    pages_by_id = {
        asset.id: asset
        for asset in registry.get_assets([m.asset_id for m in nearest])
        if asset.kind == "pdf-page"
    }
    matches = [m for m in nearest if m.asset_id in pages_by_id][:CANDIDATE_PAGES]
    analyses, same_renders = {}, []
    for match in matches:
        asset = pages_by_id[match.asset_id]
        if (asset.height, asset.width) != luma.shape:
            continue
        analysis = analyses[asset.id] = load_original(registry, asset)
        ncc = _ncc(analysis.reference_luma, luma, blur=SAME_RENDER_BLUR)
        if ncc >= SAME_RENDER_NCC:
            aligned = registration.Registration(np.eye(3), True, "same render", ncc, 0, 1.0)
            same_renders.append((Located(analysis, aligned, "perceptual hash"), ncc))
    if same_renders:
        return _one_per_document(same_renders, SAME_PICTURE_MARGIN)
    leak_features = registration.LazyFeatures(luma)
    verified = []
    for match in matches[:3]:
        asset = pages_by_id[match.asset_id]
        analysis = analyses.get(asset.id) or load_original(registry, asset)
        aligned = registration.register(
            analysis.reference_luma,
            luma,
            original_features=cached_features(registry, asset),
            leak_features=leak_features,
            # as in find_assets: once a page aligns, a sister page need not be searched for by
            # templates
            templates=not verified,
        )
        if aligned.verified:
            verified.append((Located(analysis, aligned, "perceptual hash"), aligned.ncc))
    return _one_per_document(verified, 10 * SAME_PICTURE_MARGIN)


def _page_blocks(session: Session, renders, evidence: dict) -> list[Block]:
    from leaktrace.engine.watermark.mask import luminance

    registry = session.registry
    pages: list[Block] = []
    for render in renders:
        luma = luminance(render.rgb)
        candidates = _locate_page(registry, render.rgb, luma)
        if not candidates:  # not found by its hashes: local features, as for a screenshot
            verified, _ = find_assets(registry, render.rgb, luma, {}, kinds=("pdf-page",))
            candidates = verified[:1]
        if not candidates:
            evidence["pages"].append({"page": render.index + 1, "found": None})
            continue
        for located in candidates:
            if any(page.asset.id == located.asset.id for page in pages):
                continue  # a page repeated in the leak is one piece of evidence, not two
            keyed, _ = raster_blocks(session, located, luma, layer="page layer", part=render.index)
            if not keyed:
                continue
            for block in keyed:
                block.origin = PageReading(located, luma)
            asset = located.asset
            evidence["pages"].append(
                {
                    "page": render.index + 1,
                    "found": asset.id,
                    "document": asset.parent_id,
                    "document_page": asset.page + 1,
                    "found_by": located.found_by,
                    "registration": located.registration.method,
                    "registration_ncc": round(float(located.registration.ncc), 4),
                }
            )
            pages += keyed
    return pages


def _image_blocks(session: Session, leaked, evidence: dict) -> list[Block]:
    """Evidence from the embedded images of a leaked file that are registered images."""
    from leaktrace.engine.match import registration
    from leaktrace.engine.match.residual import prepare
    from leaktrace.media.pdf.images import SAME_IMAGE_NCC

    found: list[Block] = []
    for asset, luma in leaked:
        if any(block.asset.id == asset.id for block in found):
            continue
        analysis = load_original(session.registry, asset)
        ncc = _ncc(analysis.reference_luma, luma)
        per_key = session.holders_by_key(asset.id)
        if ncc < SAME_IMAGE_NCC or not per_key:
            continue
        identity = np.eye(3)
        residual = prepare(
            analysis.reference_luma,
            analysis.detection_mask,
            luma,
            identity,
            analysis.keying.layout.layers[0].cols,
        )
        aligned = registration.Registration(identity, True, "same image", ncc, 0, 1.0)
        evidence["images"].append(
            {"found": asset.id, "document": asset.parent_id, "ncc": round(ncc, 4)}
        )
        origin = PageReading(Located(analysis, aligned, "embedded image"))
        found += keyed_blocks(
            analysis, residual, per_key, layer="embedded images", part=-1, origin=origin
        )
    return found


def _assembled(page_scores: list[dict]) -> str | None:
    """A note when different pages prove different recipients' copies."""
    proved: dict[str, list[int]] = {}
    for line in page_scores:
        if line["significant"]:
            proved.setdefault(line["best"], []).append(line["page"])
    if len(proved) < 2:
        return None
    parts = [
        f"page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages))}: {rid}"
        for rid, pages in proved.items()
    ]
    return (
        "pages prove different copies ("
        + "; ".join(parts)
        + "): the file was assembled from several copies"
    )


def _describer(session: Session, blocks: list[Block], tokens_prove: bool):
    def describe(decision) -> dict:
        used = [
            layer
            for layer in ("page layer", "word shifts", "embedded images")
            if any(block.layer == layer for block in blocks)
        ]
        page_scores = per_part(blocks, session.decoys, session.bound, decision.family, label="page")
        lines = {
            "pages_combined": sum(block.layer == "page layer" for block in blocks),
            "word_shift_pages_combined": sum(block.layer == "word shifts" for block in blocks),
            "images_combined": sum(block.layer == "embedded images" for block in blocks),
            "combination": (
                "Stouffer: sum of the per-page (page layer, word shifts) and per-image "
                "scores / sqrt(their number); Bonferroni over recipients"
            ),
            "layer_scores": decision.by_layer,
            "page_scores": page_scores,
            "decided_by": decision.statistic,
            "statistics_compared": decision.tests,
            "layers": used + (["file-level marks"] if tokens_prove else []),
        }
        assembled = _assembled(page_scores)
        if assembled:
            lines["conflict"] = assembled
        return lines

    return describe


def read_pdf(session: Session, path: Path, data: bytes) -> Findings:
    """The findings for a leaked PDF file (see the module's docstring)."""
    from leaktrace.media.pdf.images import leaked_images

    registry = session.registry
    with pdfdoc.open_pdf(data, str(path), session.password) as pdf:
        tokens = file_tokens(registry, pdf)
        n_pages = len(pdf.pages)
        embedded = leaked_images(registry, pdf)
    renders = pdfdoc.render_pages(data, str(path), session.password)
    tokens_prove = any(token.recipient for token in tokens)
    evidence: dict = {
        "leak": {"kind": "pdf", "pages": n_pages},
        "pages": [],
        "word_shifts": [],
        "images": [],
        "file_marks": [token.to_dict() for token in tokens],
        "layers": ["file-level marks"] if tokens_prove else [],
    }
    findings = Findings(evidence, tokens=tokens)
    blocks = _page_blocks(session, renders, evidence)
    blocks += file_word_blocks(session, data, blocks, evidence)
    blocks += _image_blocks(session, embedded, evidence)
    by_document: dict[str, list[Block]] = {}
    for block in blocks:
        by_document.setdefault(block.asset.parent_id, []).append(block)
    for doc_id, group in by_document.items():
        findings.groups.append(
            Group(registry.get_asset(doc_id), group, _describer(session, group, tokens_prove))
        )
    if tokens:
        findings.asset = _document_of(registry, tokens[0].asset_id)
    findings.outcome = Outcome(
        "unknown", "no page of the PDF matches a registered page, and it carries no file-level mark"
    )
    return findings


def _document_of(registry, asset_id: str):
    asset = registry.get_asset(asset_id)
    return asset if asset.kind == "pdf" else registry.get_asset(asset.parent_id)
