"""Identification: which asset a leak shows, whose copy it is, and how sure we can be.

Verdicts:

``attributed``
    A recipient's mark is present with a family-wise false-accusation probability at or below the
    bound. Every other recipient that also passes (colluders) is listed in ``significant``.
``inconclusive``
    The asset was found but nobody could be proved: the alignment could not be verified, or no
    score passed the bound. An honest answer, not a failure.
``unknown``
    The leak matches no registered asset.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from leaktrace import __version__
from leaktrace.engine.watermark.detect import DEFAULT_BOUND, DEFAULT_DECOYS, attribute
from leaktrace.errors import InputError, RegistryError
from leaktrace.registry.models import Asset, Copy, Recipient

MAX_CANDIDATES_REPORTED = 20
FALLBACK_ASSETS = 16
# Below this correlation an unverified candidate shares nothing recognisable with the leak.
UNRELATED_NCC = 0.3
STATEMENT = (
    "This result identifies whose registered copy the leaked file was made from. It identifies a "
    "copy, not a person: it does not show who published it or how it left the recipient."
)


@dataclass
class Identification:
    verdict: str
    file: str
    sha256: str
    threshold: float
    recipient: Recipient | None = None
    asset: Asset | None = None
    p_value: float | None = None
    reason: str | None = None
    candidates: list[dict] = field(default_factory=list)
    significant: list[dict] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)

    @property
    def attributed(self) -> bool:
        return self.verdict == "attributed"

    def to_dict(self) -> dict:
        asset = None
        if self.asset is not None:
            asset = {
                "id": self.asset.id,
                "file": self.asset.file_name,
                "sha256": self.asset.sha256,
                "width": self.asset.width,
                "height": self.asset.height,
            }
        recipient = None
        if self.recipient is not None:
            recipient = {
                "id": self.recipient.id,
                "name": self.recipient.name,
                "org": self.recipient.org,
            }
        return {
            "verdict": self.verdict,
            "file": self.file,
            "sha256": self.sha256,
            "recipient": recipient,
            "asset": asset,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "reason": self.reason,
            "significant": self.significant,
            "candidates": self.candidates,
            "evidence": self.evidence,
            "statement": STATEMENT,
            "tool": {"name": "leaktrace", "version": __version__},
        }


# Analyses of recently identified assets, newest last: a crawl holds many leaks of the same
# photo, and decoding the original and computing its masks is a large share of each identify.
_ANALYSES: OrderedDict[tuple, object] = OrderedDict()
_ANALYSES_KEPT = 4
_ANALYSES_LOCK = threading.Lock()  # a Dask worker identifies in several threads


def _load_original(registry, asset: Asset):
    """The asset's analysis. The original's bytes are read and checked against their SHA-256
    every time (a tampered store is an error, cached or not); the analysis of the same bytes
    under the same key and parameters is reused, read-only."""
    from leaktrace.media.image import files as images
    from leaktrace.media.image.asset import analyse

    data = registry.store.get(asset.sha256)
    key = (
        hashlib.sha256(registry.key).digest(),
        asset.sha256,
        json.dumps(asset.params, sort_keys=True),
    )
    with _ANALYSES_LOCK:
        cached = _ANALYSES.get(key)
        if cached is not None:
            _ANALYSES.move_to_end(key)
    if cached is not None:
        return replace(cached, asset=asset)
    analysis = analyse(asset, images.load_image(data), registry.key)
    for array in (
        analysis.luma,
        analysis.mask,
        analysis.reference_luma,
        analysis.detection_mask,
    ):
        array.flags.writeable = False  # shared between identifications: nobody may edit it
    with _ANALYSES_LOCK:
        _ANALYSES[key] = analysis
        while len(_ANALYSES) > _ANALYSES_KEPT:
            _ANALYSES.popitem(last=False)
    return analysis


def _cached_features(registry, asset: Asset):
    from leaktrace.engine.match.registration import Features
    from leaktrace.media.image.asset import features_blob_name

    blob = registry.store.get_blob(features_blob_name(asset.sha256))
    return Features.from_bytes(blob) if blob else None


@dataclass(frozen=True)
class _Located:
    """An asset the leak may show, and its alignment (verified or not)."""

    analysis: object  # leaktrace.media.image.asset.AssetAnalysis
    registration: object  # leaktrace.engine.match.registration.Registration
    found_by: str


MAX_VERIFIED = 3


class _CodePrefetch:
    """Reads candidate assets' recipient codes in a background thread.

    Registration is OpenCV work that releases the GIL, and reading 10^5 codes is mostly waiting
    on the database: overlapping them keeps identify's time nearly flat in the number of
    recipients. A code read that was never needed is simply dropped.
    """

    def __init__(self, registry) -> None:
        self._registry = registry
        self._pending: dict[str, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaktrace-codes")

    def __enter__(self) -> _CodePrefetch:
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def start(self, asset: Asset) -> None:
        if asset.id not in self._pending:
            self._pending[asset.id] = self._pool.submit(self._registry.recipient_codes, asset.id)

    def get(self, asset_id: str) -> tuple[list[str], list[bytes | None]]:
        pending = self._pending.get(asset_id)
        return pending.result() if pending is not None else self._registry.recipient_codes(asset_id)


def _find_assets(
    registry,
    leak_rgb: np.ndarray,
    leak_luma: np.ndarray,
    evidence: dict,
    kinds: tuple[str, ...] | None = None,
    on_candidate: Callable[[Asset], None] | None = None,
) -> tuple[list[_Located], _Located | None]:
    """Every registered asset the leak verifiably shows (usually one; more when the same picture
    was registered twice, e.g. re-exported), and the best unverified attempt.

    Perceptual hashes first; local features for crops and screenshots, whose global hash changed.
    ``on_candidate`` hears of every asset before its registration starts.
    """
    from leaktrace.engine.match import registration
    from leaktrace.engine.match.hashing import nearest_assets, perceptual_hashes

    phash, dhash = perceptual_hashes(leak_rgb)
    ids, phashes, dhashes = registry.hash_table()
    # A PDF page is registered as its render, so a page screenshot is found like any image.
    by_id = {
        asset.id: asset
        for asset in registry.list_assets()
        if asset.kind in ("image", "pdf-page") and (kinds is None or asset.kind in kinds)
    }
    matches = [
        m for m in nearest_assets(phash, dhash, ids, phashes, dhashes) if m.asset_id in by_id
    ]
    evidence["hash_matches"] = [
        {
            "asset": m.asset_id,
            "phash_distance": m.phash_distance,
            "dhash_distance": m.dhash_distance,
        }
        for m in matches
    ]
    leak_features = registration.LazyFeatures(leak_luma)
    verified: list[_Located] = []
    best_failure: _Located | None = None

    def attempt(asset: Asset, how: str) -> None:
        nonlocal best_failure
        if on_candidate is not None:
            on_candidate(asset)
        analysis = _load_original(registry, asset)
        # Once the full frame or local features explain the leak, a further candidate matters
        # only if it shows the same picture (registered twice, or its mirror image), and those
        # align the same cheap ways: the slow template search, a second or more on a wrong
        # candidate, is kept for leaks nothing else explains.
        found_cheaply = any("template" not in located.registration.method for located in verified)
        result = registration.register(
            analysis.reference_luma,
            leak_luma,
            original_features=_cached_features(registry, asset),
            leak_features=leak_features,
            templates=not found_cheaply,
        )
        located = _Located(analysis, result, how)
        if result.verified:
            verified.append(located)
        elif best_failure is None or result.ncc > best_failure.registration.ncc:
            best_failure = located

    for match in matches:
        asset = by_id[match.asset_id]
        # Pages of one document often differ only in a few words (same letterhead, same table),
        # so the alignment found for one page fits its same-size sister pages: they are scored
        # with it rather than registered again, and the true page shows in the scores.
        sister = next(
            (
                located
                for located in verified
                if asset.kind == "pdf-page"
                and located.analysis.asset.parent_id == asset.parent_id
                and (located.analysis.asset.height, located.analysis.asset.width)
                == (asset.height, asset.width)
            ),
            None,
        )
        if sister is not None:
            analysis = _load_original(registry, asset)
            verified.append(_Located(analysis, sister.registration, "perceptual hash, sister page"))
        elif len(verified) < MAX_VERIFIED:
            attempt(asset, "perceptual hash")
    if verified:
        return verified, best_failure
    ranked = []
    tried = {m.asset_id for m in matches}
    for asset in by_id.values():
        features = _cached_features(registry, asset) if asset.id not in tried else None
        if features is None:
            continue
        _, inliers = registration.match_features(features, leak_features.get())
        if inliers >= registration.MIN_MATCHES:
            ranked.append((inliers, asset))
    ranked.sort(key=lambda item: -item[0])
    for _, asset in ranked[:FALLBACK_ASSETS]:
        attempt(asset, "local features")
        if len(verified) >= MAX_VERIFIED:
            break
    return verified, best_failure


@dataclass
class _Scored:
    located: _Located
    scores: object  # leaktrace.engine.watermark.detect.Attribution
    projection: object  # leaktrace.engine.match.residual.Projection
    recipients: dict[str, Recipient]
    copies: list[Copy]
    extra_evidence: dict = field(default_factory=dict)


def _score_page_picture(
    registry, located, leak_luma, y, ids, packed, password, evidence, *, decoys, bound, family
):
    """A picture of a PDF page: its page layer and, where the page has words, their shifts,
    each also deciding alone under one correction (see :func:`leaktrace.media.pdf.identify._decide`).
    """
    from leaktrace.media.pdf.identify import _decide, _Page, picture_word_shifts

    page_layer = _Page(located.analysis.asset.page, located, y, list(ids), packed)
    words, line = picture_word_shifts(
        registry, located, leak_luma, located.analysis.asset.page, ids, password
    )
    if line is not None:
        evidence["word_shifts"] = [line]
    blocks = [page_layer] + ([words] if words is not None else [])
    decision = _decide(blocks, decoys, bound, family)
    if len(blocks) > 1:
        evidence.update(
            layer_scores=decision.by_layer,
            decided_by=decision.statistic,
            statistics_compared=decision.tests,
        )
    return decision.scores


def identify_file(
    registry,
    path: Path,
    *,
    bound: float = DEFAULT_BOUND,
    decoys: int = DEFAULT_DECOYS,
    password: str | None = None,
) -> Identification:
    """Identify one leaked image or PDF file.

    Parameters
    ----------
    registry : SqlRegistry
        The registry holding the assets, their originals and the distribution record.
    path : Path
        The leaked file.
    bound : float
        Largest acceptable family-wise probability that the accusation is a coincidence.
    decoys : int
        Number of decoy codes used to measure the null distribution for this query.
    password : str, optional
        Password of an encrypted leaked PDF.
    """
    from leaktrace.engine.match.residual import extract
    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.media.image import files as images
    from leaktrace.media.pdf import looks_like_pdf

    if not 0 < bound < 1:
        raise ValueError("bound must be between 0 and 1")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    sha256 = hashlib.sha256(data).hexdigest()
    if looks_like_pdf(data):
        from leaktrace.media.pdf.identify import identify_pdf

        return _audit(
            registry,
            identify_pdf(
                registry, path, data, sha256, bound=bound, decoys=decoys, password=password
            ),
        )
    leak_rgb = images.load_display_rgb(data, name=str(path))
    result = Identification("unknown", str(path), sha256, bound)
    result.evidence = {"leak": {"width": leak_rgb.shape[1], "height": leak_rgb.shape[0]}}
    if min(leak_rgb.shape[:2]) < 32:
        result.reason = "the image is too small to identify (under 32 pixels on a side)"
        return _audit(registry, result)
    leak_luma = luminance(leak_rgb)
    # The codes of 10^5 recipients take a while to read; they load while registration runs.
    with _CodePrefetch(registry) as prefetch:
        verified, failure = _find_assets(
            registry, leak_rgb, leak_luma, result.evidence, on_candidate=prefetch.start
        )
        if not verified:
            if failure is None or failure.registration.ncc < UNRELATED_NCC:
                if failure is not None:
                    result.evidence["closest_candidate"] = {
                        "asset": failure.analysis.asset.id,
                        "registration": failure.registration.to_dict(),
                    }
                result.reason = "the image matches no registered asset"
                return _audit(registry, result)
            asset = failure.analysis.asset
            result.verdict, result.asset = "inconclusive", asset
            result.evidence["registration"] = failure.registration.to_dict()
            result.reason = f"asset {asset.id} is a candidate, but the alignment is unverified: {failure.registration.reason}"
            return _audit(registry, result)

        # Every (asset, recipient) pair scored is one hypothesis: correct for all of them.
        holders = {
            located.analysis.asset.id: prefetch.get(located.analysis.asset.id)
            for located in verified
        }
        family = sum(len(ids) for ids, _ in holders.values())
        scored: list[_Scored] = []
        for located in verified:
            analysis = located.analysis
            ids, cached = holders[analysis.asset.id]
            if not ids:
                continue
            projection = extract(
                analysis.keying,
                analysis.reference_luma,
                analysis.detection_mask,
                leak_luma,
                located.registration.homography,
                local_warp=located.registration.local_warp,
            )
            packed = _packed_codes(analysis.keying, ids, cached)
            extra: dict = {}
            if analysis.asset.kind == "pdf-page":
                scores = _score_page_picture(
                    registry, located, leak_luma, projection.y, ids, packed, password, extra,
                    decoys=decoys, bound=bound, family=family,
                )  # fmt: skip
            else:
                scores = attribute(
                    projection.y,
                    packed,
                    ids,
                    analysis.keying.decoy_codes(decoys),
                    bound=bound,
                    family_size=family,
                )
            _confirm_codes(analysis.keying, ids, cached, scores.significant)
            scored.append(
                _Scored(
                    located,
                    scores,
                    projection,
                    *_named(registry, analysis, scores, sha256),
                    extra_evidence=extra,
                )
            )
        if not scored:
            asset = verified[0].analysis.asset
            result.verdict, result.asset = "inconclusive", asset
            result.evidence["registration"] = verified[0].registration.to_dict()
            result.reason = (
                f"asset {asset.id} was registered but no copy of it was ever distributed"
            )
            return _audit(registry, result)
        best = min(scored, key=lambda item: item.scores.p_family[0])
        _report(result, best, bound, family, [item.located.analysis.asset.id for item in scored])
        result.evidence.update(best.extra_evidence)
        if result.asset.kind == "pdf-page":
            result.evidence["pdf_page"] = {
                "document": result.asset.parent_id,
                "page": result.asset.page + 1,
            }
        return _audit(registry, result)


def _confirm_codes(keying, ids: list[str], cached: list[bytes | None], accused: list[str]) -> None:
    """Refuse to accuse on a cached code that the key does not reproduce.

    Codes are cached in the registry for speed; anyone able to write to the database could copy
    the guilty recipient's code onto an innocent one. Re-deriving the few accused codes from the
    key costs microseconds and makes such an edit an error instead of an accusation.
    """
    by_id = dict(zip(ids, cached, strict=True))
    for rid in accused:
        stored = by_id.get(rid)
        if stored is not None and stored != np.packbits(keying.recipient_code(rid) > 0).tobytes():
            raise RegistryError(
                f"the registry's record of the code given to {rid} does not match the key: the "
                "registry was altered, so no accusation is made; run leaktrace audit"
            )


def _packed_codes(keying, ids: list[str], cached: list[bytes | None]) -> np.ndarray:
    """The recipients' codes packed 8 per byte: cached at mark time, derived where missing
    (copies recorded before the registry cached codes)."""
    n_bytes = keying.layout.code_bits // 8
    if None not in cached:  # the usual case: every code was cached at mark time
        blob = b"".join(cached)
        if len(blob) == n_bytes * len(ids):
            return np.frombuffer(blob, dtype=np.uint8).reshape(len(ids), n_bytes)
    rows = [
        code
        if code is not None and len(code) == n_bytes
        else np.packbits(keying.recipient_code(rid) > 0).tobytes()
        for rid, code in zip(ids, cached, strict=True)
    ]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(ids), n_bytes)


def _named(registry, analysis, scores, leak_sha256: str) -> tuple[dict[str, Recipient], list[Copy]]:
    """Only what the report shows: the recipients listed as candidates or proved, and the copies
    of the proved ones and of the leak's exact bytes (not all 10^5 of an asset's holders)."""
    asset_id = analysis.asset.id
    shown = list(
        dict.fromkeys([*scores.recipient_ids[:MAX_CANDIDATES_REPORTED], *scores.significant])
    )
    recipients = {r.id: r for r in registry.get_recipients(shown)}
    copies = registry.list_copies(asset_id=asset_id, recipient_ids=scores.significant)
    seen = {c.id for c in copies}
    copies += [
        c
        for c in registry.list_copies(asset_id=asset_id, output_sha256=leak_sha256)
        if c.id not in seen
    ]
    return recipients, copies


def candidate_list(scores, recipients: dict[str, Recipient]) -> list[dict]:
    """The best-scoring recipients as reported (at most MAX_CANDIDATES_REPORTED), best first."""
    return [
        {
            "id": rid,
            "name": recipients[rid].name,
            "score": round(float(z), 3),
            "p_value": float(p_family),
            "p_value_single": float(p_single),
        }
        for rid, z, p_family, p_single in zip(
            scores.recipient_ids[:MAX_CANDIDATES_REPORTED],
            scores.z,
            scores.p_family,
            scores.p_single,
            strict=False,
        )
    ]


def _report(
    result: Identification, best: _Scored, bound: float, family: int, assets: list[str]
) -> None:
    scores, recipients = best.scores, best.recipients
    result.asset = best.located.analysis.asset
    result.evidence["asset_found_by"] = best.located.found_by
    result.evidence["registration"] = best.located.registration.to_dict()
    result.candidates = candidate_list(scores, recipients)
    result.evidence.update(
        {
            "assets_scored": assets,
            "hypotheses_tested": family,
            "correction": "Bonferroni over every (asset, recipient) pair scored",
            "null": scores.null.to_dict(),
            "pixels_used": best.projection.pixels_used,
            "scale": round(best.projection.scale, 4),
            "code_bits": best.located.analysis.keying.layout.code_bits,
            "runner_up": result.candidates[1] if len(result.candidates) > 1 else None,
            "distribution": [
                {
                    "recipient": c.recipient_id,
                    "output_sha256": c.output_sha256,
                    "output_name": c.output_name,
                    "at": c.created_at.isoformat() if c.created_at else None,
                }
                for c in best.copies
                if c.recipient_id in scores.significant
            ],
            "exact_copy_of": [
                c.recipient_id for c in best.copies if c.output_sha256 == result.sha256
            ],
        }
    )
    best_p = float(scores.p_family[0])
    if scores.attributed:
        result.verdict = "attributed"
        result.recipient = recipients[scores.best]
        result.p_value = best_p
        result.significant = [c for c in result.candidates if c["id"] in scores.significant]
    else:
        result.verdict = "inconclusive"
        result.reason = (
            f"no recipient's mark is significant: the best, {scores.best}, has a false-accusation "
            f"probability of {best_p:.2g}, above the bound {bound:.0e}"
        )


def _audit(registry, result: Identification) -> Identification:
    registry.append_audit(
        "identify",
        {
            "file_sha256": result.sha256,
            "verdict": result.verdict,
            "asset": result.asset.id if result.asset else None,
            "recipient": result.recipient.id if result.recipient else None,
            "p_value": result.p_value,
        },
    )
    return result
