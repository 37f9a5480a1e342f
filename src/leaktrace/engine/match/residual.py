"""From an aligned leak to the watermark projection ``y``.

The original (warped into the leak's frame) is fitted photometrically to the leak, subtracted,
the residual is high-passed and weighted by its local noise level, multiplied by the expected
pattern amplitude (the mask, warped, times the fitted tone curve's slope) and projected once onto
the code groups. Every weighting is a choice of matched filter: it changes the power of the test,
never its validity, because the null of :mod:`leaktrace.engine.watermark.detect` holds for any ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from leaktrace.engine.match.geometry import local_scale, resize_matrix
from leaktrace.engine.match.refine import LocalWarp, original_coordinates
from leaktrace.engine.watermark.pattern import AssetKeying, project

DETECT_SIDE = 1536


@dataclass(frozen=True)
class Projection:
    y: np.ndarray
    pixels_used: int
    scale: float  # leak pixels per original pixel at the leak's centre
    residual_std: float
    tone_curve: list[float]


@dataclass(frozen=True)
class WeightedResidual:
    """The matched-filtered residual at original-frame positions: everything about a leak that
    does not depend on the key, so one alignment can be scored under many keys."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    pixels_used: int
    scale: float
    residual_std: float
    tone_curve: list[float]

    def project(self, keying: AssetKeying) -> Projection:
        if self.values.size == 0:
            y = np.zeros(keying.layout.code_bits)
        else:
            y = project(keying, self.rows, self.cols, self.values)
        return Projection(y, self.pixels_used, self.scale, self.residual_std, self.tone_curve)


def _gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; wide ones are done at reduced resolution, where they cost a fraction."""
    if sigma <= 6.0:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    factor = 3.0 / sigma
    height, width = image.shape
    small = cv2.resize(
        image,
        (max(1, round(width * factor)), max(1, round(height * factor))),
        interpolation=cv2.INTER_AREA,
    )
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _blur_masked(values: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that ignores invalid pixels (normalised convolution)."""
    weight = _gaussian(valid.astype(np.float32), sigma)
    blurred = _gaussian(np.where(valid, values, 0).astype(np.float32), sigma)
    return blurred / np.maximum(weight, 1e-6)


def _bounded_slope(slope: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The cubic's local slope, kept within a factor 4 of the straight line's.

    On a white page nearly every pixel is paper, and the outlier refit keeps little else: the
    cubic is then pinned down near white only, where its slope can come out negative at some
    render scales, which flips the sign of the mark exactly where a page's mark lives (a PDF
    page seen at 95 dpi scored z = -25 for its true recipient). A tone curve is monotone, so
    its slope has the sign of the overall trend, which a straight line over every sampled pixel
    (text and paper) measures reliably.
    """
    x = source.astype(np.float64) / 255.0
    spread = float(np.var(x))
    if spread <= 1e-12:
        return slope
    overall = float(np.cov(x, target.astype(np.float64), bias=True)[0, 1] / spread) / 255.0
    if overall == 0.0 or not np.isfinite(overall):
        return slope
    low, high = sorted((0.25 * overall, 4.0 * overall))
    return np.clip(slope, low, high).astype(np.float32)


def _fit_tone_curve(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Cubic tone curve mapping original luma to leak luma, refitted once without outliers
    (captions, stickers and other overlays)."""
    x = source / 255.0
    design = np.stack([np.ones_like(x), x, x * x, x * x * x], axis=1)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    error = target - design @ coef
    keep = np.abs(error) < 3.0 * (1.4826 * np.median(np.abs(error)) + 1e-3)
    if keep.sum() > 100:
        coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
    return coef


def extract(
    keying: AssetKeying,
    original_luma: np.ndarray,
    mask: np.ndarray,
    leak_luma: np.ndarray,
    homography: np.ndarray,
    *,
    detect_side: int = DETECT_SIDE,
    local_warp: LocalWarp | None = None,
) -> Projection:
    """Project the leak's residual onto ``keying``'s code groups (see :func:`prepare`)."""
    prepared = prepare(
        original_luma,
        mask,
        leak_luma,
        homography,
        keying.layout.layers[0].cols,
        detect_side=detect_side,
        local_warp=local_warp,
    )
    return prepared.project(keying)


def prepare(
    original_luma: np.ndarray,
    mask: np.ndarray,
    leak_luma: np.ndarray,
    homography: np.ndarray,
    coarse_cols: int,
    *,
    detect_side: int = DETECT_SIDE,
    local_warp: LocalWarp | None = None,
) -> WeightedResidual:
    """The leak's matched-filtered residual, ready to be projected under any key.

    Parameters
    ----------
    original_luma, mask : (H, W) float arrays
        The original's upright luminance and its perceptual mask (gray levels).
    leak_luma : (h, w) float array
        The leak's luminance.
    homography : (3, 3) array
        Verified mapping of original pixel coordinates to leak pixel coordinates.
    coarse_cols : int
        Cells across the pattern's coarse layer: sets the scale of shading removal.
    local_warp : LocalWarp, optional
        The registration's tile-by-tile correction of ``homography``
        (:attr:`leaktrace.engine.match.registration.Registration.local_warp`).
    """
    factor = min(1.0, detect_side / max(leak_luma.shape))
    leak = leak_luma.astype(np.float32)
    leak_scale = (1.0, 1.0)
    if factor < 1.0:
        size = (round(leak.shape[1] * factor), round(leak.shape[0] * factor))
        leak = cv2.resize(leak, size, interpolation=cv2.INTER_AREA)
        leak_scale = (size[0] / leak_luma.shape[1], size[1] / leak_luma.shape[0])
        homography = resize_matrix(*leak_scale) @ homography
    height, width = leak.shape
    o_height, o_width = original_luma.shape

    # Original-frame coordinates of every leak pixel centre.
    cols, rows = original_coordinates(
        homography, (height, width), local_warp, leak_scale=leak_scale
    )
    margin = 2.0
    valid = (cols >= margin) & (cols <= o_width - 1 - margin)
    valid &= (rows >= margin) & (rows <= o_height - 1 - margin)
    valid = cv2.erode(valid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)

    # Sample the original at the leak's resolution: shrink it first when the leak is smaller, so
    # the comparison sees what the leak's own downscaling saw instead of aliased detail.
    scale = local_scale(homography, (o_width / 2, o_height / 2))
    source, source_mask = original_luma.astype(np.float32), mask.astype(np.float32)
    map_x, map_y = cols.astype(np.float32), rows.astype(np.float32)
    if scale < 0.9:
        shrink = max(scale, 8.0 / min(o_height, o_width))
        size = (max(8, round(o_width * shrink)), max(8, round(o_height * shrink)))
        source = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
        source_mask = cv2.resize(source_mask, size, interpolation=cv2.INTER_AREA)
        to_small = resize_matrix(size[0] / o_width, size[1] / o_height)
        map_x = (to_small[0, 0] * cols + to_small[0, 2]).astype(np.float32)
        map_y = (to_small[1, 1] * rows + to_small[1, 2]).astype(np.float32)
    warped = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped_mask = cv2.remap(
        source_mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )

    used = int(valid.sum())
    if used < 256:
        empty = np.zeros(0)
        return WeightedResidual(empty, empty, empty, used, scale, 0.0, [])
    sample = np.flatnonzero(valid.ravel())
    if sample.size > 200_000:
        sample = sample[:: sample.size // 200_000 + 1]
    coef = _fit_tone_curve(
        warped.ravel()[sample].astype(np.float64), leak.ravel()[sample].astype(np.float64)
    )
    x = warped / 255.0
    fitted = coef[0] + coef[1] * x + coef[2] * x * x + coef[3] * x * x * x
    slope = (coef[1] + 2 * coef[2] * x + 3 * coef[3] * x * x) / 255.0
    slope = _bounded_slope(slope, warped.ravel()[sample], leak.ravel()[sample])
    residual = np.where(valid, leak - fitted, 0.0).astype(np.float32)

    # Remove slow shading (vignetting, screen glare) well below the coarse cells' frequency.
    cell_px = max(2.0, scale * o_width / coarse_cols)
    residual -= _blur_masked(residual, valid, 3.0 * cell_px)
    residual = np.where(valid, residual, 0.0)
    # Local noise level: captions, misaligned edges and texture get less say.
    local_var = _blur_masked(residual * residual, valid, max(3.0, cell_px))
    floor = max(float(np.median(local_var[valid])) * 0.05, 0.25)
    local_var = np.maximum(local_var, floor)
    limit = 3.0 * np.sqrt(local_var)
    residual = np.clip(residual, -limit, limit)
    weights = residual * warped_mask * slope / local_var

    flat = np.flatnonzero(valid.ravel())
    return WeightedResidual(
        rows.ravel()[flat],
        cols.ravel()[flat],
        weights.ravel()[flat],
        used,
        scale,
        float(residual[valid].std()),
        [float(c) for c in coef],
    )
