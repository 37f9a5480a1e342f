"""Geometric edits: resizing, crops, rotations, flips, perspective and lens distortion.

Sizes are given as ``(width, height)`` like Pillow and OpenCV do; array shapes stay
``(height, width, 3)``. Every function returns a new RGB ``uint8`` array and never writes to
its input. Rotations and warps crop to the largest region without fill colour, because a real
leak is cropped by whoever rotated it: black wedges would be an artefact of the simulator.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from leaktrace.simulate.codecs import check_image

__all__ = [
    "barrel",
    "crop_aspect",
    "crop_fraction",
    "flip_horizontal",
    "homography_from_points",
    "limit_long",
    "perspective",
    "resize",
    "resize_long",
    "rotate_crop",
    "scale",
    "stretch",
]

_RESAMPLE = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "area": Image.Resampling.BOX,
    "nearest": Image.Resampling.NEAREST,
}


def _resample(method: str) -> Image.Resampling:
    if method not in _RESAMPLE:
        raise ValueError(f"method must be one of {sorted(_RESAMPLE)}, got {method!r}")
    return _RESAMPLE[method]


def resize(image: np.ndarray, size: tuple[int, int], *, method: str = "lanczos") -> np.ndarray:
    """Resize to an exact size.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    size : (int, int)
        Output ``(width, height)`` in pixels.
    method : {"lanczos", "bicubic", "bilinear", "area", "nearest"}
        Pillow resampling filter. Pillow's filters are antialiased when downscaling, like the
        resizers of web back ends.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    image = check_image(image)
    width, height = int(size[0]), int(size[1])
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {size}")
    if (height, width) == image.shape[:2]:
        return image.copy()
    out = Image.fromarray(image).resize((width, height), _resample(method))
    return np.asarray(out).copy()


def resize_long(image: np.ndarray, long_side: int, *, method: str = "lanczos") -> np.ndarray:
    """Resize so that the longer side is exactly ``long_side``, keeping the aspect ratio.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    long_side : int
        Target length of the longer side, in pixels; smaller images are upscaled.
    method : str
        Resampling filter, see :func:`resize`.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    if long_side < 1:
        raise ValueError(f"long_side must be positive, got {long_side}")
    height, width = image.shape[:2]
    factor = long_side / max(height, width)
    if width >= height:
        size = (long_side, max(1, round(height * factor)))
    else:
        size = (max(1, round(width * factor)), long_side)
    return resize(image, size, method=method)


def limit_long(image: np.ndarray, long_side: int, *, method: str = "lanczos") -> np.ndarray:
    """Downscale so that the longer side is at most ``long_side``; never upscale.

    This is what upload pipelines do: an image already smaller than the limit is kept at its size.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    long_side : int
        Largest allowed length of the longer side, in pixels.
    method : str
        Resampling filter, see :func:`resize`.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    if max(image.shape[:2]) <= long_side:
        return image.copy()
    return resize_long(image, long_side, method=method)


def scale(image: np.ndarray, factor: float, *, method: str = "lanczos") -> np.ndarray:
    """Scale both sides by ``factor``.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    factor : float
        Scale factor, > 0.
    method : str
        Resampling filter, see :func:`resize`.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    if factor <= 0:
        raise ValueError(f"factor must be > 0, got {factor}")
    height, width = image.shape[:2]
    size = (max(2, round(width * factor)), max(2, round(height * factor)))
    return resize(image, size, method=method)


def stretch(
    image: np.ndarray, factor_x: float, factor_y: float, *, method: str = "lanczos"
) -> np.ndarray:
    """Scale the width by ``factor_x`` and the height by ``factor_y`` (an uneven stretch)."""
    size = (max(1, round(image.shape[1] * factor_x)), max(1, round(image.shape[0] * factor_y)))
    return resize(image, size, method=method)


def _crop_box(
    shape: tuple[int, ...], crop_w: int, crop_h: int, center: tuple[float, float]
) -> tuple[int, int]:
    """Top-left corner of a ``crop_w`` x ``crop_h`` box centred at ``center``, kept inside."""
    height, width = shape[:2]
    cx, cy = float(center[0]), float(center[1])
    if not (0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0):
        raise ValueError(f"center must be fractions in [0, 1], got {center}")
    left = min(max(round(cx * width - crop_w / 2), 0), width - crop_w)
    top = min(max(round(cy * height - crop_h / 2), 0), height - crop_h)
    return left, top


def crop_fraction(
    image: np.ndarray, area_fraction: float, *, center: tuple[float, float] = (0.5, 0.5)
) -> np.ndarray:
    """Crop a region keeping ``area_fraction`` of the area and the aspect ratio.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    area_fraction : float
        Fraction of the area to keep, in (0, 1]; each side keeps ``sqrt(area_fraction)``.
    center : (float, float)
        Centre of the crop as ``(x, y)`` fractions of the width and height. The box is shifted
        to stay inside the image, so ``(0, 0)`` gives the top-left corner.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    if not 0.0 < area_fraction <= 1.0:
        raise ValueError(f"area_fraction must be in (0, 1], got {area_fraction}")
    height, width = image.shape[:2]
    side = math.sqrt(area_fraction)
    crop_w, crop_h = max(2, round(width * side)), max(2, round(height * side))
    left, top = _crop_box(image.shape, crop_w, crop_h, center)
    return image[top : top + crop_h, left : left + crop_w].copy()


def crop_aspect(
    image: np.ndarray, aspect: float, *, center: tuple[float, float] = (0.5, 0.5)
) -> np.ndarray:
    """Crop the largest region with the given aspect ratio (width / height).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    aspect : float
        Width divided by height of the crop, e.g. ``1.0`` for a square post, ``9 / 16`` for a story.
    center : (float, float)
        Centre of the crop as ``(x, y)`` fractions, see :func:`crop_fraction`.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    if aspect <= 0:
        raise ValueError(f"aspect must be > 0, got {aspect}")
    height, width = image.shape[:2]
    crop_w = min(width, round(height * aspect))
    crop_h = min(height, round(width / aspect))
    crop_w, crop_h = max(2, crop_w), max(2, crop_h)
    left, top = _crop_box(image.shape, crop_w, crop_h, center)
    return image[top : top + crop_h, left : left + crop_w].copy()


def _largest_inner_rect(width: float, height: float, radians: float) -> tuple[float, float]:
    """Largest axis-aligned rectangle inside a ``width`` x ``height`` one rotated by ``radians``."""
    sin_a, cos_a = abs(math.sin(radians)), abs(math.cos(radians))
    long_side, short_side = max(width, height), min(width, height)
    if short_side <= 2.0 * sin_a * cos_a * long_side or abs(sin_a - cos_a) < 1e-10:
        # Half-constrained case: two opposite corners touch the long sides.
        half = 0.5 * short_side
        if width >= height:
            return half / sin_a, half / cos_a
        return half / cos_a, half / sin_a
    cos_2a = cos_a * cos_a - sin_a * sin_a
    return (width * cos_a - height * sin_a) / cos_2a, (height * cos_a - width * sin_a) / cos_2a


def rotate_crop(image: np.ndarray, degrees: float, *, margin: int = 2) -> np.ndarray:
    """Rotate about the centre and crop the largest axis-aligned rectangle without borders.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    degrees : float
        Rotation angle; positive is counter-clockwise, as in Pillow and OpenCV.
    margin : int
        Pixels trimmed from each side of the ideal rectangle: bicubic interpolation blends the
        fill colour into the two pixels next to the rotated edge.

    Returns
    -------
    ndarray of uint8
        Smaller than the input unless ``degrees`` is a multiple of 360.

    References
    ----------
    .. [1] "Rotate image and crop out black borders", Stack Overflow question 16702966,
           answer giving the closed form for the largest inscribed rectangle.
    """
    image = check_image(image)
    if degrees % 360 == 0:
        return image.copy()
    height, width = image.shape[:2]
    inner_w, inner_h = _largest_inner_rect(width, height, math.radians(degrees))
    rotated = np.asarray(
        Image.fromarray(image).rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)
    )
    crop_w = max(2, math.floor(inner_w) - 2 * margin)
    crop_h = max(2, math.floor(inner_h) - 2 * margin)
    rot_h, rot_w = rotated.shape[:2]
    left = (rot_w - crop_w) // 2
    top = (rot_h - crop_h) // 2
    return rotated[top : top + crop_h, left : left + crop_w].copy()


def flip_horizontal(image: np.ndarray) -> np.ndarray:
    """Mirror left-right (selfie cameras and "flip" buttons in editors)."""
    return check_image(image)[:, ::-1].copy()


def homography_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 homography mapping four ``src`` points onto four ``dst`` points.

    Parameters
    ----------
    src, dst : array_like, shape (4, 2)
        Point coordinates ``(x, y)``.

    Returns
    -------
    ndarray of float64, shape (3, 3)
        ``H`` with ``H[2, 2] == 1`` such that ``dst ~ H @ [x, y, 1]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != (4, 2) or dst.shape != (4, 2):
        raise ValueError(f"src and dst must have shape (4, 2), got {src.shape} and {dst.shape}")
    rows = []
    rhs = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    coeffs = np.linalg.solve(np.array(rows), np.array(rhs))
    return np.append(coeffs, 1.0).reshape(3, 3)


def perspective(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A random keystone: a quadrilateral inside the image stretched back to the full frame.

    Each corner of the source quadrilateral moves inwards by an independent uniform fraction in
    ``[0, strength]`` of the width and of the height, as when someone "straightens" a photo in an
    editor. The output keeps the input size and has no fill colour.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    strength : float
        Largest corner displacement as a fraction of each side, in [0, 0.45].
    rng : numpy.random.Generator
        Source of the corner displacements.

    Returns
    -------
    ndarray of uint8, same shape as ``image``
    """
    image = check_image(image)
    if not 0.0 <= strength <= 0.45:
        raise ValueError(f"strength must be in [0, 0.45], got {strength}")
    height, width = image.shape[:2]
    inward = rng.uniform(0.0, strength, size=(4, 2)) * (width, height)
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    quad = frame + signs * inward
    # Pillow wants the map from output to input coordinates.
    out_to_in = homography_from_points(frame, quad)
    warped = Image.fromarray(image).transform(
        (width, height),
        Image.Transform.PERSPECTIVE,
        tuple(out_to_in.ravel()[:8]),
        resample=Image.Resampling.BICUBIC,
    )
    return np.asarray(warped).copy()


def barrel(image: np.ndarray, strength: float = 0.04) -> np.ndarray:
    """Radial lens distortion; positive ``strength`` is barrel, negative is pincushion.

    The output pixel at normalised radius ``r`` (1 at the corners) samples the input at radius
    ``r * (1 + strength * r**2) / (1 + strength)``, so the corners stay the corners and a
    barrel-distorted frame needs no fill colour.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    strength : float
        Radial coefficient ``k1`` in (-0.3, 0.3); ~0.02-0.05 is a phone or action-camera lens.

    Returns
    -------
    ndarray of uint8, same shape as ``image``
    """
    import cv2

    image = check_image(image)
    if not -0.3 < strength < 0.3:
        raise ValueError(f"strength must be in (-0.3, 0.3), got {strength}")
    height, width = image.shape[:2]
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    radius = math.hypot(width / 2.0, height / 2.0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dx, dy = (xs - cx) / radius, (ys - cy) / radius
    factor = (1.0 + strength * (dx * dx + dy * dy)) / (1.0 + strength)
    map_x = (cx + dx * factor * radius).astype(np.float32)
    map_y = (cy + dy * factor * radius).astype(np.float32)
    return cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
