"""What a file is, by its first bytes: every medium claims its files by content, not by name."""

from __future__ import annotations

__all__ = ["looks_like_pdf"]


def looks_like_pdf(data: bytes) -> bool:
    """Readers accept a PDF header anywhere in the first 1024 bytes, so do we."""
    return b"%PDF-" in data[:1024]
