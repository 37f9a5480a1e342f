"""Which registered raster a picture shows, and where: perceptual hashes first, local features
for crops and screenshots, every candidate registered and verified.

A registered raster is an image asset or any other medium's picture of itself (a PDF page's
render, a video's key frame): each is found, registered and scored the same way.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from leaktrace.media.image.asset import AssetAnalysis, analyse, features_blob_name
from leaktrace.media.image.files import load_image
from leaktrace.registry.models import Asset

__all__ = [
    "FALLBACK_ASSETS",
    "MAX_VERIFIED",
    "Located",
    "cached_features",
    "find_assets",
    "load_original",
]

FALLBACK_ASSETS = 16
MAX_VERIFIED = 3

# Analyses of recently identified assets, newest last: a crawl holds many leaks of the same
# photo, and decoding the original and computing its masks is a large share of each identify.
_ANALYSES: OrderedDict[tuple, AssetAnalysis] = OrderedDict()
_ANALYSES_KEPT = 4
_ANALYSES_LOCK = threading.Lock()  # a Dask worker identifies in several threads


def load_original(registry, asset: Asset) -> AssetAnalysis:
    """The asset's analysis. The original's bytes are read and checked against their SHA-256
    every time (a tampered store is an error, cached or not); the analysis of the same bytes
    under the same key and parameters is reused, read-only."""
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
    analysis = analyse(asset, load_image(data), registry.key)
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


def cached_features(registry, asset: Asset):
    """The asset's local features stored at registration, or None."""
    from leaktrace.engine.match.registration import Features

    blob = registry.store.get_blob(features_blob_name(asset.sha256))
    return Features.from_bytes(blob) if blob else None


@dataclass(frozen=True)
class Located:
    """A registered raster the leak may show, and its alignment (verified or not)."""

    analysis: AssetAnalysis
    registration: object  # leaktrace.engine.match.registration.Registration
    found_by: str

    @property
    def asset(self) -> Asset:
        return self.analysis.asset


def find_assets(
    registry,
    leak_rgb: np.ndarray,
    leak_luma: np.ndarray,
    evidence: dict,
    kinds: Iterable[str],
    *,
    view_kinds: Iterable[str] = (),
    on_candidate: Callable[[Asset], None] | None = None,
) -> tuple[list[Located], Located | None]:
    """Every registered raster of ``kinds`` the leak verifiably shows (usually one; more when the
    same picture was registered twice, e.g. re-exported), and the best unverified attempt.

    Perceptual hashes first; local features for crops and screenshots, whose global hash
    changed. ``view_kinds`` are kinds whose assets are views of one parent (a document's pages):
    once one view aligns, its same-size sister views are scored with that alignment rather than
    registered again. ``on_candidate`` hears of every asset before its registration starts.
    """
    from leaktrace.engine.match import registration
    from leaktrace.engine.match.hashing import nearest_assets, perceptual_hashes

    kinds = frozenset(kinds)
    view_kinds = frozenset(view_kinds)
    phash, dhash = perceptual_hashes(leak_rgb)
    ids, phashes, dhashes = registry.hash_table()
    nearest = nearest_assets(phash, dhash, ids, phashes, dhashes)
    # Only the few candidates' rows are read: every asset's row would make each
    # identification O(registered assets) whatever the hash table saves.
    by_id = {
        asset.id: asset
        for asset in registry.get_assets([m.asset_id for m in nearest])
        if asset.kind in kinds
    }
    matches = [m for m in nearest if m.asset_id in by_id]
    evidence["hash_matches"] = [
        {
            "asset": m.asset_id,
            "phash_distance": m.phash_distance,
            "dhash_distance": m.dhash_distance,
        }
        for m in matches
    ]
    leak_features = registration.LazyFeatures(leak_luma)
    verified: list[Located] = []
    best_failure: Located | None = None

    def attempt(asset: Asset, how: str, features=None) -> None:
        nonlocal best_failure
        if on_candidate is not None:
            on_candidate(asset)
        analysis = load_original(registry, asset)
        if features is None:
            features = cached_features(registry, asset)
        # Once the full frame or local features explain the leak, a further candidate matters
        # only if it shows the same picture (registered twice, or its mirror image), and those
        # align the same cheap ways: the slow template search, a second or more on a wrong
        # candidate, is kept for leaks nothing else explains.
        found_cheaply = any("template" not in located.registration.method for located in verified)
        result = registration.register(
            analysis.reference_luma,
            leak_luma,
            original_features=features,  # the same arrays as the ranking: its matches reused
            leak_features=leak_features,
            templates=not found_cheaply,
        )
        located = Located(analysis, result, how)
        if result.verified:
            verified.append(located)
        elif best_failure is None or result.ncc > best_failure.registration.ncc:
            best_failure = located

    for match in matches:
        asset = by_id[match.asset_id]
        # Views of one parent often differ only in a few words (same letterhead, same table),
        # so the alignment found for one fits its same-size sister views: they are scored with
        # it rather than registered again, and the true view shows in the scores.
        sister = next(
            (
                located
                for located in verified
                if asset.kind in view_kinds
                and located.asset.kind == asset.kind
                and located.asset.parent_id == asset.parent_id
                and (located.asset.height, located.asset.width) == (asset.height, asset.width)
            ),
            None,
        )
        if sister is not None:
            if on_candidate is not None:
                on_candidate(asset)
            analysis = load_original(registry, asset)
            verified.append(Located(analysis, sister.registration, "perceptual hash, sister page"))
        elif len(verified) < MAX_VERIFIED:
            attempt(asset, "perceptual hash")
    if verified:
        return verified, best_failure
    ranked = []
    tried = {m.asset_id for m in matches}
    # No hash candidate verified (a crop, a screenshot): every asset's features are compared.
    everything = [asset for kind in sorted(kinds) for asset in registry.list_assets(kind)]
    for asset in sorted(everything, key=lambda a: a.id):
        features = cached_features(registry, asset) if asset.id not in tried else None
        if features is None:
            continue
        _, inliers = registration.match_features(features, leak_features.get())
        if inliers >= registration.MIN_MATCHES:
            ranked.append((inliers, asset, features))
    ranked.sort(key=lambda item: -item[0])
    for _, asset, features in ranked[:FALLBACK_ASSETS]:
        attempt(asset, "local features", features)
        if len(verified) >= MAX_VERIFIED:
            break
    return verified, best_failure
