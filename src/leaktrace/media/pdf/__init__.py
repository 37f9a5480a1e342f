"""PDF documents: every recipient's copy carries keyed marks, and a leaked PDF file, page
screenshot or page photo is traced back to the copy it came from.

Importing this package loads no PDF library: :mod:`leaktrace.media.pdf.document` does, on first use.
"""

PDF_SUFFIXES = frozenset({".pdf"})


def looks_like_pdf(data: bytes) -> bool:
    """Readers accept a PDF header anywhere in the first 1024 bytes, so do we."""
    return b"%PDF-" in data[:1024]
