"""Opening PDF files (pikepdf) and rendering their pages (pypdfium2), with one clear error for
every file that cannot be read."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np

from leaktrace.errors import InputError

# How a user gives the password (leaktrace.config reads it; tests/test_layers.py checks the name).
PASSWORD_HINT = "--password or LEAKTRACE_PDF_PASSWORD"

# Pages are registered as renders at screen-like resolution: a 150-DPI screenshot of a letter
# page lands at the asset's own size, and huge drawings (A0 plots) stay below 2000 px so the
# registration and the stored render stay small.
RENDER_DPI = 150.0
MAX_RENDER_SIDE = 2000
MIN_RENDER_SIDE = 64


class PasswordRequiredError(InputError):
    """The PDF is encrypted and no (or a wrong) password was given."""


def open_pdf(data: bytes, name: str, password: str | None = None):
    """The document as a :class:`pikepdf.Pdf`, or an :class:`InputError` saying why not."""
    import pikepdf

    try:
        return pikepdf.open(io.BytesIO(data), password=password or "")
    except pikepdf.PasswordError:
        if password:
            raise PasswordRequiredError(
                f"{name}: the PDF password is wrong (set it with {PASSWORD_HINT})"
            ) from None
        raise PasswordRequiredError(
            f"{name}: the PDF is encrypted; give its password with {PASSWORD_HINT}"
        ) from None
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        raise InputError(f"{name}: not a readable PDF ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    # qpdf names the in-memory stream it read ("stream <_io.BytesIO object at 0x...>: ..."),
    # which says nothing to a user.
    text = re.sub(r"stream <[^>]*>:\s*", "", str(exc)).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def describe(exc: BaseException) -> str:
    """One line about a PDF library's exception, for an error message."""
    return _first_line(exc)


def render_scale(width_pt: float, height_pt: float) -> float:
    """Pixels per point for a page of this size (see RENDER_DPI)."""
    long_side = max(width_pt, height_pt, 1.0)
    scale = RENDER_DPI / 72.0
    scale = min(scale, MAX_RENDER_SIDE / long_side)
    return max(scale, MIN_RENDER_SIDE / long_side)


@dataclass(frozen=True)
class Render:
    """One page as displayed: RGB pixels and the points-to-pixels scale used."""

    index: int
    rgb: np.ndarray
    scale: float


def render_pages(
    data: bytes,
    name: str,
    password: str | None = None,
    *,
    scales: list[float] | None = None,
    first: int | None = None,
) -> list[Render]:
    """Every page (or the ``first`` few) rendered upright on white, at :func:`render_scale` or
    at the given scales (one per page rendered).

    pypdfium2 is not thread-safe: callers run renders in one thread per process.
    """
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PasswordRequiredError(
                f"{name}: the PDF is encrypted; give its password with {PASSWORD_HINT}"
            ) from None
        raise InputError(f"{name}: not a readable PDF ({_first_line(exc)})") from None
    renders = []
    try:
        count = len(document) if first is None else min(first, len(document))
        for index in range(count):
            page = document[index]
            width, height = page.get_size()
            scale = scales[index] if scales is not None else render_scale(width, height)
            bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255), rev_byteorder=True)
            pixels = bitmap.to_numpy()[..., :3].copy()
            renders.append(Render(index, pixels, scale))
            page.close()
    except pdfium.PdfiumError as exc:
        raise InputError(
            f"{name}: cannot render page {len(renders) + 1} ({_first_line(exc)})"
        ) from None
    finally:
        document.close()
    return renders
