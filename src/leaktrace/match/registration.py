"""Aligning a leak onto its original with a verified homography.

Hypotheses come from several strategies (full-frame scaling, SIFT + MAGSAC, multi-scale template
search for crops and screenshots); each is refined to sub-pixel accuracy with ECC on blurred
luminance, then verified by normalised cross-correlation of the aligned images. The best verified
hypothesis wins. An alignment that cannot be verified is reported as such, never guessed: the
caller then answers "inconclusive".

All homographies map *original* pixel coordinates to *leak* pixel coordinates, so the original is
warped into the leak's frame and the leak's own noise is never resampled.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np

from leaktrace.match.geometry import resize_matrix

WORK_SIDE = 1024
SEARCH_SIDE = 320
MIN_NCC = 0.5
MIN_EDGE_NCC = 0.25
MIN_MATCHES = 8  # enough for a hypothesis; verification decides
MIN_OVERLAP_PIXELS = 4096


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

    def to_dict(self) -> dict:
        return {
            "verified": self.verified,
            "method": self.method,
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
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(leak.descriptors, original.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    return original.points[[m.trainIdx for m in good]], leak.points[[m.queryIdx for m in good]]


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


def match_features(original: Features, leak: Features) -> tuple[np.ndarray | None, int]:
    """The best feature hypothesis and its inlier count (used to rank candidate assets)."""
    found = feature_hypotheses(original, leak)
    if not found:
        return None, 0
    _, homography, inliers = max(found, key=lambda item: item[2])
    return homography, inliers


def _fits(inner: np.ndarray, outer: np.ndarray) -> bool:
    return 16 <= inner.shape[0] <= outer.shape[0] and 16 <= inner.shape[1] <= outer.shape[1]


def _scaled(image: np.ndarray, factor: float) -> np.ndarray | None:
    """``image`` resized by ``factor``, or None when a side would vanish (very thin images)."""
    size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    if min(size) < 1:
        return None
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _template_hypotheses(original: np.ndarray, leak: np.ndarray) -> list[np.ndarray]:
    """Scale-and-translation guesses from normalised template search at low resolution: the
    original placed inside a larger leak (screenshots), or the leak cut out of the original
    (crops). Line art fools local features; whole-image correlation it does not."""
    factor = SEARCH_SIDE / max(original.shape + leak.shape)
    o_small, l_small = _scaled(original, factor), _scaled(leak, factor)
    if o_small is None or l_small is None:
        return []
    o_small = cv2.GaussianBlur(o_small, (0, 0), 1.0)
    l_small = cv2.GaussianBlur(l_small, (0, 0), 1.0)
    results: list[tuple[float, np.ndarray]] = []
    for scale in np.geomspace(0.25, 4.0, 49):
        # scale = leak pixels per original pixel
        placed = _scaled(o_small, scale)
        if placed is not None and _fits(placed, l_small):
            score = cv2.matchTemplate(l_small, placed, cv2.TM_CCOEFF_NORMED)
            _, best, _, (x, y) = cv2.minMaxLoc(score)
            h = np.array([[scale, 0, x / factor], [0, scale, y / factor], [0, 0, 1.0]])
            results.append((best, h))
        cut = _scaled(l_small, 1 / scale)
        if cut is not None and _fits(cut, o_small):
            score = cv2.matchTemplate(o_small, cut, cv2.TM_CCOEFF_NORMED)
            _, best, _, (x, y) = cv2.minMaxLoc(score)
            # the leak is the original's window at (x, y), scaled: H = scale * (q - offset)
            shift_x, shift_y = -scale * x / factor, -scale * y / factor
            h = np.array([[scale, 0, shift_x], [0, scale, shift_y], [0, 0, 1.0]])
            results.append((best, h))
    results.sort(key=lambda item: -item[0])
    return [h for score, h in results[:3] if score > 0.3]


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
        o_level, l_level = _scaled(original, level), _scaled(leak, level)
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


def _band_pass(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 1.5) - cv2.GaussianBlur(image, (0, 0), 5.0)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


@dataclass(frozen=True)
class _Check:
    ncc: float  # blurred intensities
    edge_ncc: float  # band-passed: edges must coincide, smooth skies and paper cannot fake it
    coverage: float

    @property
    def passes(self) -> bool:
        return self.edge_ncc >= MIN_EDGE_NCC and self.ncc >= MIN_NCC

    @property
    def rank(self) -> tuple[bool, float]:
        # Edge correlation gates but does not rank: over a smaller overlap with less smooth sky
        # it rises, so it would favour alignments that cover less of the picture.
        return (self.passes, self.ncc)


def _verify(original: np.ndarray, leak: np.ndarray, homography: np.ndarray) -> _Check:
    """Correlations of the aligned images over their overlap, and the overlap's share of the leak."""
    height, width = leak.shape
    size = (width, height)
    valid = cv2.warpPerspective(
        np.ones_like(original, dtype=np.uint8), homography, size, flags=cv2.INTER_NEAREST
    )
    valid = cv2.erode(valid, np.ones((9, 9), np.uint8)).astype(bool)
    coverage = float(valid.mean())
    if valid.sum() < MIN_OVERLAP_PIXELS:
        return _Check(0.0, 0.0, coverage)
    blurred = cv2.warpPerspective(cv2.GaussianBlur(original, (0, 0), 1.5), homography, size)
    edges = cv2.warpPerspective(_band_pass(original), homography, size)
    return _Check(
        _ncc(blurred[valid], cv2.GaussianBlur(leak, (0, 0), 1.5)[valid]),
        _ncc(edges[valid], _band_pass(leak)[valid]),
        coverage,
    )


def register(
    original: np.ndarray,
    leak: np.ndarray,
    *,
    original_features: Features | None = None,
    leak_features: LazyFeatures | None = None,
    min_ncc: float = MIN_NCC,
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
    """
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
    best: tuple[_Check, np.ndarray, str, int] | None = None

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
        checks = [(_verify(o_work, l_work, h), h) for h in candidates]
        check, h_work = max(checks, key=lambda item: item[0].rank)
        tried.append(
            {
                "method": method,
                "ncc": round(check.ncc, 4),
                "edge_ncc": round(check.edge_ncc, 4),
                "coverage": round(check.coverage, 4),
            }
        )
        if best is None or check.rank > best[0].rank:
            best = (check, to_full(h_work), method, inliers)
        return check.edge_ncc >= 0.6 and check.ncc >= 0.85

    o_h, o_w = original.shape
    l_h, l_w = leak.shape
    if abs((o_w / o_h) / (l_w / l_h) - 1) < 0.04:
        full_frame = np.array([[l_w / o_w, 0, 0], [0, l_h / o_h, 0], [0, 0, 1.0]])
        if consider("full-frame", full_frame):
            return _finish(best, tried, min_ncc)
    features = original_features if original_features is not None else compute_features(original)
    lazy = leak_features if leak_features is not None else LazyFeatures(leak)
    for method, homography, inliers in feature_hypotheses(features, lazy.get()):
        if consider(method, homography, inliers):
            return _finish(best, tried, min_ncc)
    for index, guess in enumerate(_template_hypotheses(o_work, l_work)):
        if consider(f"template-search-{index + 1}", to_full(guess)):
            break
    return _finish(best, tried, min_ncc)


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
    if not check.passes or check.ncc < min_ncc:
        reason = (
            f"best alignment ({method}) correlates {check.ncc:.2f} with the original and "
            f"{check.edge_ncc:.2f} in its edges (needs {min_ncc} and {MIN_EDGE_NCC})"
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
