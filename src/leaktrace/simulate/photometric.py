"""Colour edits and filters: what editors and photo apps do to pixel values.

All functions keep the image size. Values are computed in float and rounded once at the end, so
a chain of edits is not a chain of 8-bit quantisations unless the caller wants one.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from leaktrace.simulate.codecs import check_image

__all__ = [
    "brightness_contrast",
    "gamma",
    "gaussian_blur",
    "gaussian_noise",
    "grayscale",
    "median_filter",
    "saturation",
    "tone_curve",
    "unsharp_mask",
    "vignette",
    "warm_filter",
]

# Rec. 601 luma weights: what Pillow's convert("L") and most "black & white" buttons use.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def brightness_contrast(
    image: np.ndarray, *, brightness: float = 0.0, contrast: float = 1.0
) -> np.ndarray:
    """Linear brightness and contrast about mid-grey, like the sliders of simple editors.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    brightness : float
        Offset as a fraction of full scale, e.g. ``0.08`` adds about 20 grey levels.
    contrast : float
        Gain about mid-grey (127.5); 1 leaves the image unchanged.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image).astype(np.float32)
    return _to_uint8((image - 127.5) * contrast + 127.5 + 255.0 * brightness)


def saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Scale the chroma about each pixel's luma (``factor`` 0 is grey, 1 unchanged).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    factor : float
        Saturation gain, >= 0.

    Returns
    -------
    ndarray of uint8
    """
    if factor < 0:
        raise ValueError(f"factor must be >= 0, got {factor}")
    image = check_image(image).astype(np.float32)
    luma = image @ _LUMA
    return _to_uint8(luma[..., None] + factor * (image - luma[..., None]))


def grayscale(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma copied to the three channels (the file stays RGB, as apps save it)."""
    luma = check_image(image).astype(np.float32) @ _LUMA
    return np.repeat(_to_uint8(luma)[..., None], 3, axis=2)


def gamma(image: np.ndarray, value: float) -> np.ndarray:
    """Apply ``out = 255 * (in / 255) ** value``; ``value < 1`` brightens the mid-tones.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    value : float
        Exponent, > 0.

    Returns
    -------
    ndarray of uint8
    """
    if value <= 0:
        raise ValueError(f"value must be > 0, got {value}")
    lut = _to_uint8(255.0 * (np.arange(256) / 255.0) ** value)
    return lut[check_image(image)]


def tone_curve(
    image: np.ndarray,
    red: tuple[tuple[int, int], ...],
    green: tuple[tuple[int, int], ...],
    blue: tuple[tuple[int, int], ...],
) -> np.ndarray:
    """Per-channel curves through control points, linearly interpolated, as in "Curves" dialogs.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    red, green, blue : sequence of (int, int)
        ``(input, output)`` control points with increasing inputs in 0..255.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    levels = np.arange(256, dtype=np.float64)
    out = np.empty_like(image)
    for channel, points in enumerate((red, green, blue)):
        xs, ys = zip(*points, strict=True)
        if list(xs) != sorted(xs):
            raise ValueError("curve control points must have increasing inputs")
        lut = _to_uint8(np.interp(levels, xs, ys))
        out[..., channel] = lut[image[..., channel]]
    return out


def vignette(image: np.ndarray, strength: float) -> np.ndarray:
    """Darken towards the corners by ``1 - strength * r**2`` (``r`` = 1 at the corners).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    strength : float
        Darkening at the corners, in [0, 1].

    Returns
    -------
    ndarray of uint8
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    image = check_image(image)
    height, width = image.shape[:2]
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    gain = 1.0 - strength * (xs * xs + ys * ys) / 2.0
    return _to_uint8(image.astype(np.float32) * gain[..., None])


def warm_filter(image: np.ndarray) -> np.ndarray:
    """A warm, faded "Instagram-like" look.

    Lifted blacks, warm mid-tones, yellowed highlights, a little more saturation and a soft
    vignette.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.

    Returns
    -------
    ndarray of uint8
    """
    # Curves in the spirit of the "Valencia"/"Juno" presets: the red channel is lifted in the
    # mid-tones, blue is lifted in the shadows (the faded look) and pulled down in the highlights.
    curved = tone_curve(
        image,
        red=((0, 22), (64, 82), (128, 152), (192, 214), (255, 252)),
        green=((0, 14), (64, 70), (128, 134), (192, 198), (255, 246)),
        blue=((0, 34), (64, 66), (128, 116), (192, 172), (255, 222)),
    )
    return vignette(saturation(curved, 1.12), 0.22)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels (kernel cut at 3 sigma).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    sigma : float
        Standard deviation in pixels, > 0.

    Returns
    -------
    ndarray of uint8
    """
    import cv2

    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    image = check_image(image)
    size = 2 * int(np.ceil(3 * sigma)) + 1
    return cv2.GaussianBlur(image, (size, size), sigma, borderType=cv2.BORDER_REFLECT_101)


def gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma`` grey levels, independently per
    channel, then round and clip.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    sigma : float
        Standard deviation in grey levels, >= 0.
    rng : numpy.random.Generator
        Source of the noise.

    Returns
    -------
    ndarray of uint8
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    image = check_image(image)
    noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma)
    return _to_uint8(image.astype(np.float32) + noise)


def unsharp_mask(
    image: np.ndarray, *, radius: float = 2.0, percent: int = 150, threshold: int = 3
) -> np.ndarray:
    """Pillow's unsharp mask, the "sharpen" of most editors.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    radius : float
        Blur radius of the mask, in pixels.
    percent : int
        Strength in percent.
    threshold : int
        Smallest difference, in grey levels, that is sharpened.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    sharpened = Image.fromarray(image).filter(
        ImageFilter.UnsharpMask(radius=radius, percent=percent, threshold=threshold)
    )
    return np.asarray(sharpened).copy()


def median_filter(image: np.ndarray, size: int = 3) -> np.ndarray:
    """Median filter over a ``size`` x ``size`` window per channel (a "denoise" button).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    size : int
        Odd window size, 3 or 5.

    Returns
    -------
    ndarray of uint8
    """
    import cv2

    if size not in (3, 5):
        raise ValueError(f"size must be 3 or 5, got {size}")
    return cv2.medianBlur(check_image(image), size)
