"""EXIF orientations: stored pixels as a viewer shows them, and back."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["from_display", "to_display"]

# EXIF orientation -> how to turn stored pixels upright: the operations of Pillow's
# ImageOps.exif_transpose, on arrays so that grayscale and any channel count work.
_TO_DISPLAY: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def to_display(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to stored pixels: return them as a viewer shows them.

    Parameters
    ----------
    pixels : numpy.ndarray
        ``H x W`` or ``H x W x C`` in the file's stored orientation.
    orientation : int
        EXIF orientation 1..8.
    """
    _check_orientation(pixels, orientation)
    return np.ascontiguousarray(_TO_DISPLAY[orientation](pixels))


def from_display(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Exact inverse of :func:`to_display`: return upright pixels to the stored orientation."""
    _check_orientation(pixels, orientation)
    return np.ascontiguousarray(_TO_DISPLAY[_INVERSE[orientation]](pixels))


def _check_orientation(pixels: np.ndarray, orientation: int) -> None:
    if orientation not in _TO_DISPLAY:
        raise ValueError(f"orientation must be an EXIF orientation 1..8, got {orientation!r}")
    if np.ndim(pixels) not in (2, 3):
        raise ValueError(f"pixels must be H x W or H x W x C, got shape {np.shape(pixels)}")
