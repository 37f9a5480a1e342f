"""Identifying a leaked PDF file: file-level marks first, then the page layer of every page,
combined into one score per recipient.

Each leaked page is rendered and found among the registered page assets like a screenshot
would be (hashes, then local features), registered, and its residual projected onto that page's
code groups. Recipient *j*'s codes on different pages are independent keyed signs, so
concatenating the per-page projections, each scaled to unit length, gives one statistic
``sum_p z_pj / sqrt(P)`` (Stouffer's) whose innocent null is again exactly N(0, 1); decoy codes
are concatenated the same way. The decision is then the image engine's: Bonferroni over every
recipient scored, accused only below the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from leaktrace.media.pdf import document as pdfdoc
from leaktrace.media.pdf import layers

SMALLEST_REPORTED_P = 1e-300
# Probability that an innocent recipient's keyed token matches by chance.
TOKEN_COINCIDENCE = 2.0 ** (-8 * layers.TOKEN_BYTES)


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


def check_file_marks(registry, pdf) -> list[dict]:
    """Every file-level mark that names a registered asset, with the recipient it proves (or
    None when the token matches nobody who received that asset)."""
    lines = []
    for where, value in _file_marks(pdf):
        parts = layers.split_mark(value)
        if parts is None:
            continue
        asset_id, found_token = parts
        assets = [a for a in registry.list_assets() if a.id == asset_id]
        if not assets:
            continue
        asset = assets[0]
        label = "document-id" if asset.kind == "pdf" else "page-key"
        holders, _ = registry.recipient_codes(asset.id)
        proved = [
            rid
            for rid in holders
            if layers.token(registry.key, label, asset.sha256, rid) == found_token
        ]
        lines.append(
            {
                "layer": "file-level",
                "where": where,
                "asset": asset.id,
                "recipient": proved[0] if proved else None,
                "p_value": min(1.0, TOKEN_COINCIDENCE * max(1, len(holders))) if proved else None,
            }
        )
    return lines


@dataclass
class _Page:
    leak_page: int
    located: object  # leaktrace.pipeline.identify._Located
    y: np.ndarray
    ids: list[str]
    codes: np.ndarray  # packed (N, K / 8)
    layer: str = "page layer"
    # Decoy codes (count -> (count, K) +-1) of this block; the page layer's by default.
    decoys: Callable[[int], np.ndarray] | None = None
    # The leaked page as rendered (luma), kept for reading word shifts from the picture when
    # the file has no glyphs to read them from.
    picture: np.ndarray | None = None
    # Decoys drawn once per block: the combined score and each layer's own score reuse them.
    decoy_cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def decoy_codes(self, count: int) -> np.ndarray:
        if count not in self.decoy_cache:
            source = self.decoys or self.located.analysis.keying.decoy_codes
            self.decoy_cache[count] = source(count)
        return self.decoy_cache[count]


# A leaked PDF page rendered at the registered scale lands pixel for pixel on the original's
# render: above this correlation no search is needed.
SAME_RENDER_NCC = 0.9
CANDIDATE_PAGES = 8
# Word shifts move text by a third of a pixel, which alone takes a dense page's correlation
# with its original render from ~0.99 to ~0.9; compared blurred, it stays near 0.99.
SAME_RENDER_BLUR = 1.5


def _ncc(a: np.ndarray, b: np.ndarray, blur: float = 0.0) -> float:
    import cv2

    a, b = a.astype(np.float32), b.astype(np.float32)
    if blur:
        a, b = cv2.GaussianBlur(a, (0, 0), blur), cv2.GaussianBlur(b, (0, 0), blur)
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


# Registered pages whose alignment is this close to the best are the same picture: a page
# reissued unchanged in another document (a new revision, an encrypted variant).
SAME_PICTURE_MARGIN = 1e-3


def _one_per_document(found: list[tuple[object, float]], margin: float) -> list[tuple]:
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
        document = candidate.analysis.asset.parent_id
        if score >= top - margin and (
            document not in per_document or score > per_document[document][1]
        ):
            per_document[document] = (candidate, score)
    return sorted(per_document.values(), key=lambda item: -item[1])


def _locate_page(registry, rgb: np.ndarray, luma: np.ndarray, pages_by_id: dict) -> list:
    """The registered pages a rendered leak page shows, aligned; empty when none verifies.

    Pages of one document often look alike (same letterhead, same table), so the nearest
    candidates by hash are tried and the closest wins within a document; a same-size render is
    checked pixel-aligned before any search. An identical page in several documents gives one
    candidate per document (see :func:`_one_per_document`).
    """
    from leaktrace.engine.match import registration
    from leaktrace.engine.match.hashing import nearest_assets, perceptual_hashes
    from leaktrace.pipeline.identify import _cached_features, _load_original, _Located

    phash, dhash = perceptual_hashes(rgb)
    ids, phashes, dhashes = registry.hash_table()
    matches = [
        m
        for m in nearest_assets(phash, dhash, ids, phashes, dhashes, limit=4 * CANDIDATE_PAGES)
        if m.asset_id in pages_by_id
    ][:CANDIDATE_PAGES]
    analyses, same_renders = {}, []
    for match in matches:
        asset = pages_by_id[match.asset_id]
        if (asset.height, asset.width) != luma.shape:
            continue
        analysis = analyses[asset.id] = _load_original(registry, asset)
        ncc = _ncc(analysis.reference_luma, luma, blur=SAME_RENDER_BLUR)
        if ncc >= SAME_RENDER_NCC:
            aligned = registration.Registration(np.eye(3), True, "same render", ncc, 0, 1.0)
            same_renders.append((_Located(analysis, aligned, "perceptual hash"), ncc))
    if same_renders:
        return [located for located, _ in _one_per_document(same_renders, SAME_PICTURE_MARGIN)]
    leak_features = registration.LazyFeatures(luma)
    verified = []
    for match in matches[:3]:
        asset = pages_by_id[match.asset_id]
        analysis = analyses.get(asset.id) or _load_original(registry, asset)
        aligned = registration.register(
            analysis.reference_luma,
            luma,
            original_features=_cached_features(registry, asset),
            leak_features=leak_features,
            # as in identify._find_assets: once a page aligns, a sister page need not be
            # searched for by templates
            templates=not verified,
        )
        if aligned.verified:
            verified.append((_Located(analysis, aligned, "perceptual hash"), aligned.ncc))
    return [located for located, _ in _one_per_document(verified, 10 * SAME_PICTURE_MARGIN)]


def _page_projections(registry, renders, evidence: dict) -> list[_Page]:
    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.pipeline.identify import _find_assets

    pages_by_id = {asset.id: asset for asset in registry.list_assets("pdf-page")}
    pages: list[_Page] = []
    for render in renders:
        luma = luminance(render.rgb)
        candidates = _locate_page(registry, render.rgb, luma, pages_by_id)
        if not candidates:  # not found by its hashes: local features, as for a screenshot
            verified, _ = _find_assets(registry, render.rgb, luma, {}, kinds=("pdf-page",))
            candidates = verified[:1]
        if not candidates:
            evidence["pages"].append({"page": render.index + 1, "found": None})
            continue
        for located in candidates:
            page = _page_evidence(registry, render, luma, located, pages, evidence)
            if page is not None:
                pages.append(page)
    return pages


def _page_evidence(registry, render, luma, located, pages, evidence) -> _Page | None:
    """One leaked page's projection onto a registered page's code groups, recorded in
    ``evidence``; None when that page was already counted or was never distributed."""
    from leaktrace.engine.match.residual import extract
    from leaktrace.pipeline.identify import _packed_codes

    analysis = located.analysis
    if any(page.located.analysis.asset.id == analysis.asset.id for page in pages):
        return None  # a page repeated in the leak is one piece of evidence, not two
    ids, cached = registry.recipient_codes(analysis.asset.id)
    if not ids:
        return None
    projection = extract(
        analysis.keying,
        analysis.reference_luma,
        analysis.detection_mask,
        luma,
        located.registration.homography,
        local_warp=located.registration.local_warp,
    )
    evidence["pages"].append(
        {
            "page": render.index + 1,
            "found": analysis.asset.id,
            "document": analysis.asset.parent_id,
            "document_page": analysis.asset.page + 1,
            "found_by": located.found_by,
            "registration": located.registration.method,
            "registration_ncc": round(float(located.registration.ncc), 4),
        }
    )
    return _Page(
        render.index,
        located,
        projection.y,
        ids,
        _packed_codes(analysis.keying, ids, cached),
        picture=luma,
    )


def _image_projections(registry, leaked, evidence: dict) -> list[_Page]:
    """Evidence from the embedded images of a leaked file that are registered images."""
    from leaktrace.engine.match import registration
    from leaktrace.engine.match.residual import extract
    from leaktrace.media.pdf.images import SAME_IMAGE_NCC
    from leaktrace.pipeline.identify import _load_original, _Located, _packed_codes

    found: list[_Page] = []
    for asset, luma in leaked:
        if any(page.located.analysis.asset.id == asset.id for page in found):
            continue
        analysis = _load_original(registry, asset)
        ncc = _ncc(analysis.reference_luma, luma)
        ids, cached = registry.recipient_codes(asset.id)
        if ncc < SAME_IMAGE_NCC or not ids:
            continue
        identity = np.eye(3)
        projection = extract(
            analysis.keying, analysis.reference_luma, analysis.detection_mask, luma, identity
        )
        aligned = registration.Registration(identity, True, "same image", ncc, 0, 1.0)
        evidence["images"].append(
            {"found": asset.id, "document": asset.parent_id, "ncc": round(ncc, 4)}
        )
        found.append(
            _Page(
                -1,
                _Located(analysis, aligned, "embedded image"),
                projection.y,
                ids,
                _packed_codes(analysis.keying, ids, cached),
            )
        )
    return found


def _word_count(asset) -> int:
    return int(asset.params.get("word_shift", {}).get("words", 0))


def _original_words(registry, asset, password: str | None):
    """The registered page's words (text state) and pdfium's glyphs, mapped to its render."""
    from leaktrace.media.pdf import text

    document = registry.get_asset(asset.parent_id)
    original = registry.store.get(document.sha256)
    with pdfdoc.open_pdf(original, document.file_name, password) as pdf:
        words = text.page_words(pdf, pdf.pages[asset.page]).words
    return words, text.read_glyphs(original, asset.page, password, (asset.width, asset.height))


def _measure_picture(located, leak_luma: np.ndarray, words, glyphs):
    from leaktrace.media.pdf import wordshift

    return wordshift.measure_image(
        wordshift.word_geometry(words, glyphs),
        located.analysis.reference_luma,
        leak_luma,
        located.registration.homography,
        located.registration.local_warp,
    )


def _word_block(registry, located, leak_page: int, ids, measured) -> _Page:
    """Measured word shifts as a block of evidence, scored against each holder's keyed signs."""
    from functools import partial

    from leaktrace.media.pdf import wordshift

    asset, ids = located.analysis.asset, list(ids)
    count = _word_count(asset)
    return _Page(
        leak_page,
        located,
        measured.shifts,
        ids,
        wordshift.packed_codes(registry.key, asset.sha256, ids, count),
        layer="word shifts",
        decoys=partial(wordshift.decoy_codes, registry.key, asset.sha256, count),
    )


def _word_projections(registry, data: bytes, password: str | None, pages, evidence) -> list:
    """The word shifts of every leaked page found among the registered pages, measured against
    the registered original's glyph positions; from the rendered page when the leaked file has
    no text left to read (an image-only print)."""
    from leaktrace.errors import InputError
    from leaktrace.media.pdf import text, wordshift

    found: list[_Page] = []
    for page in pages:
        asset = page.located.analysis.asset
        count = _word_count(asset)
        if page.leak_page < 0 or count == 0:
            continue
        line = {"page": page.leak_page + 1, "found": asset.id, "words": count}
        evidence["word_shifts"].append(line)
        try:
            words, glyphs = _original_words(registry, asset, password)
            leak = text.glyph_origins(data, page.leak_page, password)
        except InputError as exc:  # e.g. an encrypted original whose password was not given
            line["note"] = f"not read: {exc}"
            continue
        if len(words) != count:
            line["note"] = "the original's words differ from its registration"
            continue
        measured = wordshift.measure(words, (glyphs.chars, glyphs.origins), leak)
        if not measured.usable and page.picture is not None:
            line["read_from"] = "picture"
            measured = _measure_picture(page.located, page.picture, words, glyphs)
        line.update(measured=measured.measured, median_shift_pt=round(measured.residual_pt, 4))
        if not measured.usable:
            where = "located in the picture" if "read_from" in line else "found in the leak"
            line["note"] = f"too few words {where}"
            continue
        found.append(_word_block(registry, page.located, page.leak_page, page.ids, measured))
    return found


def picture_word_shifts(registry, located, leak_luma: np.ndarray, leak_page: int, ids, password):
    """The word shifts read from a picture of a registered page (a screenshot or a photo), as
    one more block of evidence; None when the page has no words or too few could be located.

    Returns ``(block, line)``: the block to combine and its line for ``evidence.word_shifts``.
    """
    from leaktrace.errors import InputError

    asset = located.analysis.asset
    count = _word_count(asset)
    if count == 0 or not ids:
        return None, None
    line = {"page": leak_page + 1, "found": asset.id, "words": count, "read_from": "picture"}
    try:
        words, glyphs = _original_words(registry, asset, password)
    except InputError as exc:
        line["note"] = f"not read: {exc}"
        return None, line
    if len(words) != count:
        line["note"] = "the original's words differ from its registration"
        return None, line
    measured = _measure_picture(located, leak_luma, words, glyphs)
    line.update(measured=measured.measured, median_shift_pt=round(measured.residual_pt, 4))
    if not measured.usable:
        line["note"] = "too few words located in the picture"
        return None, line
    return _word_block(registry, located, leak_page, ids, measured), line


def _combine(pages: list[_Page], decoys: int, bound: float, family: int):
    """One attribution over the pages of one document (Stouffer's sum of per-page scores)."""
    from leaktrace.engine.watermark.detect import attribute

    # Every recipient of a document receives all of its pages; one who lacks a page (a partial
    # record) cannot be scored on the same statistic and is left out rather than guessed.
    ids = sorted(set.intersection(*(set(page.ids) for page in pages)))
    unit_ys, code_blocks, decoy_blocks = [], [], []
    for page in pages:
        norm = float(np.linalg.norm(page.y))
        if norm == 0.0 or not np.isfinite(norm):
            continue
        unit_ys.append(page.y / norm)
        row = {rid: i for i, rid in enumerate(page.ids)}
        block = page.codes[[row[rid] for rid in ids]]
        code_blocks.append(block)
        decoy_blocks.append(page.decoy_codes(decoys))
    if not unit_ys or not ids:
        return None
    y = np.concatenate(unit_ys)
    codes = np.concatenate(code_blocks, axis=1)
    decoy_codes = np.concatenate(decoy_blocks, axis=1)
    return attribute(y, codes, ids, decoy_codes, bound=bound, family_size=family)


def _by_layer(group: list[_Page]) -> dict[str, list[_Page]]:
    kinds = {
        "page layer": [p for p in group if p.layer == "page layer" and p.leak_page >= 0],
        "word shifts": [p for p in group if p.layer == "word shifts"],
        "embedded images": [p for p in group if p.leak_page < 0],
    }
    return {layer: blocks for layer, blocks in kinds.items() if blocks}


@dataclass
class _Decision:
    scores: object  # leaktrace.engine.watermark.detect.Attribution of the statistic that decided
    statistic: str  # "all layers" or the one layer
    tests: int  # statistics computed, each corrected for all of them
    by_layer: list[dict]


def _decide(group: list[_Page], decoys: int, bound: float, family: int) -> _Decision | None:
    """The combined score of every layer, and each layer's own, the strongest deciding.

    Stouffer's sum weighs every block alike, so a layer a leaker removed (the page layer
    blanked, leaving the word shifts) would dilute the others. Each layer is therefore also
    scored alone, and all the statistics share one Bonferroni correction (family x tests), so
    taking the smallest p-value of them stays within the bound.
    """
    subsets = {"all layers": group}
    layers_found = _by_layer(group)
    if len(layers_found) > 1:
        subsets.update(layers_found)
    tests = len(subsets)
    results = {
        label: scores
        for label, blocks in subsets.items()
        if (scores := _combine(blocks, decoys, bound, family * tests)) is not None
    }
    if not results:
        return None
    statistic = min(results, key=lambda label: results[label].p_family[0])
    by_layer = [
        {
            "layer": label,
            "blocks": len(subsets[label]),
            "best": scores.best,
            "z": round(float(scores.z[0]), 2),
            "p_family": max(float(scores.p_family[0]), SMALLEST_REPORTED_P),
        }
        for label, scores in results.items()
        if label != "all layers" or tests == 1
    ]
    return _Decision(results[statistic], statistic, tests, by_layer)


def _per_page(group: list[_Page], decoys: int, bound: float, family: int) -> list[dict]:
    """Each leaked page's own best recipient (its page layer and word shifts together).

    Reported, never used to accuse on its own: it shows a file assembled from several copies,
    where the combined score points at whoever supplied most pages. Each page's p-value is
    corrected for the pages compared as well.
    """
    numbers = sorted({page.leak_page for page in group if page.leak_page >= 0})
    lines = []
    for number in numbers:
        scores = _combine(
            [page for page in group if page.leak_page == number],
            decoys,
            bound,
            family * len(numbers),
        )
        if scores is None:
            continue
        lines.append(
            {
                "page": number + 1,
                "best": scores.best,
                "z": round(float(scores.z[0]), 2),
                "p_family": max(float(scores.p_family[0]), SMALLEST_REPORTED_P),
                "significant": scores.attributed,
            }
        )
    return lines


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


def identify_pdf(
    registry,
    path: Path,
    data: bytes,
    sha256: str,
    *,
    bound: float,
    decoys: int,
    password: str | None = None,
):
    """Identify a leaked PDF file (see the module's docstring); returns an Identification."""
    from leaktrace.pipeline.identify import (
        MAX_CANDIDATES_REPORTED,
        Identification,
        _confirm_codes,
        candidate_list,
    )

    result = Identification("unknown", str(path), sha256, bound)
    from leaktrace.media.pdf.images import leaked_images

    with pdfdoc.open_pdf(data, str(path), password) as pdf:
        file_lines = check_file_marks(registry, pdf)
        n_pages = len(pdf.pages)
        embedded = leaked_images(registry, pdf)
    renders = pdfdoc.render_pages(data, str(path), password)
    evidence: dict = {
        "leak": {"kind": "pdf", "pages": n_pages},
        "pages": [],
        "word_shifts": [],
        "images": [],
        "file_marks": file_lines,
    }
    result.evidence = evidence
    pages = _page_projections(registry, renders, evidence)
    pages += _word_projections(registry, data, password, pages, evidence)
    pages += _image_projections(registry, embedded, evidence)

    by_document: dict[str, list[_Page]] = {}
    for page in pages:
        by_document.setdefault(page.located.analysis.asset.parent_id, []).append(page)
    family = sum(
        len(set.intersection(*(set(p.ids) for p in group))) for group in by_document.values()
    )
    best = None
    for doc_id, group in by_document.items():
        decision = _decide(group, decoys, bound, family)
        if decision is not None and (
            best is None or decision.scores.p_family[0] < best[1].scores.p_family[0]
        ):
            best = (doc_id, decision, group)

    file_proved = [line for line in file_lines if line["recipient"]]
    doc_id = best[0] if best else None
    if doc_id is None and file_lines:
        doc_id = _document_of(registry, file_lines[0]["asset"])
    if doc_id is None:
        result.reason = (
            "no page of the PDF matches a registered page, and it carries no file-level mark"
        )
        return result
    result.asset = registry.get_asset(doc_id)
    layers_used = []
    if best is not None:
        _, decision, group = best
        scores = decision.scores
        for layer in ("page layer", "word shifts"):
            if any(page.layer == layer and page.leak_page >= 0 for page in group):
                layers_used.append(layer)
        if any(page.leak_page < 0 for page in group):
            layers_used.append("embedded images")
        for page in group:  # an edited registry must not frame anyone: see identify.py
            if page.layer == "word shifts":  # derived from the key here, never read back
                continue
            _confirm_codes(
                page.located.analysis.keying,
                page.ids,
                [bytes(row) for row in page.codes],
                [rid for rid in scores.significant if rid in page.ids],
            )
        shown = list(
            dict.fromkeys([*scores.recipient_ids[:MAX_CANDIDATES_REPORTED], *scores.significant])
        )
        names = {r.id: r for r in registry.get_recipients(shown)}
        result.candidates = candidate_list(scores, names)
        evidence.update(
            {
                "pages_combined": sum(
                    page.leak_page >= 0 and page.layer == "page layer" for page in group
                ),
                "word_shift_pages_combined": sum(page.layer == "word shifts" for page in group),
                "images_combined": sum(page.leak_page < 0 for page in group),
                "combination": (
                    "Stouffer: sum of the per-page (page layer, word shifts) and per-image "
                    "scores / sqrt(their number); Bonferroni over recipients"
                ),
                "layer_scores": decision.by_layer,
                "page_scores": _per_page(group, decoys, bound, family),
                "decided_by": decision.statistic,
                "statistics_compared": decision.tests,
                "hypotheses_tested": family * decision.tests,
                "null": scores.null.to_dict(),
                "runner_up": result.candidates[1] if len(result.candidates) > 1 else None,
            }
        )
        if scores.attributed:
            result.verdict = "attributed"
            result.recipient = names[scores.best]
            # Stouffer sums over many pages reach z > 38, whose tail underflows a double.
            result.p_value = max(float(scores.p_family[0]), SMALLEST_REPORTED_P)
            result.significant = [c for c in result.candidates if c["id"] in scores.significant]
    assembled = _assembled(evidence.get("page_scores", []))
    if assembled:
        evidence["conflict"] = assembled
    if file_proved:
        layers_used.append("file-level marks")
        holder = file_proved[0]["recipient"]
        if result.verdict != "attributed":
            result.verdict = "attributed"
            result.recipient = registry.get_recipient(holder)
            result.p_value = min(line["p_value"] for line in file_proved)
        elif holder != result.recipient.id:
            evidence["conflict"] = (
                f"the file-level marks name {holder}, the page layer {result.recipient.id}: "
                "the file was assembled from several copies"
            )
    evidence["layers"] = layers_used
    if result.verdict == "attributed":
        accused = [result.recipient.id, *(c["id"] for c in result.significant)]
        copies = registry.list_copies(asset_id=doc_id, recipient_ids=list(dict.fromkeys(accused)))
        evidence["distribution"] = [
            {
                "recipient": c.recipient_id,
                "output_sha256": c.output_sha256,
                "output_name": c.output_name,
                "at": c.created_at.isoformat() if c.created_at else None,
            }
            for c in copies
        ]
        evidence["exact_copy_of"] = [c.recipient_id for c in copies if c.output_sha256 == sha256]
    if result.verdict != "attributed":
        result.verdict = "inconclusive"
        best_text = ""
        if best is not None:
            best_text = (
                f": the best, {best[1].scores.best}, has a false-accusation probability of "
                f"{float(best[1].scores.p_family[0]):.2g}, above the bound {bound:.0e}"
            )
        result.reason = f"no recipient's mark is significant{best_text}"
    return result


def _document_of(registry, asset_id: str) -> str | None:
    asset = registry.get_asset(asset_id)
    return asset.id if asset.kind == "pdf" else asset.parent_id
