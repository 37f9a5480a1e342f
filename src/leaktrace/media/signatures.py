"""What a file is, by its first bytes: every medium claims its files by content, not by name."""

from __future__ import annotations

__all__ = ["looks_like_pdf", "looks_like_video"]

# ISO base media files whose major brand is a still picture (HEIF, AVIF): images, not videos.
_PICTURE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif"})
# Top-level boxes a QuickTime file may begin with instead of ``ftyp``.
_QUICKTIME_BOXES = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_EBML = b"\x1a\x45\xdf\xa3"  # Matroska and WebM


def looks_like_pdf(data: bytes) -> bool:
    """Readers accept a PDF header anywhere in the first 1024 bytes, so do we."""
    return b"%PDF-" in data[:1024]


def looks_like_video(data: bytes) -> bool:
    """An MP4, MOV, MKV or WebM container (a HEIF or AVIF picture is not one)."""
    if data[:4] == _EBML:
        return True
    box = data[4:8]
    if box == b"ftyp":
        return data[8:12] not in _PICTURE_BRANDS
    return box in _QUICKTIME_BOXES
