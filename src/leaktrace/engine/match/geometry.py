"""Pixel-grid conventions shared by registration and residual extraction."""

from __future__ import annotations

import cv2
import numpy as np


def resize_matrix(factor_x: float, factor_y: float | None = None) -> np.ndarray:
    """Homography from a full-size image's pixel coordinates to those of its resized copy.

    OpenCV and Pillow align pixel *centres* (``i + 0.5``) when resizing, so a plain scale is off
    by half a pixel; the offset matters once fine pattern cells are only a few pixels wide.
    """
    factor_y = factor_x if factor_y is None else factor_y
    return np.array(
        [
            [factor_x, 0.0, 0.5 * factor_x - 0.5],
            [0.0, factor_y, 0.5 * factor_y - 0.5],
            [0.0, 0.0, 1.0],
        ]
    )


def local_scale(homography: np.ndarray, point: tuple[float, float]) -> float:
    """Linear magnification of ``homography`` at ``point`` (target pixels per source pixel)."""
    x, y = point
    h = homography / homography[2, 2]
    w = h[2, 0] * x + h[2, 1] * y + 1.0
    jac = (h[:2, :2] * w - np.outer(h[:2, :2] @ [x, y] + h[:2, 2], h[2, :2])) / (w * w)
    return float(np.sqrt(abs(np.linalg.det(jac))))


def scaled(image: np.ndarray, factor: float) -> np.ndarray | None:
    """``image`` resized by ``factor``, or None when a side would vanish (very thin images)."""
    size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    if min(size) < 1:
        return None
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
