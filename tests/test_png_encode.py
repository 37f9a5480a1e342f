"""Marked PNG copies at the faster zlib level: still valid PNG files that decode to exactly the
marked pixels, with the source's metadata, and no larger than a level-1 encode."""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

from leaktrace.media.image import files


def source_png(alpha: bool) -> bytes:
    rng = np.random.default_rng(3)
    drawing = np.full((240, 320, 4 if alpha else 3), 250, np.uint8)
    drawing[40:200:8, 20:300] = 20  # line art: thin dark rules on paper
    if alpha:
        drawing[..., 3] = rng.integers(0, 256, (240, 320), dtype=np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "bumper draft")
    buffer = io.BytesIO()
    Image.fromarray(drawing).save(buffer, "PNG", pnginfo=info, dpi=(300, 300))
    return buffer.getvalue()


def idat(data: bytes) -> bytes:
    """The concatenated IDAT payload of a PNG file."""
    pos, chunks = 8, []
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + size])
        pos += 12 + size
    return b"".join(chunks)


def test_marked_png_decodes_to_the_marked_pixels(tmp_path):
    for alpha in (False, True):
        loaded = files.load_image(source_png(alpha))
        rng = np.random.default_rng(4)
        delta = rng.integers(-2, 3, loaded.pixels.shape[:2], dtype=np.int16)[..., None]
        marked = np.clip(loaded.pixels.astype(np.int16) + delta, 0, 255).astype(np.uint8)
        encoded = files.encode_like(loaded, marked)
        with Image.open(io.BytesIO(encoded)) as im:
            im.verify()  # every chunk's CRC and the zlib stream
        again = files.load_image(encoded)
        assert again.format == "PNG"
        assert np.array_equal(again.pixels, marked)
        if alpha:
            assert np.array_equal(again.alpha, loaded.alpha)
        with Image.open(io.BytesIO(encoded)) as im:
            assert im.text["Title"] == "bumper draft"
            assert round(im.info["dpi"][0]) == 300
        raw = zlib.decompress(idat(encoded))
        assert len(idat(encoded)) < len(raw)  # compressed, not stored
        level1 = io.BytesIO()
        Image.open(io.BytesIO(encoded)).save(level1, "PNG", compress_level=1)
        assert len(idat(encoded)) <= len(idat(level1.getvalue()))
