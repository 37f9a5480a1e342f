"""What pdfium reads of a page's characters: their text, origins and boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def glyph_origins(
    data: bytes, page_index: int, password: str | None = None
) -> tuple[str, np.ndarray]:
    """The characters pdfium reads on a page and their origins.

    pdfium is not thread-safe: call this from one thread at a time (use processes to scale).

    Parameters
    ----------
    data : bytes
        The PDF file.
    page_index : int
        Zero-based page number.
    password : str or None
        The document's password, if it is encrypted.

    Returns
    -------
    chars : str
        One character per entry of pdfium's text page, in its order (generated spaces and line
        breaks included).
    origins : numpy.ndarray
        float64 ``(len(chars), 2)``: each character's origin in default user space (points,
        unrotated page).
    """
    glyphs = read_glyphs(data, page_index, password)
    return glyphs.chars, glyphs.origins


@dataclass(frozen=True)
class Glyphs:
    """What pdfium reads of a page's characters (see :func:`read_glyphs`)."""

    chars: str
    origins: np.ndarray  # (n, 2) default user space, NaN where pdfium has none
    boxes: np.ndarray  # (n, 4) left, bottom, right, top in user space, NaN where none
    # (2, 3) affine map from user space to the pixels of a render of ``device_size``, if asked
    to_device: np.ndarray | None


def read_glyphs(
    data: bytes,
    page_index: int,
    password: str | None = None,
    device_size: tuple[int, int] | None = None,
) -> Glyphs:
    """Every character pdfium reads on a page: text, origin, box, and optionally the map from
    user space to a render of ``device_size`` (width, height) pixels, the page's /Rotate and
    crop box included (pdfium's own ``FPDF_PageToDevice``, sampled at three points)."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    document = pdfium.PdfDocument(data, password=password)
    try:
        page = document[page_index]
        textpage = page.get_textpage()
        try:
            count = max(textpage.count_chars(), 0)
            origins = np.full((count, 2), math.nan)
            boxes = np.full((count, 4), math.nan)
            chars = []
            x, y = ctypes.c_double(), ctypes.c_double()
            left, right = ctypes.c_double(), ctypes.c_double()
            bottom, top = ctypes.c_double(), ctypes.c_double()
            for i in range(count):
                code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
                chars.append(chr(code) if 0 <= code <= 0x10FFFF else "\ufffd")
                if pdfium_c.FPDFText_GetCharOrigin(
                    textpage.raw, i, ctypes.byref(x), ctypes.byref(y)
                ):
                    origins[i] = (x.value, y.value)
                if pdfium_c.FPDFText_GetCharBox(
                    textpage.raw,
                    i,
                    ctypes.byref(left),
                    ctypes.byref(right),
                    ctypes.byref(bottom),
                    ctypes.byref(top),
                ):
                    boxes[i] = (left.value, bottom.value, right.value, top.value)
            to_device = None
            if device_size is not None:
                to_device = _device_map(pdfium_c, page, device_size)
        finally:
            textpage.close()
            page.close()
    finally:
        document.close()
    return Glyphs("".join(chars), origins, boxes, to_device)


def _device_map(pdfium_c: Any, page: Any, size: tuple[int, int]) -> np.ndarray:
    import ctypes

    # pdfium rounds device coordinates to whole pixels: sample far apart so that the rounding
    # is a negligible part of the map.
    span = 1000.0
    points = [(0.0, 0.0), (span, 0.0), (0.0, span)]
    device = []
    dx, dy = ctypes.c_int(), ctypes.c_int()
    for px, py in points:
        pdfium_c.FPDF_PageToDevice(
            page.raw, 0, 0, size[0], size[1], 0, ctypes.c_double(px), ctypes.c_double(py),
            ctypes.byref(dx), ctypes.byref(dy),
        )  # fmt: skip
        device.append((float(dx.value), float(dy.value)))
    origin = np.array(device[0])
    columns = (np.array(device[1]) - origin) / span, (np.array(device[2]) - origin) / span
    return np.column_stack([columns[0], columns[1], origin])
