"""Adding a pattern to pixels without losing it to 8-bit rounding."""

from __future__ import annotations

import numpy as np

# Ordered dither: amplitudes of one or two gray levels would otherwise round to flat plateaus
# with visible contour steps on flat drafts, and rounding would remove most of the signal. A fixed
# Bayer matrix keeps the mean of every small area equal to the intended value, is reproducible
# byte for byte, and costs nothing.
_BAYER_8 = (
    np.array(
        [
            [0, 32, 8, 40, 2, 34, 10, 42],
            [48, 16, 56, 24, 50, 18, 58, 26],
            [12, 44, 4, 36, 14, 46, 6, 38],
            [60, 28, 52, 20, 62, 30, 54, 22],
            [3, 35, 11, 43, 1, 33, 9, 41],
            [51, 19, 59, 27, 49, 17, 57, 25],
            [15, 47, 7, 39, 13, 45, 5, 37],
            [63, 31, 55, 23, 61, 29, 53, 21],
        ],
        dtype=np.float32,
    )
    + 0.5
) / 64.0


def dither_threshold(height: int, width: int) -> np.ndarray:
    reps = (-(-height // 8), -(-width // 8))
    return np.tile(_BAYER_8, reps)[:height, :width]


def add_luma_delta(pixels: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Add ``delta`` (gray levels, H x W) to every colour channel of ``pixels`` (uint8).

    Adding the same amount to R, G and B changes luma by exactly ``delta`` and leaves hue alone.
    Values are clipped to 0..255: on white paper only the darker half of the pattern survives,
    which detection tolerates.
    """
    if pixels.shape[:2] != delta.shape:
        raise ValueError("delta must have the pixels' height and width")
    threshold = dither_threshold(*delta.shape)
    shifted = delta + threshold if pixels.ndim == 2 else (delta + threshold)[..., None]
    out = np.floor(pixels.astype(np.float32) + shifted)
    return np.clip(out, 0, 255).astype(np.uint8)


PEAK_SIGMAS = 1.5


def luma_delta(
    amplitude: np.ndarray, field: np.ndarray, *, peak: float = PEAK_SIGMAS
) -> np.ndarray:
    """The change to add: the pattern field scaled by the mask, its rare peaks clipped.

    A unit-power field exceeds 1.5 in ~13 % of pixels; those peaks are what an eye would catch
    first on flat paper, while clipping them costs only a few percent of correlation.
    """
    return amplitude * np.clip(field, -peak, peak)
