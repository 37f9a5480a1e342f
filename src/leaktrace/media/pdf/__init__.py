"""PDF documents: every recipient's copy carries keyed marks, and a leaked PDF file, page
screenshot or page photo is traced back to the copy it came from.

Importing this package loads no PDF library: :mod:`leaktrace.media.pdf.document` does, on first
use.
"""

from __future__ import annotations

from pathlib import Path

from leaktrace.media.signatures import looks_like_pdf

__all__ = ["PDF_SUFFIXES", "PdfMedium", "looks_like_pdf"]

PDF_SUFFIXES = frozenset({".pdf"})


def _page_picture(session, located, leak_luma, rasters):
    from leaktrace.media.pdf.reading import page_picture_view

    return page_picture_view(session, located, leak_luma, rasters)


class PdfMedium:
    """The PDF medium. Its pages are registered as rasters of kind ``pdf-page``, so a picture
    of a page is read by the image medium, with :func:`_page_picture` adding the word shifts."""

    name = "pdf"
    mark_suffixes = PDF_SUFFIXES
    leak_suffixes = PDF_SUFFIXES
    views = {"pdf-page": _page_picture}

    def claims(self, path: Path, data: bytes) -> bool:
        return looks_like_pdf(data)

    def read(self, session, path: Path, data: bytes):
        from leaktrace.media.pdf.identify import read_pdf

        return read_pdf(session, path, data)

    def prepare(self, registry, path: Path, data: bytes, password: str | None = None):
        from leaktrace.media.pdf.marking import prepare

        return prepare(registry, path, data, password)

    def picture(self, path: Path, data: bytes):
        """The leaked PDF's first page, as the report shows it."""
        from leaktrace.media.pdf.document import render_pages

        return render_pages(data, str(path), first=1)[0].rgb
