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
MIN_NCC = 0.55
MIN_MATCHES = 12


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
    tried: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "verified": self.verified,
            "method": self.method,
            "ncc": round(self.ncc, 4),
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


def _plausible(homography: np.ndarray | None) -> bool:
    if homography is None or not np.all(np.isfinite(homography)):
        return False
    affine = homography[:2, :2] / homography[2, 2]
    det = float(np.linalg.det(affine))
    if det <= 0:  # a mirror image needs an explicit flip hypothesis, not a lucky fit
        return False
    scale = np.sqrt(det)
    return 0.03 < scale < 30 and float(np.abs(homography[2, :2]).max()) < 0.01


def match_features(original: Features, leak: Features) -> tuple[np.ndarray | None, int]:
    if len(original.points) < MIN_MATCHES or len(leak.points) < MIN_MATCHES:
        return None, 0
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(leak.descriptors, original.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < MIN_MATCHES:
        return None, len(good)
    src = original.points[[m.trainIdx for m in good]]
    dst = leak.points[[m.queryIdx for m in good]]
    homography, inlier_mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, 6.0)
    inliers = int(inlier_mask.sum()) if inlier_mask is not None else 0
    if inliers < MIN_MATCHES or not _plausible(homography):
        return None, inliers
    return homography, inliers


def _fits(inner: np.ndarray, outer: np.ndarray) -> bool:
    return 16 <= inner.shape[0] <= outer.shape[0] and 16 <= inner.shape[1] <= outer.shape[1]


def _template_hypotheses(original: np.ndarray, leak: np.ndarray) -> list[np.ndarray]:
    """Scale-and-translation guesses from normalised template search at low resolution: the
    original placed inside a larger leak (screenshots), or the leak cut out of the original
    (crops). Line art fools local features; whole-image correlation it does not."""
    factor = SEARCH_SIDE / max(original.shape + leak.shape)
    o_small = cv2.resize(original, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    l_small = cv2.resize(leak, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    o_small = cv2.GaussianBlur(o_small, (0, 0), 1.0)
    l_small = cv2.GaussianBlur(l_small, (0, 0), 1.0)
    results: list[tuple[float, np.ndarray]] = []
    for scale in np.geomspace(0.25, 4.0, 25):
        # scale = leak pixels per original pixel
        placed = cv2.resize(o_small, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if _fits(placed, l_small):
            score = cv2.matchTemplate(l_small, placed, cv2.TM_CCOEFF_NORMED)
            _, best, _, (x, y) = cv2.minMaxLoc(score)
            h = np.array([[scale, 0, x / factor], [0, scale, y / factor], [0, 0, 1.0]])
            results.append((best, h))
        cut = cv2.resize(l_small, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
        if _fits(cut, o_small):
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
_ECC_LEVELS = ((0.25, 2.0, 60), (0.5, 2.0, 40), (1.0, 1.5, 15))
# After the middle level an alignment this poorly correlated will not verify: stop early.
_ECC_GIVE_UP = 0.35


def _refine_ecc(
    original: np.ndarray, leak: np.ndarray, homography: np.ndarray
) -> np.ndarray | None:
    """Coarse-to-fine ECC on blurred work-scale images; returns the refined homography."""
    warp = np.linalg.inv(homography)  # ECC wants leak -> original
    warp /= warp[2, 2]
    for level, sigma, iterations in _ECC_LEVELS:
        o_level = cv2.resize(original, None, fx=level, fy=level, interpolation=cv2.INTER_AREA)
        l_level = cv2.resize(leak, None, fx=level, fy=level, interpolation=cv2.INTER_AREA)
        if min(o_level.shape + l_level.shape) < 24:
            continue
        o_level = cv2.GaussianBlur(o_level, (0, 0), sigma)
        l_level = cv2.GaussianBlur(l_level, (0, 0), sigma)
        to_level = _scale_matrix(level)
        level_warp = (to_level @ warp @ np.linalg.inv(to_level)).astype(np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 1e-5)
        try:
            correlation, level_warp = cv2.findTransformECC(
                l_level, o_level, level_warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 1
            )
        except cv2.error:
            if level == 1.0:
                return None
            continue
        warp = np.linalg.inv(to_level) @ level_warp.astype(np.float64) @ to_level
        if level == 0.5 and correlation < _ECC_GIVE_UP:
            return None
    refined = np.linalg.inv(warp)
    refined /= refined[2, 2]
    return refined if _plausible(refined) else None


def _verify(original: np.ndarray, leak: np.ndarray, homography: np.ndarray) -> tuple[float, float]:
    """NCC of the aligned, blurred images over their overlap, and the overlap's share of the leak."""
    height, width = leak.shape
    warped = cv2.warpPerspective(
        cv2.GaussianBlur(original, (0, 0), 1.5), homography, (width, height), flags=cv2.INTER_LINEAR
    )
    valid = cv2.warpPerspective(
        np.ones_like(original, dtype=np.uint8), homography, (width, height), flags=cv2.INTER_NEAREST
    )
    valid = cv2.erode(valid, np.ones((5, 5), np.uint8)).astype(bool)
    coverage = float(valid.mean())
    if valid.sum() < 400:
        return 0.0, coverage
    a = warped[valid].astype(np.float64)
    b = cv2.GaussianBlur(leak, (0, 0), 1.5)[valid].astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return (float((a * b).sum() / denominator) if denominator > 0 else 0.0), coverage


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
    best: tuple[float, float, np.ndarray, str, int] | None = None

    def consider(method: str, h_full: np.ndarray | None, inliers: int = 0) -> bool:
        nonlocal best
        if h_full is None:
            tried.append({"method": method, "ncc": None})
            return False
        refined = _refine_ecc(o_work, l_work, to_work_h(h_full))
        if refined is None:
            tried.append({"method": method, "ncc": None, "note": "ECC did not converge"})
            return False
        ncc, coverage = _verify(o_work, l_work, refined)
        tried.append({"method": method, "ncc": round(ncc, 4), "coverage": round(coverage, 4)})
        if best is None or ncc > best[0]:
            best = (ncc, coverage, to_full(refined), method, inliers)
        return ncc >= 0.85 and coverage > 0.0

    o_h, o_w = original.shape
    l_h, l_w = leak.shape
    if abs((o_w / o_h) / (l_w / l_h) - 1) < 0.04:
        full_frame = np.array([[l_w / o_w, 0, 0], [0, l_h / o_h, 0], [0, 0, 1.0]])
        if consider("full-frame", full_frame):
            return _finish(best, tried, min_ncc)
    features = original_features if original_features is not None else compute_features(original)
    lazy = leak_features if leak_features is not None else LazyFeatures(leak)
    homography, inliers = match_features(features, lazy.get())
    if consider("sift-magsac", homography, inliers):
        return _finish(best, tried, min_ncc)
    for index, guess in enumerate(_template_hypotheses(o_work, l_work)):
        if consider(f"template-search-{index + 1}", to_full(guess)):
            break
    return _finish(best, tried, min_ncc)


def _finish(best, tried: list[dict], min_ncc: float) -> Registration:
    if best is None:
        return Registration(
            None, False, "none", 0.0, 0, 0.0, "no alignment hypothesis converged", tried
        )
    ncc, coverage, homography, method, inliers = best
    if ncc < min_ncc:
        reason = f"best alignment ({method}) correlates only {ncc:.2f} with the original (needs {min_ncc})"
        return Registration(homography, False, method, ncc, inliers, coverage, reason, tried)
    return Registration(homography, True, method, ncc, inliers, coverage, None, tried)
