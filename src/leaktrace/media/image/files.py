"""Raster images to arrays, and back to a file that looks like its source.

A marked copy differs from its source by a few gray levels; everything else (format, metadata,
encoder settings, about the file size) should be the source's. Pixels stay in the file's stored
orientation; :func:`load_display_rgb` is the forgiving reader for leaked files.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import struct
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin, PngImagePlugin, TiffImagePlugin, UnidentifiedImageError

from leaktrace.errors import (
    DecompressionBombError,
    InputError,
    LeaktraceError,
    OutputError,
    UnsupportedFormatError,
)
from leaktrace.media.image.orientation import from_display, to_display
from leaktrace.media.signatures import looks_like_pdf

MAX_PIXELS_DEFAULT = 200_000_000
MARKABLE_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "HEIF")
# zlib level of marked PNG copies (lossless at every level). Pillow's default, 6, spent 1.0 s
# of a 4-megapixel copy's 1.13 s; 3 encodes 2-3x as fast for 13-21 % larger files, and 1-2
# save little more time for 21-39 % more bytes (benchmarks/batch_speed.py, png section).
PNG_COMPRESS_LEVEL = 3
# The keyed pattern's grid needs this many pixels on each side (watermark.pattern.layout_for).
MIN_MARKABLE_SIDE = 32  # identify refuses leaks smaller than this: never mark what cannot be read

_ORIENTATION_TAG = 0x0112
_DEEP_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
# fmt: off
_MARKABLE_MODES = frozenset({"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX",
                             "YCbCr"})
# Descriptive TIFF tags copied to the copy; structural ones (strips, bit depth, photometric ...)
# are the encoder's business and copying them could contradict the pixels it writes.
_TIFF_KEEP_TAGS = (269, 270, 271, 272, 274, 282, 283, 285, 296, 305, 306, 315, 316, 700, 33432,
                   33723, 34377)
_TIFF_SUB_IFDS = (0x8769, 0x8825)  # EXIF and GPS
_TIFF_WRITABLE = frozenset({"raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg", "lzma",
                            "zstd", "webp"})
# Bit-length counts of the example Huffman tables of ITU T.81 Annex K, which encoders use unless
# asked to optimise. Matching counts is enough: optimised tables almost never reproduce them.
_STANDARD_HUFFMAN_COUNTS = frozenset({
    (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0),
    (0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0),
    (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D),
    (0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77),
})
# fmt: on
# Within this relative size difference the first JPEG encode is kept without trying the other
# Huffman setting: one encode per copy is the common case.
_JPEG_SIZE_SLACK = 0.03

Source = str | os.PathLike[str] | bytes


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image and what is needed to write a copy that looks like it.

    Attributes
    ----------
    format : str
        Pillow format name: JPEG (MPO files too), PNG, WEBP, TIFF or HEIF.
    mode : str
        The source's Pillow mode (``"RGB"``, ``"RGBA"``, ``"L"``, ``"LA"``, ``"P"``, ``"1"`` ...).
    pixels : numpy.ndarray
        Read-only uint8, ``H x W x 3`` RGB or ``H x W`` gray, in the stored orientation.
    alpha : numpy.ndarray or None
        Read-only uint8 ``H x W`` alpha, or None when the source has no transparency.
    orientation : int
        EXIF orientation 1..8 (1 when absent or invalid).
    save_params : dict
        Private: what :func:`encode_like` needs to imitate the source.
    file_size : int
        Size of the source file in bytes.
    """

    format: str
    mode: str
    pixels: np.ndarray = field(repr=False)
    alpha: np.ndarray | None = field(repr=False)
    orientation: int
    save_params: dict[str, Any] = field(repr=False)
    file_size: int


def load_image(
    source: Source, *, max_pixels: int = MAX_PIXELS_DEFAULT, name: str | None = None
) -> LoadedImage:
    """Decode an image that is to be marked.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        Path of the file, or its content.
    max_pixels : int, optional
        Largest accepted ``width * height``, checked from the header before decoding.
    name : str, optional
        What error messages call the file when ``source`` is its content.

    Raises
    ------
    leaktrace.errors.InputError
        Missing, empty, truncated, corrupt or unrecognised file. Subclasses:
        ``DecompressionBombError`` above ``max_pixels``; ``UnsupportedFormatError`` for readable
        files that cannot be marked (other formats, more than 8 bits, CMYK, several frames).
    """
    data, name = _read_source(source, name)
    im = _open_checked(data, name, max_pixels)
    with _decoding(name):  # n_frames may have to parse further than the header
        problem = _why_unmarkable(im, data)
    if problem:
        raise UnsupportedFormatError(f"{name}: {problem}")
    fmt, mode = "JPEG" if im.format == "MPO" else str(im.format), im.mode
    with _decoding(name):
        # Read before load(): Pillow's TIFF reader rotates by the tag and then deletes it.
        orientation = _read_orientation(im)
        save_params = _FORMATS[fmt][0](im, data)
        # After the format's own reader: PNG may keep its eXIf chunk after the pixel data.
        common = ("exif", "icc_profile", "xmp")
        save_params = {**{key: im.info.get(key) or None for key in common}, **save_params}
        im.load()
        pixels, alpha = _split_alpha(im)
    if orientation != _read_orientation(im):
        # The decoder applied the orientation itself: go back to the stored layout.
        pixels = from_display(pixels, orientation)
        alpha = None if alpha is None else from_display(alpha, orientation)
    for array in (pixels, alpha):
        if array is not None:
            array.setflags(write=False)
    return LoadedImage(fmt, mode, pixels, alpha, orientation, save_params, len(data))


def load_display_rgb(
    source: Source, *, max_pixels: int = MAX_PIXELS_DEFAULT, name: str | None = None
) -> np.ndarray:
    """Decode any readable image (a leaked file) as upright uint8 ``H x W x 3`` RGB.

    JPEG, PNG, WebP, TIFF, GIF (first frame), BMP, HEIF and whatever else Pillow reads. The EXIF
    orientation is applied; alpha is composited on white; grayscale, palette, CMYK and 16-bit
    images are converted. Parameters and errors are those of :func:`load_image`.
    """
    data, name = _read_source(source, name)
    im = _open_checked(data, name, max_pixels)
    with _decoding(name):
        im.load()
        # Read after load(): decoders that rotate by themselves (TIFF, HEIF) drop the tag.
        orientation = _read_orientation(im)
        rgb = _display_array(im, name)
    return to_display(rgb, orientation)


def _read_source(source: Source, label: str | None = None) -> tuple[bytes, str]:
    """The file's bytes and the name errors should use (``label`` names bytes read elsewhere)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data, name = bytes(source), label or "<bytes>"
    elif isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        try:
            with open(name, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise InputError(f"{name}: file not found") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    else:
        raise TypeError(f"source must be a path or bytes, not {type(source).__name__}")
    if not data:
        raise InputError(f"{name}: file is empty")
    return data, name


@contextlib.contextmanager
def _decoding(name: str) -> Iterator[None]:
    """Turn whatever a decoder raises into one :class:`InputError` naming the file."""
    try:
        with warnings.catch_warnings():
            # Bomb warnings: we check sizes ourselves. Metadata warnings are not actionable for
            # a caller, and real damage raises instead.
            warnings.simplefilter("ignore", RuntimeWarning)  # DecompressionBombWarning too
            warnings.simplefilter("ignore", UserWarning)
            yield
    except LeaktraceError:
        raise
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(f"{name}: refusing to decode a possible bomb ({exc})") from exc
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image, or in a format leaktrace cannot read") from None
    except Exception as exc:
        raise InputError(f"{name}: truncated or corrupt image ({exc})") from exc


def _open_checked(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse images larger than ``max_pixels``."""
    _register_heif()
    try:
        with _decoding(name):
            im = Image.open(io.BytesIO(data))
    except InputError:
        if looks_like_pdf(data):  # Pillow cannot read one
            raise UnsupportedFormatError(
                f"{name}: is a PDF, not an image; mark and identify read PDFs as documents"
            ) from None
        raise
    width, height = im.size
    if width * height > max_pixels:
        raise DecompressionBombError(
            f"{name}: {width} x {height} = {width * height:,} pixels exceeds the limit of "
            f"{max_pixels:,} (max_pixels); refusing to decode it"
        )
    return im


@functools.cache
def _register_heif() -> None:
    """Let Pillow open HEIF/HEIC files when pillow-heif is installed (once per process)."""
    with contextlib.suppress(ImportError):
        import pillow_heif

        pillow_heif.register_heif_opener()


def _why_unmarkable(im: Image.Image, data: bytes) -> str | None:
    fmt, mode = "JPEG" if im.format == "MPO" else im.format, im.mode
    if fmt not in MARKABLE_FORMATS:
        return f"{im.format} files cannot be marked (JPEG, PNG, WebP, TIFF and HEIF can)"
    # MPO secondary pictures are previews of the primary one; only the primary is written.
    if fmt != "JPEG" and getattr(im, "n_frames", 1) > 1:
        return f"animated or multi-page {fmt} files cannot be marked; extract one frame first"
    deep = mode in _DEEP_MODES
    # Pillow silently reduces some 16-bit files to 8 bits (RGB PNG, TIFF): ask the header.
    if fmt == "PNG" and data[12:16] == b"IHDR":
        deep = deep or data[24] > 8
    elif fmt == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        deep = deep or max(bits if isinstance(bits, tuple) else (bits,)) > 8
    elif fmt == "HEIF":
        deep = deep or int(im.info.get("bit_depth", 8)) > 8
    if deep:
        return "more than 8 bits per sample cannot be marked; save an 8-bit copy first"
    if mode == "CMYK":
        return "CMYK images cannot be marked; convert to RGB first"
    if min(im.size) < MIN_MARKABLE_SIDE:
        size, least = f"{im.width} x {im.height}", MIN_MARKABLE_SIDE
        return f"{size} pixels is too small to mark: it needs at least {least} on each side"
    return None if mode in _MARKABLE_MODES else f"pixel mode {mode} cannot be marked"


def _read_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:
        return 1  # unreadable EXIF: treat as upright rather than refuse the pixels
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _split_alpha(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (pixels, alpha) of a loaded image of a markable mode."""
    mode, transparent = im.mode, "transparency" in im.info
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if mode == "PA" or transparent else "RGB")
    elif mode in ("1", "L", "La"):
        im = im.convert("LA" if transparent or mode == "La" else "L")
    elif mode in ("RGB", "RGBa", "RGBX", "YCbCr"):
        im = im.convert("RGBA" if transparent or mode == "RGBa" else "RGB")
    array = np.array(im, dtype=np.uint8)
    if im.mode == "LA":
        return array[..., 0].copy(), array[..., 1].copy()
    if im.mode == "RGBA":
        return np.ascontiguousarray(array[..., :3]), array[..., 3].copy()
    return array, None


def _display_array(im: Image.Image, name: str) -> np.ndarray:
    mode = im.mode
    if mode in _DEEP_MODES:
        values = np.asarray(im).astype(np.float64)
        peak = float(values.max()) if values.size else 0.0
        if mode == "F" and peak <= 1.0:
            values = values * 255.0  # float images are usually normalised to [0, 1]
        elif mode.startswith("I;16") or peak > 255.0:
            values = values / 257.0  # 65535 -> 255 exactly
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    # CMYK: Pillow's plain conversion; identify's photometric fit absorbs what a colour-managed
    # one would do differently.
    if mode in ("RGB", "L", "CMYK"):
        return np.array(im.convert("RGB"), dtype=np.uint8)
    try:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint16)
    except ValueError as exc:
        raise UnsupportedFormatError(f"{name}: pixel mode {mode} has no RGB meaning") from exc
    alpha = rgba[..., 3:]
    # Composite on white, rounded: what a browser shows on a white page.
    return ((rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _jpeg_params(im: Image.Image, data: bytes) -> dict[str, Any]:
    standard_huffman = _standard_huffman(data)
    progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    tables = getattr(im, "quantization", None) or {}
    target = len(data)
    with contextlib.suppress(Exception):  # in an MPO file the primary picture comes first
        target = int(im.mpinfo[0xB002][0]["Size"])  # type: ignore[attr-defined]
    return {
        "qtables": [list(tables[key]) for key in sorted(tables)] or None,
        "subsampling": JpegImagePlugin.get_sampling(im),
        "progressive": progressive,
        # libjpeg always optimises progressive files; baseline ones only when asked to.
        "optimize": progressive or not standard_huffman,
        "comment": im.info.get("comment") or None,
        "dpi": im.info.get("dpi") if im.info.get("jfif_unit") in (1, 2) else None,
        "extra": _jpeg_extra_segments(getattr(im, "applist", [])),
        "target_size": target,
    }


def _standard_huffman(data: bytes) -> bool:
    """Tell from the JPEG markers whether all Huffman tables are the standard ones."""
    standard, pos = True, 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the header is over
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xC4:
            i = 0
            while i + 17 <= len(segment):
                counts = tuple(segment[i + 1 : i + 17])
                standard = standard and counts in _STANDARD_HUFFMAN_COUNTS
                i += 17 + sum(counts)
        pos += 2 + length
    return standard


def _jpeg_extra_segments(applist: list[tuple[str, bytes]]) -> bytes | None:
    """Raw APPn segments that Pillow does not write itself (IPTC, FlashPix, vendor data)."""
    out = bytearray()
    for marker_name, payload in applist:
        n = int(marker_name[3:]) if marker_name.startswith("APP") else -1
        # Skipped: JFIF (written by the encoder), Adobe (its colour-transform flag must match
        # the new encoder's), MPF (offsets of pictures the copy does not carry), and what
        # Pillow writes from save_params (EXIF, XMP, ICC).
        if n in (-1, 0, 14) or len(payload) > 65533:
            continue
        if n == 1 and payload.startswith((b"Exif\0\0", b"http://ns.adobe.com/xap/1.0/\0")):
            continue
        if n == 2 and payload.startswith((b"ICC_PROFILE\0", b"MPF\0")):
            continue
        out += bytes((0xFF, 0xE0 + n)) + struct.pack(">H", len(payload) + 2) + payload
    return bytes(out) or None


def _png_params(im: Image.Image, data: bytes) -> dict[str, Any]:
    info, text = im.info, []
    for key, value in getattr(im, "text", {}).items():
        international = isinstance(value, PngImagePlugin.iTXt)
        lang, tkey = (value.lang or "", value.tkey or "") if international else ("", "")
        text.append((key, str(value), lang, tkey, international))
    # Colour chunks change how viewers render the pixels, so they must survive.
    chunks = []
    if "gamma" in info:
        chunks.append((b"gAMA", struct.pack(">I", round(info["gamma"] * 100000))))
    if "chromaticity" in info:
        values = (round(v * 100000) for v in info["chromaticity"])
        chunks.append((b"cHRM", struct.pack(">8I", *values)))
    if "srgb" in info:
        chunks.append((b"sRGB", bytes((int(info["srgb"]),))))
    return {"text": text, "chunks": chunks, "dpi": info.get("dpi")}


def _webp_params(im: Image.Image, data: bytes) -> dict[str, Any]:
    # The RIFF chunks tell: a VP8L bitstream is lossless, VP8 is lossy.
    pos = 12
    while pos + 8 <= len(data) and data[pos : pos + 4] not in (b"VP8L", b"VP8 "):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    lossless = data[pos : pos + 4] == b"VP8L"
    return {"lossless": lossless, "quality": None}


def _tiff_params(im: Image.Image, data: bytes) -> dict[str, Any]:
    # Called before load(): Pillow's TIFF reader deletes the orientation tag once it has rotated.
    source_compression = im.info.get("compression") or "raw"
    compression = {"tiff_jpeg": "jpeg", "tiff_deflate": "tiff_adobe_deflate"}.get(
        source_compression, source_compression
    )
    if compression not in _TIFF_WRITABLE:
        compression = "tiff_lzw"  # CCITT codecs are bilevel: they cannot hold a mark
    ifd, sub_ifds = im.tag_v2, {}
    # Pillow writes EXIF/GPS sub-directories only without compression (not through libtiff).
    if compression == "raw":
        exif = im.getexif()
        sub_ifds = {tag: dict(exif.get_ifd(tag)) for tag in _TIFF_SUB_IFDS if tag in exif}
    return {
        "compression": compression,
        "quality": None,
        "tiff_tags": {
            tag: (ifd[tag], ifd.tagtype.get(tag)) for tag in _TIFF_KEEP_TAGS if tag in ifd
        },
        "tiff_sub_ifds": {tag: values for tag, values in sub_ifds.items() if values},
    }


def _heif_params(im: Image.Image, data: bytes) -> dict[str, Any]:
    # libheif applies the container's rotation on decode and pillow-heif resets the EXIF
    # orientation to 1: the decoded pixels are upright and are written as such.
    return {"chroma": im.info.get("chroma"), "quality": None}


def encode_like(source: LoadedImage, pixels: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """Encode new pixels with the source's format, settings and metadata; deterministic.

    Parameters
    ----------
    source : LoadedImage
        The record returned by :func:`load_image`.
    pixels : numpy.ndarray
        uint8, the shape of ``source.pixels`` (stored orientation).
    alpha : numpy.ndarray, optional
        uint8 ``H x W``; defaults to the source's. Only for sources with alpha.

    Raises
    ------
    ValueError
        ``pixels`` or ``alpha`` do not fit the source.
    leaktrace.errors.OutputError
        The encoder refused the data.
    """
    if source.alpha is None and alpha is not None:
        raise ValueError("alpha given, but the source image has no alpha channel")
    alpha = source.alpha if alpha is None else alpha
    for label, array, like in (("pixels", pixels, source.pixels), ("alpha", alpha, source.alpha)):
        if like is not None and (
            np.shape(array) != like.shape or np.asarray(array).dtype != np.uint8
        ):
            raise ValueError(f"{label} must be uint8 with shape {like.shape} like the source's")
    image = _to_pil(np.asarray(pixels), None if alpha is None else np.asarray(alpha))
    try:
        return _FORMATS[source.format][1](image, source)
    except LeaktraceError:
        raise
    except Exception as exc:
        raise OutputError(
            f"could not encode the copy as {source.format} ({type(exc).__name__}: {exc})"
        ) from exc


def _to_pil(pixels: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    pixels = np.ascontiguousarray(pixels)
    if alpha is None:
        return Image.fromarray(pixels)
    if pixels.ndim == 2:  # Pillow does not infer LA from a two-channel array
        return Image.merge("LA", (Image.fromarray(pixels), Image.fromarray(np.array(alpha))))
    return Image.fromarray(np.ascontiguousarray(np.dstack((pixels, alpha))))


def _save(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **{k: v for k, v in params.items() if v is not None})
    return buffer.getvalue()


def _encode_jpeg(image: Image.Image, source: LoadedImage) -> bytes:
    p = source.save_params
    keys = ("exif", "icc_profile", "xmp", "comment", "dpi", "extra", "qtables")
    params = {key: p[key] for key in keys}
    params["progressive"] = p["progressive"] or None
    if image.mode == "RGB" and p["subsampling"] >= 0:
        params["subsampling"] = p["subsampling"]
    target = p["target_size"]
    first = _save(image, "JPEG", optimize=p["optimize"], **params)
    if abs(len(first) - target) <= _JPEG_SIZE_SLACK * target or p["progressive"]:
        return first
    # The mark adds entropy; optimised Huffman tables win back a few percent (and plain ones
    # cost a few), which keeps the copy's size close to the source's.
    second = _save(image, "JPEG", optimize=not p["optimize"], **params)
    return min((first, second), key=lambda data: abs(len(data) - target))


def _encode_png(image: Image.Image, source: LoadedImage) -> bytes:
    p, info = source.save_params, PngImagePlugin.PngInfo()
    for key, value, lang, tkey, international in p["text"]:
        if international:
            info.add_itxt(key, value, lang, tkey)
        else:
            info.add_text(key, value)
    for chunk_type, chunk_data in p["chunks"]:
        info.add(chunk_type, chunk_data)
    metadata = {key: p[key] for key in ("dpi", "icc_profile", "exif")}
    return _save(image, "PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL, **metadata)


def _encode_webp(image: Image.Image, source: LoadedImage) -> bytes:
    p = source.save_params
    meta = {key: p[key] for key in ("exif", "icc_profile", "xmp")}
    if p["lossless"]:
        # exact: keep the colour under fully transparent pixels, as the source had it.
        return _save(image, "WEBP", lossless=True, exact=True, **meta)
    quality = _quality_for(source, lambda im, q: _save(im, "WEBP", quality=q, **meta))
    return _save(image, "WEBP", quality=quality, **meta)


def _encode_tiff(image: Image.Image, source: LoadedImage) -> bytes:
    p, ifd = source.save_params, TiffImagePlugin.ImageFileDirectory_v2()
    for tag, (value, tagtype) in p["tiff_tags"].items():
        ifd[tag] = value
        if tagtype is not None:
            ifd.tagtype[tag] = tagtype
    for tag, sub_ifd in p["tiff_sub_ifds"].items():
        ifd[tag] = sub_ifd
    params = {"compression": p["compression"], "tiffinfo": ifd, "icc_profile": p["icc_profile"]}
    if p["compression"] == "jpeg":
        encode = functools.partial(_save, fmt="TIFF", **params)
        params["quality"] = _quality_for(source, lambda im, q: encode(im, quality=q))
    return _save(image, "TIFF", **params)


def _encode_heif(image: Image.Image, source: LoadedImage) -> bytes:
    p = source.save_params
    meta = {key: p[key] for key in ("exif", "icc_profile", "xmp", "chroma")}
    quality = _quality_for(source, lambda im, q: _save(im, "HEIF", quality=q, **meta))
    return _save(image, "HEIF", quality=quality, **meta)


_FORMATS: dict[str, tuple[Callable[[Image.Image, bytes], dict[str, Any]], Callable[..., bytes]]] = {
    "JPEG": (_jpeg_params, _encode_jpeg),
    "PNG": (_png_params, _encode_png),
    "WEBP": (_webp_params, _encode_webp),
    "TIFF": (_tiff_params, _encode_tiff),
    "HEIF": (_heif_params, _encode_heif),
}


def _quality_for(source: LoadedImage, encode: Callable[[Image.Image, int], bytes]) -> int:
    """Estimate the quality setting of a lossy source whose file does not record it.

    Bisect the setting at which re-encoding the source's own pixels gives the source's file
    size. Decoded pixels compress a little better than the originals, so the estimate errs
    towards higher quality. Cached in ``save_params``: every copy of a source uses the same.
    """
    if (cached := source.save_params.get("quality")) is not None:
        return int(cached)
    image, target, sizes = _to_pil(source.pixels, source.alpha), source.file_size, {}
    low, high = 1, 100
    while high - low > 1:
        middle = (low + high) // 2
        sizes[middle] = len(encode(image, middle))
        low, high = (middle, high) if sizes[middle] < target else (low, middle)
    quality = min(sizes, key=lambda q: (abs(sizes[q] - target), -q))
    source.save_params["quality"] = quality
    return quality


def sha256_bytes(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()
