"""Perceptual mask: how many gray levels of pattern each pixel can hide.

Texture and edges hide more than flat areas, but flat areas never get zero: a design draft is
mostly flat white, and a mask of zero there would leave drafts unmarked.
"""

from __future__ import annotations

import numpy as np

# Rec. 601 luma: the channel the pattern is added to and read from.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(pixels: np.ndarray) -> np.ndarray:
    """Luma of an RGB (H x W x 3) or gray (H x W) uint8 image as float32."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    return pixels[..., :3].astype(np.float32) @ LUMA_WEIGHTS


def box_mean(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window with edge replication (float32).

    Separable running sums over shifted views: for the small windows the mask uses this reads
    the image a few times in float32, where an integral image needs float64 and two cumulative
    sums over the whole picture (four times slower on a 12-megapixel photo).
    """
    size = 2 * radius + 1
    height, width = image.shape
    padded = np.pad(image.astype(np.float32), radius, mode="edge")
    rows = padded[0:height].copy()
    for shift in range(1, size):
        rows += padded[shift : shift + height]
    total = rows[:, 0:width].copy()
    for shift in range(1, size):
        total += rows[:, shift : shift + width]
    total *= np.float32(1.0 / (size * size))
    return total


def perceptual_mask(
    luma: np.ndarray,
    *,
    flat_amplitude: float = 1.1,
    texture_amplitude: float = 2.6,
    texture_scale: float = 10.0,
    radius: int = 2,
    dark_level: float = 48.0,
    dark_floor: float = 0.3,
    paper_level: float = 235.0,
    paper_floor: float = 0.75,
    max_rms: float = 1.25,
) -> np.ndarray:
    """Amplitude in gray levels for every pixel of ``luma``.

    Parameters
    ----------
    luma : (H, W) float array
        Luminance on the 0..255 scale.
    flat_amplitude, texture_amplitude : float
        Amplitude in perfectly flat areas and in strong texture.
    texture_scale : float
        Local standard deviation (gray levels) at which texture counts as ~63 % strong.
    radius : int
        Half-size of the window measuring local activity. Small, so that only pixels right at a
        line's edge get the texture amplitude: a wide window would draw halos along thin lines.
    dark_level, dark_floor : float
        Below luma ``dark_level`` the amplitude fades linearly to ``dark_floor`` times its value
        at black. Near black every change is a large *relative* change (SSIM's luminance term
        sees it) and the clipped half of the pattern would lift the black level.
    paper_level, paper_floor : float
        Above luma ``paper_level`` flat areas fade to ``paper_floor`` times the flat amplitude at
        pure white: blotches of two gray levels on white paper sit near the eye's contrast
        threshold at the pattern's spatial frequency, and only the darker half survives anyway.
    max_rms : float
        Cap on the root-mean-square amplitude over the image; 1.25 gray levels is ~46 dB PSNR for a
        unit-power pattern.
    """
    # Variance from centred values: float32 squares of 0..255 would lose the small variances of
    # flat paper to cancellation; centred on mid-gray they stay four times smaller.
    centred = np.asarray(luma, dtype=np.float32) - np.float32(128.0)
    centred_mean = box_mean(centred, radius)
    variance = np.maximum(box_mean(centred * centred, radius) - centred_mean * centred_mean, 0.0)
    mean = centred_mean + np.float32(128.0)
    texture = 1.0 - np.exp(-np.sqrt(variance) / texture_scale)
    paper = np.clip((mean - paper_level) / (255.0 - paper_level), 0.0, 1.0)
    flat = flat_amplitude * (1.0 - (1.0 - paper_floor) * paper)
    amplitude = flat + (texture_amplitude - flat) * texture
    amplitude *= dark_floor + (1.0 - dark_floor) * np.minimum(1.0, mean / dark_level)
    rms = float(np.sqrt(np.mean(amplitude * amplitude)))
    if rms > max_rms:
        amplitude *= max_rms / rms
    return amplitude.astype(np.float32)
