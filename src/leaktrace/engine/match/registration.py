"""Aligning a leak onto its original with a verified homography.

Hypotheses come from several strategies (full-frame scaling, SIFT + MAGSAC, multi-scale template
search for crops and screenshots); each is refined to sub-pixel accuracy with ECC on blurred
luminance, then verified by normalised cross-correlation of the aligned images. The best verified
hypothesis wins. An alignment that cannot be verified is reported as such, never guessed: the
caller then answers "inconclusive".

A mirrored leak (a selfie camera, an editor's "flip" button) is searched for by running the same
hypotheses on the leak flipped left to right; a verified result is then a homography with a
negative determinant. A verified alignment is finally refined tile by tile
(:mod:`leaktrace.engine.match.refine`) when that makes the aligned images correlate better.

All homographies map *original* pixel coordinates to *leak* pixel coordinates, so the original is
warped into the leak's frame and the leak's own noise is never resampled.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from leaktrace.engine.match import templates as template_search
from leaktrace.engine.match.geometry import resize_matrix, scaled
from leaktrace.engine.match.refine import LocalWarp, estimate_local_warp, warp_original
from leaktrace.engine.match.verify import (
    MIN_EDGE_NCC,
    MIN_NCC,
    MIN_OVERLAP_PIXELS,
    MIN_TRIMMED_EDGE_NCC,
    Check,
    band_pass,
    correlate_aligned,
    verify_alignment,
)

WORK_SIDE = 1024
# An unflipped alignment whose edges agree this well is not beaten by a mirror image.
MIRROR_SKIP_EDGE_NCC = 0.9
MIN_MATCHES = 8  # enough for a hypothesis; verification decides


@dataclass(frozen=True)
class Features:
    """SIFT keypoints of an image at work scale."""

    points: np.ndarray  # (N, 2) float32, full-resolution pixel coordinates
    descriptors: np.ndarray  # (N, 128) float32

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, points=self.points, descriptors=self.descriptors)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Features:
        with np.load(io.BytesIO(data)) as arrays:
            return cls(arrays["points"], arrays["descriptors"])

    def mirrored(self, axis: float) -> Features:
        """The features the image flipped left to right (``x -> axis - x``) would have.

        SIFT describes a keypoint in a frame turned to its dominant gradient; in that frame a
        mirror flips the descriptor's 4 x 4 grid top to bottom and negates every gradient angle,
        so the descriptors are permuted instead of recomputed.
        """
        points = self.points.copy()
        points[:, 0] = axis - points[:, 0]
        # Always the same permuted array for one object, so that its matches are reused.
        permuted = self.__dict__.get("_mirrored_descriptors")
        if permuted is None:
            permuted = self.descriptors[:, _MIRROR_DESCRIPTOR]
            object.__setattr__(self, "_mirrored_descriptors", permuted)
        return Features(points, permuted)


def _mirror_permutation() -> np.ndarray:
    index = np.arange(128).reshape(4, 4, 8)  # (grid row, grid column, orientation bin)
    return index[::-1][:, :, (8 - np.arange(8)) % 8].ravel()


_MIRROR_DESCRIPTOR = _mirror_permutation()


@dataclass(frozen=True)
class Registration:
    homography: np.ndarray | None  # 3x3, original -> leak, full resolution
    verified: bool
    method: str
    ncc: float
    inliers: int
    coverage: float  # fraction of the leak's area that shows the original
    reason: str | None = None
    edge_ncc: float = 0.0
    tried: list[dict] = field(default_factory=list)
    # Correction of the homography measured tile by tile; None where it did not help.
    local_warp: LocalWarp | None = None

    @property
    def mirrored(self) -> bool:
        return self.homography is not None and bool(np.linalg.det(self.homography[:2, :2]) < 0)

    def to_dict(self) -> dict:
        return {
            "verified": self.verified,
            "method": self.method,
            "mirrored": self.mirrored,
            "local_warp": None if self.local_warp is None else self.local_warp.to_dict(),
            "ncc": round(self.ncc, 4),
            "edge_ncc": round(self.edge_ncc, 4),
            "inliers": self.inliers,
            "coverage": round(self.coverage, 4),
            "homography": None if self.homography is None else self.homography.tolist(),
            "reason": self.reason,
            "tried": self.tried,
        }


def _scale_matrix(factor: float) -> np.ndarray:
    return resize_matrix(factor)


def _resize_to(gray: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    factor = min(1.0, max_side / max(gray.shape))
    if factor == 1.0:
        return gray.astype(np.float32), 1.0
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray.astype(np.float32), size, interpolation=cv2.INTER_AREA), factor


def compute_features(gray: np.ndarray, *, max_features: int = 4000) -> Features:
    """SIFT features of a full-resolution gray image, computed at work scale."""
    work, factor = _resize_to(gray, WORK_SIDE)
    sift = cv2.SIFT_create(nfeatures=max_features)
    keypoints, descriptors = sift.detectAndCompute(np.clip(work, 0, 255).astype(np.uint8), None)
    if descriptors is None or not keypoints:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32))
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32) / factor
    return Features(points, descriptors.astype(np.float32))


class LazyFeatures:
    """Features of an image computed on first use, then shared by every candidate asset."""

    def __init__(self, gray: np.ndarray) -> None:
        self._gray = gray
        self._features: Features | None = None

    def get(self) -> Features:
        if self._features is None:
            self._features = compute_features(self._gray)
        return self._features


MAX_ANISOTROPY = 4.0


def _plausible(homography: np.ndarray | None) -> bool:
    """A leak is the original scaled, rotated, cropped or seen at an angle; never mirrored,
    folded or squashed many times more in one direction than the other."""
    if homography is None or not np.all(np.isfinite(homography)):
        return False
    h = homography / homography[2, 2]
    if float(np.abs(h[2, :2]).max()) >= 0.01:
        return False
    singular = np.linalg.svd(h[:2, :2], compute_uv=False)
    if np.linalg.det(h[:2, :2]) <= 0 or singular[0] > MAX_ANISOTROPY * singular[1]:
        return False
    return 0.03 < float(np.sqrt(singular[0] * singular[1])) < 30


def _good_matches(original: Features, leak: Features) -> tuple[np.ndarray, np.ndarray]:
    """Point pairs (original, leak) passing Lowe's ratio test."""
    if len(original.points) < 2 or len(leak.points) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    train, query = _ratio_matches(original.descriptors, leak.descriptors)
    return original.points[train], leak.points[query]


# The brute-force matching is the costliest step of an identify (a third of it): a leak that
# no hash finds is matched against every asset's features to rank them, and then again, the
# same descriptors, when the best are registered. The last few matchings are kept; an entry
# holds its arrays, so their ids cannot be reused while it is kept.
_MATCHES: OrderedDict[tuple[int, int], tuple] = OrderedDict()
_MATCHES_KEPT = 4
_MATCHES_LOCK = threading.Lock()  # a Dask worker identifies in several threads


def _ratio_matches(train: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, query) of the query descriptors' nearest train descriptors that pass
    Lowe's ratio test; the same arrays give the same answer from the cache."""
    key = (id(train), id(query))
    with _MATCHES_LOCK:
        entry = _MATCHES.get(key)
        if entry is not None and entry[0] is train and entry[1] is query:
            _MATCHES.move_to_end(key)
            return entry[2]
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(query, train, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    found = (
        np.array([m.trainIdx for m in good], dtype=np.intp),
        np.array([m.queryIdx for m in good], dtype=np.intp),
    )
    with _MATCHES_LOCK:
        _MATCHES[key] = (train, query, found)
        while len(_MATCHES) > _MATCHES_KEPT:
            _MATCHES.popitem(last=False)
    return found


def feature_hypotheses(original: Features, leak: Features) -> list[tuple[str, np.ndarray, int]]:
    """Homography (MAGSAC) and similarity (RANSAC) fits to matched features.

    A small or smooth leak may yield a dozen matches: too few to pin eight homography parameters
    reliably, plenty for the four of a similarity (scale, rotation, shift), which is what most
    reposts, crops and screenshots are.
    """
    src, dst = _good_matches(original, leak)
    found = []
    if len(src) >= MIN_MATCHES:
        homography, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, 6.0)
        inliers = int(mask.sum()) if mask is not None else 0
        if inliers >= MIN_MATCHES and _plausible(homography):
            found.append(("sift-magsac", homography, inliers))
    if len(src) >= 4:
        affine, mask = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0
        )
        inliers = int(mask.sum()) if mask is not None else 0
        if affine is not None and inliers >= 4:
            similarity = np.vstack([affine, [0.0, 0.0, 1.0]])
            if _plausible(similarity):
                found.append(("sift-similarity", similarity, inliers))
    return found


# Mirrors x about 0: features of the flipped leak in a frame where no width is needed.
_FLIP_X = np.diag([-1.0, 1.0, 1.0])


def match_features(original: Features, leak: Features) -> tuple[np.ndarray | None, int]:
    """The best feature hypothesis and its inlier count (used to rank candidate assets),
    the leak's mirror image included (then the homography has a negative determinant)."""
    found = [(h, n) for _, h, n in feature_hypotheses(original, leak)]
    found += [(_FLIP_X @ h, n) for _, h, n in feature_hypotheses(original, leak.mirrored(0.0))]
    if not found:
        return None, 0
    return max(found, key=lambda item: item[1])


# (pyramid level, blur sigma, iterations): most of the convergence happens cheaply at low
# resolution; the finest level only polishes to sub-pixel accuracy.
# Coarse levels fit an affine map (6 parameters, stable on smooth pictures); only the finest level
# frees the two perspective parameters.
_ECC_LEVELS = (
    (0.25, 2.0, 60, cv2.MOTION_AFFINE),
    (0.5, 2.0, 40, cv2.MOTION_AFFINE),
    (1.0, 1.5, 20, cv2.MOTION_HOMOGRAPHY),
)
# After the middle level an alignment this poorly correlated will not verify: stop early.
_ECC_GIVE_UP = 0.35
_ECC_MIN_SIDE = 120


def _refine_ecc(
    original: np.ndarray, leak: np.ndarray, homography: np.ndarray
) -> np.ndarray | None:
    """Coarse-to-fine ECC on blurred work-scale images; returns the refined homography."""
    warp = np.linalg.inv(homography)  # ECC wants leak -> original
    warp /= warp[2, 2]
    for level, sigma, iterations, motion in _ECC_LEVELS:
        # A homography has eight parameters: on a tiny, smooth level ECC drifts instead of
        # converging, so coarse levels run only where there is enough picture.
        if level < 1.0 and min(leak.shape) * level < _ECC_MIN_SIDE:
            continue
        o_level, l_level = scaled(original, level), scaled(leak, level)
        if o_level is None or l_level is None or min(o_level.shape + l_level.shape) < 8:
            continue
        o_level = cv2.GaussianBlur(o_level, (0, 0), sigma)
        l_level = cv2.GaussianBlur(l_level, (0, 0), sigma)
        to_level = _scale_matrix(level)
        level_warp = to_level @ warp @ np.linalg.inv(to_level)
        if motion == cv2.MOTION_AFFINE:
            if np.abs(level_warp[2, :2]).max() > 1e-6:  # already perspective: keep it as it is
                motion = cv2.MOTION_HOMOGRAPHY
            else:
                level_warp = level_warp[:2]
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 1e-5)
        try:
            correlation, level_warp = cv2.findTransformECC(
                l_level, o_level, level_warp.astype(np.float32), motion, criteria, None, 1
            )
        except cv2.error:
            if level == 1.0:
                return None
            continue
        if level_warp.shape[0] == 2:
            level_warp = np.vstack([level_warp, [0.0, 0.0, 1.0]])
        warp = np.linalg.inv(to_level) @ level_warp.astype(np.float64) @ to_level
        if level == 0.5 and correlation < _ECC_GIVE_UP:
            return None
    refined = np.linalg.inv(warp)
    refined /= refined[2, 2]
    return refined if _plausible(refined) else None


def register(
    original: np.ndarray,
    leak: np.ndarray,
    *,
    original_features: Features | None = None,
    leak_features: LazyFeatures | None = None,
    min_ncc: float = MIN_NCC,
    templates: bool = True,
) -> Registration:
    """Find and verify the homography mapping ``original`` onto ``leak`` (both gray, full size).

    Parameters
    ----------
    original, leak : 2-D arrays
        Luminance on the 0..255 scale, upright.
    original_features : Features, optional
        Cached :func:`compute_features` of the original.
    leak_features : LazyFeatures, optional
        The leak's features, shared between calls for several candidate originals.
    min_ncc : float
        Smallest normalised cross-correlation of the aligned, blurred images that counts as a
        verified alignment.
    templates : bool
        Also try the slow template search when the full frame and the local features fail
        (in both orientations). Leave it on unless another alignment already explains the leak.
    """
    cache: dict[str, Features] = {}

    def features() -> Features:
        if "original" not in cache:
            cache["original"] = (
                original_features if original_features is not None else compute_features(original)
            )
        return cache["original"]

    lazy = leak_features if leak_features is not None else LazyFeatures(leak)
    best, tried, clear = _search(original, leak, features, lazy.get, templates=templates)
    # Perhaps the leak is a mirror image: the flipped leak goes through the same hypotheses, so
    # the plausibility rules stay as strict as ever. A near-symmetric picture can align fairly
    # well unflipped (a fundus photo rotated), so only a near-perfect alignment skips the check.
    if best is None or best[0].edge_ncc < MIRROR_SKIP_EDGE_NCC:
        # Once an unflipped alignment verifies, a mirrored one must be found by more feature
        # matches to beat it (not at all by features after a clear one that needed none), and
        # the slow template search is left out.
        verified = best is not None and best[0].passes
        min_inliers: int | None = 0
        if verified:
            min_inliers = best[3] + 1 if best[3] > 0 or not clear else None
        width = leak.shape[1]
        flipped = np.ascontiguousarray(leak[:, ::-1])
        m_best, m_tried, _ = _search(
            original,
            flipped,
            features,
            lambda: lazy.get().mirrored(width - 1.0),
            templates=templates and not verified,
            min_inliers=min_inliers,
        )
        tried += [{**entry, "method": f"mirrored {entry['method']}"} for entry in m_tried]
        if m_best is not None and (best is None or m_best[0].rank > best[0].rank):
            check, homography, method, inliers = m_best
            unflip = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
            best = (check, unflip @ homography, f"mirrored {method}", inliers)
    result = _finish(best, tried, min_ncc)
    if result.verified:
        result = _with_local_warp(original, leak, result)
    return result


def register_from(
    original: np.ndarray,
    leak: np.ndarray,
    homography: np.ndarray,
    method: str,
    *,
    min_ncc: float = MIN_NCC,
) -> Registration:
    """Refine and verify one given hypothesis named ``method`` (a neighbouring video frame's
    alignment), without :func:`register`'s feature and template searches; unverified when it
    does not hold."""
    best, tried, _ = _search(original, leak, None, None, guess=(method, homography))
    result = _finish(best, tried, min_ncc)
    return _with_local_warp(original, leak, result) if result.verified else result


def _search(
    original: np.ndarray,
    leak: np.ndarray,
    original_features: Callable[[], Features] | None,
    leak_features: Callable[[], Features] | None,
    *,
    templates: bool = True,
    min_inliers: int | None = 0,
    guess: tuple[str, np.ndarray] | None = None,
) -> tuple[tuple[Check, np.ndarray, str, int] | None, list[dict], bool]:
    """Every hypothesis for one orientation of the leak: the best (check, homography, method,
    inliers), what was tried, and whether the best is clearly right (no need to look further)."""
    o_work, o_factor = _resize_to(original, WORK_SIDE)
    l_work, l_factor = _resize_to(leak, WORK_SIDE)
    to_work = _scale_matrix(l_factor)  # leak full -> leak work
    from_work = np.linalg.inv(_scale_matrix(o_factor))  # original work -> original full

    def to_full(h_work: np.ndarray) -> np.ndarray:
        h = np.linalg.inv(to_work) @ h_work @ np.linalg.inv(from_work)
        return h / h[2, 2]

    def to_work_h(h_full: np.ndarray) -> np.ndarray:
        h = to_work @ h_full @ from_work
        return h / h[2, 2]

    tried: list[dict] = []
    best: tuple[Check, np.ndarray, str, int] | None = None

    def consider(method: str, h_full: np.ndarray | None, inliers: int = 0) -> bool:
        """Refine, verify and remember a hypothesis; True when it is clearly right."""
        nonlocal best
        if h_full is None:
            tried.append({"method": method, "ncc": None})
            return False
        start = to_work_h(h_full)
        candidates = [h for h in (_refine_ecc(o_work, l_work, start), start) if _plausible(h)]
        if not candidates:
            tried.append({"method": method, "ncc": None, "note": "implausible geometry"})
            return False
        checks = [(verify_alignment(o_work, l_work, h), h) for h in candidates]
        check, h_work = max(checks, key=lambda item: item[0].rank)
        tried.append(
            {
                "method": method,
                "ncc": round(check.ncc, 4),
                "edge_ncc": round(check.edge_ncc, 4),
                "trimmed_ncc": round(check.trimmed_ncc, 4),
                "trimmed_edge_ncc": round(check.trimmed_edge_ncc, 4),
                "coverage": round(check.coverage, 4),
            }
        )
        if best is None or check.rank > best[0].rank:
            best = (check, to_full(h_work), method, inliers)
        return check.clear

    if guess is not None:
        clear = consider(*guess)
        return best, tried, clear
    o_h, o_w = original.shape
    l_h, l_w = leak.shape
    aspect_change = (o_w / o_h) / (l_w / l_h)
    full_frame = np.array([[l_w / o_w, 0, 0], [0, l_h / o_h, 0], [0, 0, 1.0]])
    if abs(aspect_change - 1) < 0.04 and consider("full-frame", full_frame):
        return best, tried, True
    hypotheses = (
        [] if min_inliers is None else feature_hypotheses(original_features(), leak_features())
    )
    for method, homography, inliers in hypotheses:
        if inliers >= (min_inliers or 0) and consider(method, homography, inliers):
            return best, tried, True
    # A picture resized into a box of another shape: features lose line art stretched this
    # unevenly, and one ECC run tells whether the whole frame is the original. Tried after the
    # features, which align a crop of another shape better than ECC from the full frame does.
    if (
        abs(aspect_change - 1) >= 0.04
        and 1 / template_search.MAX_STRETCH <= aspect_change <= template_search.MAX_STRETCH
        and consider("full-frame stretched", full_frame)
    ):
        return best, tried, True
    if not templates:
        return best, tried, False
    for index, guess in enumerate(template_search.hypotheses(o_work, l_work)):
        if consider(f"template-search-{index + 1}", to_full(guess)):
            return best, tried, True
    # A crop resized into a box of another shape: the even template search on the leak
    # squeezed back, ECC's affine levels correcting what remains of the stretch.
    squeezed = template_search.squeezed(l_work, aspect_change)
    if squeezed is not None:
        picture, back, label = squeezed
        for guess in template_search.hypotheses(o_work, picture)[:1]:
            if consider(f"stretched template-search ({label})", to_full(back @ guess)):
                return best, tried, True
    return best, tried, False


# The tile refinement must raise the edge correlation by at least this much to be kept: less is
# within what resampling alone changes.
MIN_WARP_GAIN = 0.003
# Edges that already agree this well leave a local warp nothing to correct.
NO_WARP_EDGE_NCC = 0.98


def _with_local_warp(original: np.ndarray, leak: np.ndarray, result: Registration) -> Registration:
    """``result`` with the tile-by-tile correction of its homography, if that aligns better."""
    if result.edge_ncc >= NO_WARP_EDGE_NCC:
        return result
    warp = estimate_local_warp(original, leak, result.homography)
    if warp is None:
        return result
    o_work, o_factor = _resize_to(original, WORK_SIDE)
    l_work, l_factor = _resize_to(leak, WORK_SIDE)
    h_work = _scale_matrix(l_factor) @ result.homography @ np.linalg.inv(_scale_matrix(o_factor))
    scale = (l_work.shape[1] / leak.shape[1], l_work.shape[0] / leak.shape[0])
    before = _verify_mapped(o_work, l_work, h_work, None, scale)
    after = _verify_mapped(o_work, l_work, h_work, warp, scale)
    if (
        after.trimmed_edge_ncc < before.trimmed_edge_ncc + MIN_WARP_GAIN
        or after.trimmed_ncc < before.trimmed_ncc - 1e-3
    ):
        return result
    gain = {
        "edge_ncc": round(before.trimmed_edge_ncc, 4),
        "edge_ncc_warped": round(after.trimmed_edge_ncc, 4),
    }
    return replace(result, local_warp=replace(warp, check=gain))


def _verify_mapped(
    original: np.ndarray,
    leak: np.ndarray,
    homography: np.ndarray,
    local_warp: LocalWarp | None,
    leak_scale: tuple[float, float],
) -> Check:
    """:func:`verify_alignment` through an optional local warp (sampled by remapping, with or without it,
    so that the two can be compared fairly)."""
    blurred, valid = warp_original(
        cv2.GaussianBlur(original, (0, 0), 1.5),
        homography,
        leak.shape,
        local_warp,
        leak_scale=leak_scale,
    )
    edges, _ = warp_original(
        band_pass(original), homography, leak.shape, local_warp, leak_scale=leak_scale
    )
    valid = cv2.erode(valid.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    if valid.sum() < MIN_OVERLAP_PIXELS:
        return Check(0.0, 0.0, float(valid.mean()))
    return correlate_aligned(blurred, edges, leak, valid)


def _finish(best, tried: list[dict], min_ncc: float) -> Registration:
    if best is None:
        return Registration(
            None,
            False,
            "none",
            0.0,
            0,
            0.0,
            reason="no alignment hypothesis converged",
            tried=tried,
        )
    check, homography, method, inliers = best
    reason = None
    if not check.verifies(min_ncc):
        reason = (
            f"best alignment ({method}) correlates {check.ncc:.2f} with the original and "
            f"{check.edge_ncc:.2f} in its edges (needs {min_ncc} and {MIN_EDGE_NCC}), and "
            f"{check.trimmed_ncc:.2f} and {check.trimmed_edge_ncc:.2f} without the pixels it "
            f"does not explain (needs {min_ncc} and {MIN_TRIMMED_EDGE_NCC})"
        )
    return Registration(
        homography=homography,
        verified=reason is None,
        method=method,
        ncc=check.ncc,
        inliers=inliers,
        coverage=check.coverage,
        reason=reason,
        tried=tried,
        edge_ncc=check.edge_ncc,
    )
