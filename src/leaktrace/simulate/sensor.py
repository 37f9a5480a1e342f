"""What a phone camera does to the light of a screen: sampling smooth fields, a Bayer sensor
with noise, motion blur, white balance and development to 8-bit sRGB."""

from __future__ import annotations

import math

import numpy as np


def tile_coordinates(coord: np.ndarray, size: int) -> np.ndarray:
    """Position inside the current screen pixel, in the pixel units of a ``size``-wide tile."""
    frac = coord + np.float32(0.5)
    frac -= np.floor(frac)
    frac *= np.float32(size)
    frac -= np.float32(0.5)
    return frac


def white_balance(rng: np.random.Generator, cast: float) -> np.ndarray:
    """Per-channel gains of an imperfect auto white balance (green fixed at 1)."""
    gains = np.exp(rng.normal(0.0, cast, 3))
    return (gains / gains[1]).astype(np.float32)


def sample_field(field: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``field`` on the grid ``rows`` x ``cols`` (pixel coordinates)."""
    import cv2

    map_x = np.tile(cols, (rows.size, 1))
    map_y = np.repeat(rows.astype(np.float32)[:, None], cols.size, axis=1)
    return cv2.remap(field, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def sensor_capture(
    scene: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    a_screen: np.ndarray,
    gain: np.ndarray,
    tile: np.ndarray,
    moire: float,
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """A strip of a Bayer (RGGB) sensor, starting on an even row: 16-bit raw values.

    Each photosite sees its colour's subpixel grid at its own position: sampling the grid is
    what makes moire. ``gain`` holds the per-channel exposure times the vignetting.
    """
    import cv2

    size = tile.shape[0]
    map_x, map_y = tile_coordinates(u, size), tile_coordinates(v, size)
    raw = np.empty(u.shape, dtype=np.float32)
    for dy, dx, channel in ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 2)):
        site = np.s_[dy::2, dx::2]
        grid = cv2.remap(
            np.ascontiguousarray(tile[..., channel]),
            map_x[site],
            map_y[site],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_WRAP,
        )
        grid = 1.0 + moire * a_screen[site] * (grid - 1.0)
        raw[site] = scene[..., channel][site] * grid * gain[channel][site]
    # Shot noise (variance proportional to the signal) and read noise.
    sigma = np.maximum(raw, 0.0)
    sigma *= np.float32(6e-4 * noise)
    sigma += np.float32((1.5e-3 * noise) ** 2)
    np.sqrt(sigma, out=sigma)
    sigma *= rng.standard_normal(raw.shape, dtype=np.float32)
    raw += sigma
    raw *= np.float32(65535.0)
    return np.clip(raw, 0, 65535, out=raw).astype(np.uint16)


def motion_kernel(length: float, angle: float) -> np.ndarray:
    import cv2

    size = 2 * math.ceil(length / 2) + 1
    kernel = np.zeros((size, size), dtype=np.uint8)
    c = size // 2
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    start = (round((c - dx) * 16), round((c - dy) * 16))
    end = (round((c + dx) * 16), round((c + dy) * 16))
    cv2.line(kernel, start, end, 255, 1, cv2.LINE_AA, shift=4)
    kernel = kernel.astype(np.float32)
    return kernel / kernel.sum()


def develop(rgb16: np.ndarray, *, gamma: float, noise: float) -> np.ndarray:
    """A phone's image pipeline on demosaiced linear 16-bit RGB: tone curve, then in YCrCb a
    strong chroma denoise, a light luma denoise, a saturation boost and sharpening."""
    import cv2

    levels = np.arange(65536, dtype=np.float64) / 65535.0
    tone = levels ** (gamma / 2.2)
    # A gentle S-curve: phone pipelines add contrast around the mid-tones.
    tone = tone + 0.06 * np.sin(2.0 * math.pi * tone)
    lut = np.clip(np.rint(tone * 255.0), 0, 255).astype(np.uint8)
    ycrcb = cv2.cvtColor(lut[rgb16], cv2.COLOR_RGB2YCrCb)
    luma = cv2.GaussianBlur(ycrcb[..., 0], (0, 0), 0.45 + 0.15 * noise)
    chroma = cv2.GaussianBlur(ycrcb[..., 1:], (0, 0), 1.2 + 0.4 * noise)
    # Saturation x1.08 about neutral, and an unsharp mask (amount 0.5) on luma.
    chroma = cv2.addWeighted(chroma, 1.08, chroma, 0.0, -0.08 * 128)
    luma = cv2.addWeighted(luma, 1.5, cv2.GaussianBlur(luma, (0, 0), 1.4), -0.5, 0)
    out = cv2.merge([luma, chroma[..., 0], chroma[..., 1]])
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2RGB)
