"""Tile-by-tile refinement of a verified homography.

A homography is exact for a flat picture seen through a pinhole. A phone photo of a screen is
not that: the lens bends straight lines (barrel distortion), a screen or a page may bulge, and
the aligned images then drift apart by one to a few pixels towards the corners, enough to lose
the finer pattern cells. The original is warped into the leak's frame with the homography, the
remaining shift of every tile is measured by phase correlation, unreliable tiles are dropped and
the rest fitted with a smooth low-order polynomial field: :class:`LocalWarp`, a coarse grid of
displacements in leak coordinates that corrects the homography everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from leaktrace.engine.match.geometry import local_scale, resize_matrix

REFINE_SIDE = 1024
TILE = 64  # work pixels: big enough to hold texture, small enough to see the field bend
STRIDE = 32
MIN_RESPONSE = 0.08  # phase-correlation peak share; unrelated tiles stay near 0.02
MIN_TILES = 12
GRID_NODES = 33  # per side of the stored displacement grid: nodes 32 work pixels apart
ITERATIONS = 3
RESIDUAL_SIGMA = 1.5 * TILE  # reach of the local correction beyond the polynomial, work pixels
RESIDUAL_PRIOR = 1.0


@dataclass(frozen=True)
class LocalWarp:
    """Where each leak pixel really shows the original, beyond the homography ``H``.

    The leak pixel ``p`` (full-resolution leak coordinates) shows the original at
    ``H^-1(p + d(p))``, where ``d`` is interpolated bilinearly from displacements ``dx, dy``
    (leak pixels) given on a regular grid of nodes spanning the leak from pixel 0 to pixel
    ``width - 1`` (``height - 1``).
    """

    dx: np.ndarray  # (rows, cols) float32
    dy: np.ndarray
    width: int
    height: int
    check: dict | None = None  # how the aligned images correlated without and with it

    def displacement(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``d`` at full-resolution leak coordinates ``xs, ys`` (arrays of one shape)."""
        rows, cols = self.dx.shape
        grid_x = (np.asarray(xs, np.float32) * ((cols - 1) / max(self.width - 1, 1))).astype(
            np.float32
        )
        grid_y = (np.asarray(ys, np.float32) * ((rows - 1) / max(self.height - 1, 1))).astype(
            np.float32
        )
        # cv2.remap handles at most SHRT_MAX columns per map: fold long vectors into rows.
        shape = grid_x.shape
        grid_x, grid_y = _as_map(grid_x), _as_map(grid_y)
        out = []
        for values in (self.dx, self.dy):
            sampled = cv2.remap(
                values.astype(np.float32),
                grid_x,
                grid_y,
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
            out.append(sampled.ravel()[: int(np.prod(shape))].reshape(shape))
        return out[0], out[1]

    def magnitude(self) -> float:
        """Largest displacement over the grid, in leak pixels."""
        return float(np.sqrt(self.dx**2 + self.dy**2).max())

    def to_dict(self) -> dict:
        return {
            "grid": list(self.dx.shape),
            "max_px": round(self.magnitude(), 3),
            "rms_px": round(float(np.sqrt(np.mean(self.dx**2 + self.dy**2))), 3),
            **(self.check or {}),
        }


def _as_map(values: np.ndarray) -> np.ndarray:
    if values.ndim == 2 and values.shape[1] < 32767:
        return np.ascontiguousarray(values, np.float32)
    flat = values.ravel()
    width = 4096
    padded = np.zeros(-(-flat.size // width) * width, np.float32)
    padded[: flat.size] = flat
    return padded.reshape(-1, width)


def original_coordinates(
    homography: np.ndarray,
    shape: tuple[int, int],
    local_warp: LocalWarp | None = None,
    *,
    leak_scale: tuple[float, float] = (1.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Original-frame (cols, rows) of every pixel centre of a leak image of ``shape``.

    ``homography`` maps original pixels to this image's pixels; the image may be the leak resized
    by ``leak_scale`` (x, y), in which case ``local_warp`` (given at full leak resolution) is
    rescaled to match.
    """
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if local_warp is not None:
        sx, sy = leak_scale
        # This image's pixel centres in full-resolution leak coordinates (resize_matrix inverted).
        full_x = (xs + 0.5) / sx - 0.5
        full_y = (ys + 0.5) / sy - 0.5
        dx, dy = local_warp.displacement(full_x, full_y)
        xs = xs + dx * sx
        ys = ys + dy * sy
    inverse = np.linalg.inv(homography)
    den = inverse[2, 0] * xs + inverse[2, 1] * ys + inverse[2, 2]
    cols = (inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) / den
    rows = (inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) / den
    return cols, rows


def warp_original(
    original: np.ndarray,
    homography: np.ndarray,
    shape: tuple[int, int],
    local_warp: LocalWarp | None = None,
    *,
    leak_scale: tuple[float, float] = (1.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """``original`` seen in the frame of a leak image of ``shape``, and where it is defined.

    When the leak is smaller, the original is shrunk first so that it is not aliased.
    """
    o_height, o_width = original.shape
    cols, rows = original_coordinates(homography, shape, local_warp, leak_scale=leak_scale)
    valid = (cols >= 0) & (cols <= o_width - 1) & (rows >= 0) & (rows <= o_height - 1)
    source = original.astype(np.float32)
    scale = local_scale(homography, (o_width / 2, o_height / 2))
    if scale < 0.9:
        size = (max(8, round(o_width * scale)), max(8, round(o_height * scale)))
        source = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
        to_small = resize_matrix(size[0] / o_width, size[1] / o_height)
        cols = to_small[0, 0] * cols + to_small[0, 2]
        rows = to_small[1, 1] * rows + to_small[1, 2]
    warped = cv2.remap(
        source,
        cols.astype(np.float32),
        rows.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return warped, valid


def _band_pass(image: np.ndarray) -> np.ndarray:
    # The low cut removes tone and shading differences; the high cut, sensor and JPEG noise.
    return cv2.GaussianBlur(image, (0, 0), 1.0) - cv2.GaussianBlur(image, (0, 0), 6.0)


def _tile_shifts(
    warped: np.ndarray, leak: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Centres (x, y) of reliable tiles and the shift ``s`` with ``leak(p) ~ warped(p - s)``."""
    height, width = leak.shape
    window = cv2.createHanningWindow((TILE, TILE), cv2.CV_32F)
    a_all, b_all = _band_pass(warped), _band_pass(leak)
    noise = float(np.median(np.abs(b_all[valid]))) if valid.any() else 0.0
    centres, shifts = [], []
    for top in range(0, height - TILE + 1, STRIDE):
        for left in range(0, width - TILE + 1, STRIDE):
            if not valid[top : top + TILE, left : left + TILE].all():
                continue
            a = a_all[top : top + TILE, left : left + TILE]
            b = b_all[top : top + TILE, left : left + TILE]
            # Flat tiles (sky, paper) have no shift to measure: only noise would answer.
            if float(np.abs(a).mean()) < 0.5 * noise or float(a.std()) < 0.5:
                continue
            (sx, sy), response = cv2.phaseCorrelate(a, b, window)
            if response < MIN_RESPONSE or max(abs(sx), abs(sy)) > TILE / 4:
                continue
            centres.append((left + TILE / 2 - 0.5, top + TILE / 2 - 0.5))
            shifts.append((sx, sy))
    return np.array(centres, np.float64).reshape(-1, 2), np.array(shifts, np.float64).reshape(-1, 2)


def _design(points: np.ndarray, width: int, height: int, degree: int) -> np.ndarray:
    u = 2.0 * points[:, 0] / max(width - 1, 1) - 1.0
    v = 2.0 * points[:, 1] / max(height - 1, 1) - 1.0
    terms = [u**i * v**j for i in range(degree + 1) for j in range(degree + 1 - i)]
    return np.stack(terms, axis=1)


def _robust_fit(
    points: np.ndarray, values: np.ndarray, nodes: np.ndarray, width: int, height: int
) -> np.ndarray | None:
    """The smooth field through the tile shifts, evaluated at ``nodes``.

    A low-order polynomial carries the lens and the perspective; what the polynomial leaves in
    the inlying tiles (a bulge, a curled page) is added back smoothed over neighbouring tiles.
    Outliers are trimmed first: repetitive line art and moire make some tiles lock onto the
    wrong period.
    """
    count = len(points)
    degree = 3 if count >= 40 else 2 if count >= 20 else 1 if count >= MIN_TILES else None
    if degree is None:
        return None
    design = _design(points, width, height, degree)
    keep = np.ones(count, bool)
    for _ in range(3):
        if keep.sum() < design.shape[1] * 2:
            return None
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        error = np.linalg.norm(values - design @ coef, axis=1)
        spread = 1.4826 * float(np.median(error[keep])) + 0.05
        keep = error < max(3.0 * spread, 0.3)
    coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
    residual = (values - design @ coef)[keep]
    # Gaussian-weighted mean of the neighbours' residuals, shrunk towards the polynomial where
    # few tiles were measured (as if RESIDUAL_PRIOR more tiles had said "no correction").
    gap = nodes[:, None, :] - points[keep][None, :, :]
    weight = np.exp(-(gap * gap).sum(axis=2) / (2.0 * RESIDUAL_SIGMA**2))
    local = weight @ residual / (weight.sum(axis=1, keepdims=True) + RESIDUAL_PRIOR)
    return _design(nodes, width, height, degree) @ coef + local


def estimate_local_warp(
    original: np.ndarray, leak: np.ndarray, homography: np.ndarray
) -> LocalWarp | None:
    """The smooth correction of ``homography`` (original -> leak, full resolution), or None when
    too few tiles can be measured to say anything.

    The correction is measured, not trusted: the caller keeps it only if the aligned images
    correlate better with it.
    """
    l_height, l_width = leak.shape
    factor = min(1.0, REFINE_SIDE / max(leak.shape))
    work = leak.astype(np.float32)
    if factor < 1.0:
        size = (max(1, round(l_width * factor)), max(1, round(l_height * factor)))
        work = cv2.resize(work, size, interpolation=cv2.INTER_AREA)
    height, width = work.shape
    sx, sy = width / l_width, height / l_height
    h_work = resize_matrix(sx, sy) @ homography
    nodes_y, nodes_x = np.mgrid[0:GRID_NODES, 0:GRID_NODES].astype(np.float64)
    # The grid's nodes span the full-resolution leak; the fit is made in work pixels.
    node_points = np.stack(
        [
            (nodes_x.ravel() * (l_width - 1) / (GRID_NODES - 1) + 0.5) * sx - 0.5,
            (nodes_y.ravel() * (l_height - 1) / (GRID_NODES - 1) + 0.5) * sy - 0.5,
        ],
        axis=1,
    )
    current: LocalWarp | None = None
    for _ in range(ITERATIONS):
        warped, valid = warp_original(original, h_work, work.shape, current, leak_scale=(sx, sy))
        valid = cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        centres, shifts = _tile_shifts(warped, work, valid)
        # leak(p) ~ warped(p - s): the original shown at p sits at p - s in the current frame.
        if current is not None:
            dx, dy = current.displacement(
                (centres[:, 0] + 0.5) / sx - 0.5, (centres[:, 1] + 0.5) / sy - 0.5
            )
            base = np.stack([dx * sx, dy * sy], axis=1)
        else:
            base = np.zeros_like(centres)
        field = _robust_fit(centres, base - shifts, node_points, width, height)
        if field is None:
            return current
        current = LocalWarp(
            (field[:, 0] / sx).reshape(GRID_NODES, GRID_NODES).astype(np.float32),
            (field[:, 1] / sy).reshape(GRID_NODES, GRID_NODES).astype(np.float32),
            l_width,
            l_height,
        )
    return current
