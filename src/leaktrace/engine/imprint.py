"""Writing a recipient's mark into an image's pixels at the speed of the image codec.

:mod:`leaktrace.engine.watermark` defines the mark in plain numpy: the keyed cell grids, upsampled
bilinearly (:func:`~leaktrace.engine.watermark.pattern.synthesize`), clipped and scaled by the
perceptual mask (:func:`~leaktrace.engine.watermark.embed.luma_delta`), dithered to whole gray levels
(:func:`~leaktrace.engine.watermark.embed.add_luma_delta`). Done that way a 12-megapixel copy costs
about three times a plain JPEG decode + encode, and a launch marks every photo for hundreds of
recipients. This module computes the same change with OpenCV's integer kernels:

- each layer's grid becomes two uint8 levels and is upsampled with ``INTER_LINEAR_EXACT``, whose
  fixed-point arithmetic gives the same bytes on every CPU (a floating-point resize may round
  differently on another SIMD path, and rerunning a batch must give byte-identical copies);
- the layers' sum indexes a 256-entry table holding the clipped, scaled field, so clipping and
  scaling cost one lookup;
- the dithered offset is split into its positive and negative parts and added to every colour
  plane with saturating uint8 arithmetic, which is exactly the reference's clip to 0..255.

The only difference from the reference is the table's resolution: the interpolated field is
quantised to 1/127 of a cell's swing, which moves about one pixel in a hundred by one gray level
and leaves the correlation detection sees unchanged (``tests/test_imprint.py`` measures both).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from leaktrace.engine.watermark.embed import PEAK_SIGMAS, dither_threshold
from leaktrace.engine.watermark.pattern import AssetKeying, field_scale

# The layers' uint8 levels add up to at most this, so their sum never saturates a byte.
_LEVELS = 254
_STRIP_ROWS = 32


def _identity(array: np.ndarray) -> np.ndarray:
    return array


class Imprinter:
    """Marks one asset's pixels for any number of recipients; build it once per asset.

    Parameters
    ----------
    keying : AssetKeying
        The asset's keyed pattern geometry (display frame).
    amplitude : (H, W) array
        The perceptual mask in gray levels, display frame.
    pixels : uint8 array
        The pixels to mark, in their stored frame: ``H x W`` gray or ``H x W x C``.
    to_stored : callable, optional
        Turns a display-frame array into the pixels' stored frame (EXIF orientation); the
        identity by default.
    peak : float
        Field values beyond this many standard deviations are clipped, as in the reference.
    """

    def __init__(
        self,
        keying: AssetKeying,
        amplitude: np.ndarray,
        pixels: np.ndarray,
        *,
        to_stored: Callable[[np.ndarray], np.ndarray] = _identity,
        peak: float = PEAK_SIGMAS,
    ) -> None:
        layout = keying.layout
        if amplitude.shape != (layout.height, layout.width):
            raise ValueError("amplitude must have the asset's display height and width")
        weights = np.array([layer.weight for layer in layout.layers], dtype=np.float64)
        if np.any(weights <= 0):
            raise ValueError("layer weights must be positive")
        self._keying = keying
        self._to_stored = to_stored
        self._amplitude = np.ascontiguousarray(to_stored(amplitude.astype(np.float32)))
        if pixels.shape[:2] != self._amplitude.shape or pixels.dtype != np.uint8:
            raise ValueError("pixels must be uint8 with the asset's stored height and width")
        self._pixels = np.ascontiguousarray(pixels)
        self._channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        # Level swing per layer, proportional to its weight, so the sum of levels is an affine
        # function of the weighted field and one table can undo it.
        self._swings = np.maximum(1, np.round(_LEVELS * weights / weights.sum())).astype(int)
        total = int(self._swings.sum())
        # sum of levels s = sum_l swing_l * (b_l + 1) / 2, with b_l the layer's bilinear value in
        # [-1, 1], so sum_l w_l b_l = (2 s - total) * (sum w / _LEVELS).
        levels = np.arange(256, dtype=np.float64)
        field = (2.0 * levels - total) * (weights.sum() / _LEVELS) * field_scale(layout)
        self._table = np.clip(field, -peak, peak).astype(np.float32)
        height, width = self._amplitude.shape
        self._size = (width, height)
        # floor(x + t) == round(x + t - 1/2) away from exact ties, which a continuous x misses.
        self._threshold = dither_threshold(height, width) - np.float32(0.5)
        self._neg_threshold = -self._threshold

    def _levels(self, code: np.ndarray) -> np.ndarray:
        """Sum of the layers' upsampled levels (uint8, stored frame)."""
        summed = None
        for swing, grid in zip(self._swings, self._keying.cell_values(code), strict=True):
            levels = np.where(grid > 0, np.uint8(swing), np.uint8(0))
            levels = np.ascontiguousarray(self._to_stored(levels))
            up = cv2.resize(levels, self._size, interpolation=cv2.INTER_LINEAR_EXACT)
            summed = up if summed is None else cv2.add(summed, up, dst=summed)
        return summed

    def _strip_offsets(self, levels: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        delta = cv2.multiply(cv2.LUT(levels[rows], self._table), self._amplitude[rows])
        raise_by = cv2.add(delta, self._threshold[rows], dtype=cv2.CV_8U)
        lower_by = cv2.subtract(self._neg_threshold[rows], delta, dtype=cv2.CV_8U)
        return raise_by, lower_by

    def offsets(self, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The whole-gray-level change for ``code``, stored frame, as (raise, lower) uint8."""
        return self._strip_offsets(self._levels(code), slice(None))

    def mark(self, code: np.ndarray) -> np.ndarray:
        """The pixels marked for ``code`` (stored frame, the input's shape): the same change on
        every channel, so luma moves by it and hue stays."""
        levels = self._levels(code)
        marked = np.empty_like(self._pixels)
        # Strip by strip: the float temporaries of a few rows stay in the CPU cache, which halves
        # the time of whole-image passes on a 12-megapixel photo.
        for top in range(0, marked.shape[0], _STRIP_ROWS):
            rows = slice(top, top + _STRIP_ROWS)
            raise_by, lower_by = self._strip_offsets(levels, rows)
            if self._channels > 1:
                raise_by = cv2.merge([raise_by] * self._channels)
                lower_by = cv2.merge([lower_by] * self._channels)
            cv2.subtract(cv2.add(self._pixels[rows], raise_by), lower_by, dst=marked[rows])
        return marked
