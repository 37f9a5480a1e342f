"""Encoders and decoders: what a leak is made of in the end, a file.

Functions named after a file format (:func:`jpeg`, :func:`webp`, :func:`avif`, :func:`png`) encode
an RGB array to the bytes of that format; :func:`recompress` is the round trip used inside
re-share chains. Everything goes through Pillow, the library most web back ends use, so the
quantisation tables and chroma subsampling are those of libjpeg / libwebp / libavif defaults.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, features

__all__ = [
    "EXTENSIONS",
    "avif",
    "avif_supported",
    "check_image",
    "decode",
    "encode",
    "jpeg",
    "png",
    "recompress",
    "webp",
]

#: File extension of each format name accepted by :func:`encode`.
EXTENSIONS: dict[str, str] = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif", "png": ".png"}


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` if it is an RGB ``uint8`` array of shape ``(H, W, 3)``.

    Parameters
    ----------
    image : ndarray
        The array to check.
    name : str
        Parameter name used in the error message.

    Returns
    -------
    ndarray
        The same array, C-contiguous.

    Raises
    ------
    ValueError
        If the dtype, the number of dimensions or of channels is wrong, or the image is empty.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3) (RGB), got {image.shape}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"{name} must be at least 2x2 pixels, got {image.shape[:2]}")
    return np.ascontiguousarray(image)


def avif_supported() -> bool:
    """Return whether this Pillow build can write AVIF files."""
    return bool(features.check("avif"))


def _check_quality(quality: int) -> int:
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    return int(quality)


def _save(image: np.ndarray, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(check_image(image), mode="RGB").save(buffer, format=fmt, **params)
    return buffer.getvalue()


def jpeg(image: np.ndarray, quality: int) -> bytes:
    """Encode an RGB image as baseline JPEG with 4:2:0 chroma subsampling.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    quality : int
        libjpeg quality factor, 1..100.

    Returns
    -------
    bytes
        The JPEG file.
    """
    # 4:2:0 at every quality: phones, social networks and messengers all use it, and it is the
    # harder case for a chroma-carrying watermark.
    return _save(image, "JPEG", quality=_check_quality(quality), subsampling=2)


def webp(image: np.ndarray, quality: int) -> bytes:
    """Encode an RGB image as lossy WebP (libwebp defaults, ``method=4``).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    quality : int
        libwebp quality factor, 1..100.

    Returns
    -------
    bytes
        The WebP file.
    """
    return _save(image, "WEBP", quality=_check_quality(quality), method=4)


def avif(image: np.ndarray, quality: int) -> bytes:
    """Encode an RGB image as AVIF (libavif through Pillow, 4:2:0).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    quality : int
        Pillow's AVIF quality factor, 1..100.

    Returns
    -------
    bytes
        The AVIF file.

    Raises
    ------
    RuntimeError
        If this Pillow build has no AVIF encoder (see :func:`avif_supported`).
    """
    if not avif_supported():
        raise RuntimeError(
            "this Pillow build cannot write AVIF; install a Pillow wheel built with libavif"
        )
    # speed=6 is Pillow's default; set explicitly so a changed default cannot change the bytes.
    return _save(image, "AVIF", quality=_check_quality(quality), speed=6, subsampling="4:2:0")


def png(image: np.ndarray) -> bytes:
    """Encode an RGB image as PNG (lossless, zlib level 6).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.

    Returns
    -------
    bytes
        The PNG file.
    """
    return _save(image, "PNG", compress_level=6)


def encode(image: np.ndarray, fmt: str, quality: int | None = None) -> tuple[bytes, str]:
    """Encode ``image`` in the named format.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    fmt : {"jpeg", "webp", "avif", "png"}
        Output format.
    quality : int, optional
        Quality factor for the lossy formats; ignored for PNG.

    Returns
    -------
    data : bytes
        The encoded file.
    extension : str
        Its file extension, e.g. ``".jpg"``.
    """
    if fmt not in EXTENSIONS:
        raise ValueError(f"fmt must be one of {sorted(EXTENSIONS)}, got {fmt!r}")
    if fmt == "png":
        return png(image), EXTENSIONS[fmt]
    if quality is None:
        raise ValueError(f"quality is required for fmt={fmt!r}")
    encoder = {"jpeg": jpeg, "webp": webp, "avif": avif}[fmt]
    return encoder(image, quality), EXTENSIONS[fmt]


def decode(data: bytes) -> np.ndarray:
    """Decode an image file to an RGB ``uint8`` array.

    Parameters
    ----------
    data : bytes
        A file in any format Pillow reads.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        The decoded pixels.
    """
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB")).copy()


def recompress(image: np.ndarray, *, fmt: str = "jpeg", quality: int = 80) -> np.ndarray:
    """Encode and decode again: the loss one re-save adds.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    fmt : {"jpeg", "webp", "avif", "png"}
        Intermediate format.
    quality : int
        Its quality factor.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        The decoded round trip.
    """
    return decode(encode(image, fmt, quality)[0])
