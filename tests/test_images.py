"""Tests of leaktrace.media.image.files: real files built with Pillow in tmp_path."""

from __future__ import annotations

import io
import os
import struct
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, PngImagePlugin

from conftest import environment_missing, read_only_paths
from leaktrace.errors import (
    DecompressionBombError,
    InputError,
    OutputError,
    UnsupportedFormatError,
)
from leaktrace.fsutil import write_atomic
from leaktrace.media.image import files as images
from leaktrace.media.image.files import (
    LoadedImage,
    encode_like,
    load_display_rgb,
    load_image,
    sha256_bytes,
)
from leaktrace.media.image.orientation import from_display, to_display

# --------------------------------------------------------------------------------------------
# helpers


def smooth_rgb(rng: np.random.Generator, height: int = 96, width: int = 128) -> np.ndarray:
    """A photo-like image: smooth random colour fields plus a little texture."""
    coarse = rng.integers(0, 256, size=(height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))
    texture = rng.normal(0.0, 6.0, size=smooth.shape)
    return np.clip(smooth + texture, 0, 255).astype(np.uint8)


def real_photo() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return data.astronaut()


def save(path: Path, array: np.ndarray, fmt: str, **params: object) -> Path:
    Image.fromarray(array).save(path, format=fmt, **params)
    return path


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow will not write (16-bit RGB, absurd sizes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def orientation_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    return exif.tobytes()


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def has_heif_encoder() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()  # also Pillow's HEIF saver, whatever ran before
    return bool(pillow_heif.libheif_info().get("HEIF"))


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


# (format, save params, lossless?) for the round-trip tests
FORMATS = [
    ("JPEG", {"quality": 90}, False),
    ("PNG", {}, True),
    ("WEBP", {"quality": 80}, False),
    ("WEBP", {"lossless": True}, True),
    ("TIFF", {"compression": "raw"}, True),
    ("TIFF", {"compression": "tiff_lzw"}, True),
    ("TIFF", {"compression": "tiff_adobe_deflate"}, True),
    ("TIFF", {"compression": "packbits"}, True),
    ("TIFF", {"compression": "jpeg", "quality": 85}, False),
]
FORMAT_IDS = [
    f"{fmt}-{'-'.join(map(str, params.values())) or 'default'}" for fmt, params, _ in FORMATS
]


# --------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize(("fmt", "params", "lossless"), FORMATS, ids=FORMAT_IDS)
def test_round_trip_keeps_format_size_and_pixels(tmp_path, fmt, params, lossless):
    rng = np.random.default_rng(1)
    array = smooth_rgb(rng)
    path = save(tmp_path / f"src.{fmt.lower()}", array, fmt, **params)

    src = load_image(path)
    assert isinstance(src, LoadedImage)
    assert (src.format, src.mode, src.pixels.shape, src.pixels.dtype) == (
        fmt,
        "RGB",
        array.shape,
        np.uint8,
    )
    assert src.alpha is None and src.orientation == 1
    assert src.file_size == path.stat().st_size
    assert not src.pixels.flags.writeable

    marked = np.clip(src.pixels.astype(np.int16) + rng.integers(-2, 3, array.shape), 0, 255)
    out = encode_like(src, marked.astype(np.uint8))
    copy = load_image(out)
    assert (copy.format, copy.pixels.shape) == (fmt, array.shape)
    if lossless:
        np.testing.assert_array_equal(copy.pixels, marked)
    else:
        assert mad(copy.pixels, marked) < 3.0


@pytest.mark.parametrize(("fmt", "params", "lossless"), FORMATS, ids=FORMAT_IDS)
def test_encoding_is_deterministic(tmp_path, fmt, params, lossless):
    rng = np.random.default_rng(2)
    path = save(tmp_path / "src", smooth_rgb(rng), fmt, **params)
    src = load_image(path)
    pixels = np.clip(src.pixels.astype(np.int16) + rng.integers(-2, 3, src.pixels.shape), 0, 255)
    pixels = pixels.astype(np.uint8)
    first = encode_like(src, pixels)
    assert encode_like(src, pixels) == first
    assert encode_like(load_image(path), pixels) == first  # a fresh record, same bytes


def test_load_from_bytes_matches_load_from_path(tmp_path):
    rng = np.random.default_rng(3)
    path = save(tmp_path / "a.png", smooth_rgb(rng), "PNG")
    from_path, from_bytes = load_image(path), load_image(path.read_bytes())
    np.testing.assert_array_equal(from_path.pixels, from_bytes.pixels)
    assert from_path.file_size == from_bytes.file_size
    assert encode_like(from_path, from_path.pixels) == encode_like(from_bytes, from_bytes.pixels)


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("PNG", {}), ("JPEG", {"quality": 90}), ("TIFF", {"compression": "tiff_lzw"})],
)
def test_grayscale_stays_grayscale(tmp_path, fmt, params):
    rng = np.random.default_rng(4)
    gray = smooth_rgb(rng)[..., 1]
    src = load_image(save(tmp_path / "gray", gray, fmt, **params))
    assert src.mode == "L" and src.pixels.shape == gray.shape
    out = encode_like(src, src.pixels)
    assert Image.open(io.BytesIO(out)).mode == "L"
    assert load_image(out).pixels.ndim == 2


def test_bilevel_becomes_gray_and_is_written_as_gray(tmp_path):
    rng = np.random.default_rng(5)
    bits = rng.random((40, 64)) > 0.5
    path = tmp_path / "bits.png"
    Image.fromarray(bits).save(path)
    src = load_image(path)
    assert src.mode == "1"
    np.testing.assert_array_equal(src.pixels, np.where(bits, 255, 0))
    marked = np.clip(src.pixels.astype(np.int16) + rng.integers(-2, 3, bits.shape), 0, 255)
    out = encode_like(src, marked.astype(np.uint8))
    assert Image.open(io.BytesIO(out)).mode == "L"
    np.testing.assert_array_equal(load_image(out).pixels, marked)


def test_bilevel_tiff_with_ccitt_is_written_losslessly(tmp_path):
    rng = np.random.default_rng(6)
    path = tmp_path / "fax.tif"
    Image.fromarray(rng.random((32, 48)) > 0.5).save(path, compression="group4")
    src = load_image(path)
    marked = np.full(src.pixels.shape, 128, np.uint8)
    copy = Image.open(io.BytesIO(encode_like(src, marked)))
    assert copy.mode == "L" and copy.info["compression"] == "tiff_lzw"
    np.testing.assert_array_equal(np.asarray(copy), marked)


def test_palette_is_read_as_rgb_and_written_as_truecolor_png(tmp_path):
    rng = np.random.default_rng(7)
    array = smooth_rgb(rng)
    path = tmp_path / "pal.png"
    Image.fromarray(array).quantize(64).save(path)
    src = load_image(path)
    assert src.mode == "P" and src.pixels.shape == array.shape and src.alpha is None
    expected = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(src.pixels, expected)
    out = encode_like(src, src.pixels)
    assert Image.open(io.BytesIO(out)).mode == "RGB"


def test_palette_with_transparency_keeps_alpha(tmp_path):
    rng = np.random.default_rng(8)
    pal = Image.fromarray(smooth_rgb(rng)).quantize(16)
    path = tmp_path / "palt.png"
    pal.save(path, transparency=3)
    src = load_image(path)
    expected_alpha = np.where(np.asarray(pal) == 3, 0, 255)
    np.testing.assert_array_equal(src.alpha, expected_alpha)
    copy = Image.open(io.BytesIO(encode_like(src, src.pixels)))
    assert copy.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(copy)[..., 3], expected_alpha)


# --------------------------------------------------------------------------------------------
# metadata


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_bytes_and_orientation_are_kept(tmp_path, fmt):
    rng = np.random.default_rng(9)
    array = smooth_rgb(rng, 64, 96)  # not square: a rotation would show in the shape
    path = save(tmp_path / "o", array, fmt, exif=orientation_exif(6), quality=92)
    src = load_image(path)
    assert src.orientation == 6
    assert src.pixels.shape == array.shape  # stored orientation, not rotated
    out = encode_like(src, src.pixels)
    copy = Image.open(io.BytesIO(out))
    assert copy.info["exif"] == Image.open(path).info["exif"]
    assert copy.getexif()[0x0112] == 6 and copy.size == (96, 64)
    assert load_image(out).orientation == 6


def test_tiff_orientation_is_kept_in_stored_layout(tmp_path):
    rng = np.random.default_rng(10)
    array = smooth_rgb(rng, 64, 96)
    path = tmp_path / "o.tif"
    Image.fromarray(array).save(path, compression="tiff_lzw", tiffinfo={274: 6, 270: "a caption"})
    src = load_image(path)
    assert src.orientation == 6
    # Pillow's TIFF reader rotates on load; the record must hold the stored pixels anyway.
    np.testing.assert_array_equal(src.pixels, array)
    out = encode_like(src, src.pixels)
    copy = Image.open(io.BytesIO(out))
    assert copy.tag_v2[274] == 6 and copy.tag_v2[270] == "a caption"
    assert copy.info["compression"] == "tiff_lzw"
    np.testing.assert_array_equal(load_image(out).pixels, array)
    np.testing.assert_array_equal(load_display_rgb(out), to_display(array, 6))


def test_tiff_dpi_and_exif_subdirectory_kept_when_uncompressed(tmp_path):
    rng = np.random.default_rng(11)
    tags = {0x010F: "TestCam", 0x8769: {0x9003: "2024:05:06 07:08:09"}}
    path = tmp_path / "e.tif"
    Image.fromarray(smooth_rgb(rng)).save(path, dpi=(300, 300), tiffinfo=tags)
    src = load_image(path)
    copy = Image.open(io.BytesIO(encode_like(src, src.pixels)))
    assert copy.info["dpi"] == pytest.approx((300, 300))
    assert copy.getexif()[0x010F] == "TestCam"
    assert copy.getexif().get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("JPEG", {"quality": 90}),
        ("PNG", {}),
        ("WEBP", {"quality": 80}),
        ("WEBP", {"lossless": True}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ],
)
def test_icc_profile_is_kept(tmp_path, fmt, params):
    rng = np.random.default_rng(12)
    icc = srgb_icc()
    src = load_image(save(tmp_path / "icc", smooth_rgb(rng), fmt, icc_profile=icc, **params))
    out = encode_like(src, src.pixels)
    assert Image.open(io.BytesIO(out)).info["icc_profile"] == icc


@pytest.mark.parametrize(
    ("fmt", "params", "mode"),
    [
        ("PNG", {}, "RGBA"),
        ("PNG", {}, "LA"),
        ("WEBP", {"lossless": True}, "RGBA"),
        ("WEBP", {"quality": 90}, "RGBA"),
        ("TIFF", {"compression": "tiff_adobe_deflate"}, "RGBA"),
    ],
)
def test_alpha_is_kept_and_can_be_replaced(tmp_path, fmt, params, mode):
    rng = np.random.default_rng(13)
    rgb = smooth_rgb(rng)
    alpha = rng.integers(0, 256, rgb.shape[:2], dtype=np.uint8)
    color = rgb[..., :1] if mode == "LA" else rgb
    array = np.dstack((color, alpha))
    path = tmp_path / "a"
    if mode == "LA":  # Pillow does not infer LA from a two-channel array
        image = Image.merge("LA", (Image.fromarray(color[..., 0]), Image.fromarray(alpha)))
    else:
        image = Image.fromarray(array)
    image.save(path, format=fmt, **params)

    src = load_image(path)
    assert src.mode == mode
    np.testing.assert_array_equal(src.alpha, alpha)
    assert src.pixels.shape == (rgb.shape[:2] if mode == "LA" else rgb.shape)

    assert load_image(encode_like(src, src.pixels)).alpha.tolist() == alpha.tolist()
    new_alpha = (255 - alpha).astype(np.uint8)
    np.testing.assert_array_equal(
        load_image(encode_like(src, src.pixels, new_alpha)).alpha, new_alpha
    )


def test_png_text_dpi_and_colour_chunks_are_kept(tmp_path):
    rng = np.random.default_rng(14)
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "press kit")
    info.add_itxt("Description", "Grüße", "de", "Beschreibung")
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"sRGB", b"\x00")
    path = save(tmp_path / "t.png", smooth_rgb(rng), "PNG", pnginfo=info, dpi=(144, 144))
    copy = Image.open(io.BytesIO(encode_like(load_image(path), load_image(path).pixels)))
    copy.load()
    assert copy.text["Title"] == "press kit"
    assert copy.text["Description"] == "Grüße"
    assert copy.text["Description"].lang == "de"
    assert copy.info["dpi"] == pytest.approx((144, 144), abs=0.01)
    assert copy.info["gamma"] == pytest.approx(0.45455)
    assert copy.info["srgb"] == 0


def test_jpeg_comment_xmp_and_iptc_segments_are_kept(tmp_path):
    rng = np.random.default_rng(15)
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x07\x1c\x02x\x00\x03abc\x00"
    extra = b"\xff\xed" + struct.pack(">H", len(iptc) + 2) + iptc
    path = save(
        tmp_path / "c.jpg",
        smooth_rgb(rng),
        "JPEG",
        quality=88,
        comment=b"hello",
        xmp=b"<x:xmpmeta/>",
        extra=extra,
        dpi=(300, 300),
    )
    copy = Image.open(io.BytesIO(encode_like(load_image(path), load_image(path).pixels)))
    assert copy.info["comment"] == b"hello"
    assert copy.info["xmp"] == b"<x:xmpmeta/>"
    assert ("APP13", iptc) in copy.applist
    assert copy.info["dpi"] == (300, 300)


# --------------------------------------------------------------------------------------------
# JPEG settings and size


@pytest.mark.parametrize(
    ("quality", "subsampling", "progressive"),
    [(75, 2, False), (90, 0, False), (95, 1, False), (85, 2, True)],
)
def test_jpeg_tables_subsampling_and_progressive_are_kept(
    tmp_path, quality, subsampling, progressive
):
    rng = np.random.default_rng(16)
    path = save(
        tmp_path / "q.jpg",
        smooth_rgb(rng),
        "JPEG",
        quality=quality,
        subsampling=subsampling,
        progressive=progressive,
    )
    source = Image.open(path)
    src = load_image(path)
    copy = Image.open(io.BytesIO(encode_like(src, src.pixels)))
    assert copy.quantization == source.quantization
    assert JpegImagePlugin.get_sampling(copy) == subsampling
    assert bool(copy.info.get("progressive")) == progressive


@pytest.mark.parametrize("quality", [75, 90, 95])
@pytest.mark.parametrize("subsampling", [0, 2])
@pytest.mark.parametrize("optimize", [False, True])
def test_jpeg_size_of_a_marked_photo_stays_within_ten_percent(
    tmp_path, quality, subsampling, optimize
):
    rng = np.random.default_rng(17)
    path = save(
        tmp_path / "photo.jpg",
        real_photo(),
        "JPEG",
        quality=quality,
        subsampling=subsampling,
        optimize=optimize,
    )
    src = load_image(path)
    noise = rng.integers(-2, 3, src.pixels.shape)
    marked = np.clip(src.pixels.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    out = encode_like(src, marked)
    assert abs(len(out) / src.file_size - 1.0) <= 0.10
    assert mad(load_image(out).pixels, marked) < 2.5


def test_lossy_webp_quality_estimate_keeps_size_and_kind(tmp_path):
    rng = np.random.default_rng(18)
    path = save(tmp_path / "p.webp", real_photo(), "WEBP", quality=60)
    src = load_image(path)
    assert src.save_params["lossless"] is False
    out = encode_like(src, src.pixels)
    assert b"VP8 " in out[12:40] and b"VP8L" not in out[12:40]
    assert abs(len(out) / src.file_size - 1.0) <= 0.10
    noise = rng.integers(-2, 3, src.pixels.shape)
    marked = np.clip(src.pixels.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    assert abs(len(encode_like(src, marked)) / src.file_size - 1.0) <= 0.25


def test_mpo_primary_picture_is_marked_as_jpeg(tmp_path):
    rng = np.random.default_rng(19)
    first, second = Image.fromarray(smooth_rgb(rng)), Image.fromarray(smooth_rgb(rng))
    path = tmp_path / "multi.mpo"
    first.save(path, format="MPO", save_all=True, append_images=[second], quality=90)
    src = load_image(path)
    assert src.format == "JPEG"
    out = encode_like(src, src.pixels)
    copy = Image.open(io.BytesIO(out))
    assert copy.format == "JPEG" and getattr(copy, "n_frames", 1) == 1
    assert abs(len(out) / src.save_params["target_size"] - 1.0) <= 0.10


def test_heif_round_trip(tmp_path):
    if not has_heif_encoder():
        environment_missing("pillow-heif with an HEVC encoder needed")
    rng = np.random.default_rng(20)
    array = smooth_rgb(rng, 64, 96)
    icc = srgb_icc()
    path = save(
        tmp_path / "p.heic", array, "HEIF", quality=70, icc_profile=icc, exif=orientation_exif(1)
    )
    src = load_image(path)
    assert src.format == "HEIF" and src.pixels.shape == array.shape
    out = encode_like(src, src.pixels)
    assert out == encode_like(src, src.pixels)
    copy = Image.open(io.BytesIO(out))
    assert copy.format == "HEIF" and copy.info["icc_profile"] == icc
    assert mad(load_image(out).pixels, array) < 6
    assert load_display_rgb(out).shape == array.shape


# --------------------------------------------------------------------------------------------
# orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_to_display_matches_pillow_and_from_display_inverts_it(orientation):
    rng = np.random.default_rng(21)
    stored = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(image))
    np.testing.assert_array_equal(to_display(stored, orientation), expected)
    np.testing.assert_array_equal(to_display(stored[..., 0], orientation), expected[..., 0])
    for shape in [(5, 7), (5, 7, 2), (6, 6, 4)]:
        array = rng.integers(0, 256, shape, dtype=np.uint8)
        np.testing.assert_array_equal(
            from_display(to_display(array, orientation), orientation), array
        )
        np.testing.assert_array_equal(
            to_display(from_display(array, orientation), orientation), array
        )


def test_orientation_rejects_bad_values():
    rng = np.random.default_rng(22)
    array = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    for bad in (0, 9):
        with pytest.raises(ValueError, match="orientation"):
            to_display(array, bad)
        with pytest.raises(ValueError, match="orientation"):
            from_display(array, bad)
    with pytest.raises(ValueError, match="pixels"):
        to_display(array.ravel(), 1)


# --------------------------------------------------------------------------------------------
# bad input


def test_missing_and_empty_files(tmp_path):
    rng = np.random.default_rng(23)
    missing = tmp_path / f"missing-{rng.integers(1000)}.jpg"
    with pytest.raises(InputError, match="not found") as info:
        load_image(missing)
    assert str(missing) in str(info.value)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_image(empty)
    with pytest.raises(InputError, match="directory"):
        load_image(tmp_path)
    with pytest.raises(InputError):
        load_display_rgb(empty)


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", "jpg"), ("PNG", "png")])
def test_truncated_files_are_refused(tmp_path, fmt, suffix):
    rng = np.random.default_rng(24)
    whole = save(tmp_path / f"whole.{suffix}", rng.integers(0, 256, (128, 128, 3), np.uint8), fmt)
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match="cut") as info:
        load_image(cut)
    assert type(info.value) is InputError
    with pytest.raises(InputError):
        load_display_rgb(cut)


def test_text_file_named_jpg_is_refused(tmp_path):
    rng = np.random.default_rng(25)
    fake = tmp_path / "photo.jpg"
    fake.write_text("not an image " * int(rng.integers(5, 50)))
    with pytest.raises(InputError, match=r"photo\.jpg.*not an image"):
        load_image(fake)
    with pytest.raises(InputError, match="not an image"):
        load_display_rgb(fake)
    with pytest.raises(InputError):
        load_image(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())


def test_bomb_png_is_refused_from_its_header(tmp_path):
    rng = np.random.default_rng(26)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bytes(100_000, 100_000, 8, 2, bytes(rng.integers(0, 256, 64, np.uint8))))
    for loader in (load_image, load_display_rgb):
        tracemalloc.start()
        started = time.perf_counter()
        with pytest.raises(DecompressionBombError, match="bomb.png"):
            loader(bomb)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert elapsed < 1.0 and peak < 10_000_000


def test_own_pixel_limit_applies_before_decoding_and_no_warning_escapes(tmp_path):
    rng = np.random.default_rng(27)
    # 144 Mpx: above Pillow's warning threshold, below its error threshold.
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes(12_000, 12_000, 8, 0, bytes(rng.integers(0, 256, 16, np.uint8))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DecompressionBombError, match="max_pixels"):
            load_image(big, max_pixels=100_000_000)
        with pytest.raises(DecompressionBombError):
            load_display_rgb(big, max_pixels=100_000_000)
    small = save(tmp_path / "small.png", smooth_rgb(rng, 40, 40), "PNG")
    with pytest.raises(DecompressionBombError):
        load_image(small, max_pixels=1599)
    assert load_image(small, max_pixels=1600).pixels.shape == (40, 40, 3)


def test_unmarkable_but_readable_images_are_unsupported(tmp_path):
    rng = np.random.default_rng(28)
    rgb = smooth_rgb(rng, 32, 48)
    cases = {}
    cases["cmyk.jpg"] = lambda p: Image.fromarray(rgb).convert("CMYK").save(p, quality=95)
    cases["gray16.png"] = lambda p: Image.fromarray(
        rng.integers(0, 65536, (32, 48)).astype(np.uint16)
    ).save(p)
    rows = rng.integers(0, 65536, (32, 48 * 3)).astype(">u2")
    cases["rgb16.png"] = lambda p: p.write_bytes(
        png_bytes(48, 32, 16, 2, b"".join(b"\0" + row.tobytes() for row in rows))
    )
    frames = [Image.fromarray(smooth_rgb(rng, 32, 48)) for _ in range(3)]
    cases["anim.gif"] = lambda p: frames[0].save(p, save_all=True, append_images=frames[1:])
    cases["anim.png"] = lambda p: frames[0].save(p, save_all=True, append_images=frames[1:])
    cases["anim.webp"] = lambda p: frames[0].save(p, save_all=True, append_images=frames[1:])
    cases["pages.tif"] = lambda p: frames[0].save(p, save_all=True, append_images=frames[1:])
    cases["still.gif"] = lambda p: frames[0].save(p)
    cases["still.bmp"] = lambda p: frames[0].save(p)
    for name, make in cases.items():
        make(tmp_path / name)
        with pytest.raises(UnsupportedFormatError, match=name.replace(".", r"\.")):
            load_image(tmp_path / name)


def test_encode_like_rejects_mismatched_arrays(tmp_path):
    rng = np.random.default_rng(29)
    src = load_image(save(tmp_path / "a.png", smooth_rgb(rng, 40, 48), "PNG"))
    with pytest.raises(ValueError, match="pixels"):
        encode_like(src, src.pixels[:8])
    with pytest.raises(ValueError, match="pixels"):
        encode_like(src, src.pixels.astype(np.float32))
    with pytest.raises(ValueError, match="alpha"):
        encode_like(src, src.pixels, np.zeros((40, 48), np.uint8))


# --------------------------------------------------------------------------------------------
# load_display_rgb


def test_display_rgb_applies_orientation(tmp_path):
    rng = np.random.default_rng(30)
    array = smooth_rgb(rng, 48, 80)
    path = save(tmp_path / "o.jpg", array, "JPEG", exif=orientation_exif(8), quality=95)
    shown = load_display_rgb(path)
    assert shown.shape == (80, 48, 3) and shown.dtype == np.uint8
    np.testing.assert_array_equal(shown, to_display(load_image(path).pixels, 8))
    np.testing.assert_array_equal(shown, np.asarray(ImageOps.exif_transpose(Image.open(path))))


def test_display_rgb_converts_deep_gray_and_cmyk(tmp_path):
    rng = np.random.default_rng(31)
    gray16 = rng.integers(0, 65536, (20, 30)).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "g16.png")
    shown = load_display_rgb(tmp_path / "g16.png")
    expected = np.rint(gray16 / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(shown, np.repeat(expected[..., None], 3, axis=2))

    rgb16 = rng.integers(0, 65536, (20, 30 * 3)).astype(">u2")
    rows = b"".join(b"\0" + row.tobytes() for row in rgb16)
    shown = load_display_rgb(png_bytes(30, 20, 16, 2, rows))
    assert np.max(np.abs(shown.astype(int) - rgb16.reshape(20, 30, 3) / 257.0)) <= 1.0

    rgb = smooth_rgb(rng, 32, 48)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert mad(load_display_rgb(tmp_path / "c.jpg"), rgb) < 4.0

    gray = rgb[..., 0]
    save(tmp_path / "g.png", gray, "PNG")
    np.testing.assert_array_equal(load_display_rgb(tmp_path / "g.png"), np.dstack([gray] * 3))


def test_display_rgb_composites_alpha_on_white(tmp_path):
    rng = np.random.default_rng(32)
    rgba = rng.integers(0, 256, (16, 24, 4), dtype=np.uint8)
    save(tmp_path / "a.png", rgba, "PNG")
    a = rgba[..., 3:].astype(np.int32)
    expected = (rgba[..., :3] * a + 255 * (255 - a) + 127) // 255
    np.testing.assert_array_equal(load_display_rgb(tmp_path / "a.png"), expected)

    la = Image.merge("LA", (Image.fromarray(rgba[..., 0]), Image.fromarray(rgba[..., 3])))
    la.save(tmp_path / "la.png")
    gray = (rgba[..., 0].astype(np.int32) * a[..., 0] + 255 * (255 - a[..., 0]) + 127) // 255
    np.testing.assert_array_equal(load_display_rgb(tmp_path / "la.png"), np.dstack([gray] * 3))


def test_display_rgb_reads_palette_gif_first_frame_bmp_and_webp(tmp_path):
    rng = np.random.default_rng(33)
    colours = rng.integers(0, 256, (3, 3), dtype=np.uint8)
    frames = [Image.new("RGB", (20, 10), tuple(int(v) for v in c)) for c in colours]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=50)
    shown = load_display_rgb(tmp_path / "a.gif")
    assert shown.shape == (10, 20, 3)
    np.testing.assert_array_equal(
        shown[5, 5], np.asarray(Image.open(tmp_path / "a.gif").convert("RGB"))[5, 5]
    )
    assert np.abs(shown.astype(int) - colours[0]).max() <= 8  # GIF palettes may quantise

    rgb = smooth_rgb(rng, 20, 30)
    Image.fromarray(rgb).quantize(32).save(tmp_path / "p.png")
    np.testing.assert_array_equal(
        load_display_rgb(tmp_path / "p.png"),
        np.asarray(Image.open(tmp_path / "p.png").convert("RGB")),
    )
    save(tmp_path / "b.bmp", rgb, "BMP")
    np.testing.assert_array_equal(load_display_rgb(tmp_path / "b.bmp"), rgb)
    save(tmp_path / "w.webp", rgb, "WEBP", lossless=True)
    np.testing.assert_array_equal(load_display_rgb((tmp_path / "w.webp").read_bytes()), rgb)


# --------------------------------------------------------------------------------------------
# files


def test_write_atomic_writes_and_replaces(tmp_path):
    rng = np.random.default_rng(34)
    target = tmp_path / "out.jpg"
    first, second = rng.bytes(1000), rng.bytes(2000)
    write_atomic(target, first)
    assert target.read_bytes() == first
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == 0o666 & ~umask  # like any new file
    os.chmod(target, 0o640)
    with open(target, "rb") as reader:  # a reader of the old file keeps reading the old file
        write_atomic(str(target), second)
        assert reader.read() == first
    assert target.read_bytes() == second
    assert (target.stat().st_mode & 0o777) == 0o640  # an existing file keeps its permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]

    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(OutputError, match="a-folder"):
        write_atomic(folder, first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "out.jpg"]


def test_write_atomic_failures_leave_nothing_behind(tmp_path, monkeypatch):
    rng = np.random.default_rng(35)
    data = rng.bytes(500)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_bytes(b"x")
    for bad in (not_a_folder / "out.png", tmp_path / "missing" / "out.png"):
        with pytest.raises(OutputError, match="out.png"):
            write_atomic(bad, data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]

    # A full disk: the old file stays whole and the temporary file goes away.
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(images.os, "fsync", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        write_atomic(target, data)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "keep.png"]


def test_write_atomic_into_read_only_folder(tmp_path):
    rng = np.random.default_rng(36)
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "kept.png").write_bytes(b"old")
    with read_only_paths(folder):
        with pytest.raises(OutputError, match="out.png"):
            write_atomic(folder / "out.png", rng.bytes(10))
        with pytest.raises(OutputError, match="kept.png"):
            write_atomic(folder / "kept.png", rng.bytes(10))
    assert sorted(p.name for p in folder.iterdir()) == ["kept.png"]
    assert (folder / "kept.png").read_bytes() == b"old"


def test_sha256_bytes_golden():
    rng = np.random.default_rng(37)
    assert sha256_bytes(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    data = rng.bytes(64)
    assert sha256_bytes(data) == sha256_bytes(bytearray(data))
