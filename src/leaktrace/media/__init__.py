"""The media leaktrace marks and identifies. Each plugs into the one marking and identification
pipeline (:mod:`leaktrace.pipeline`) through a small interface: it claims files by content,
prepares a file once and makes each recipient's copy, and reads a leak into evidence.

Importing this package loads no media library.
"""

from __future__ import annotations

__all__ = ["default_media", "leak_suffixes", "mark_suffixes"]


def default_media() -> tuple:
    """Every medium, in the order they are asked to claim a file (the image medium, which
    reads anything Pillow reads, last)."""
    from leaktrace.media.image import ImageMedium
    from leaktrace.media.pdf import PdfMedium
    from leaktrace.media.text.medium import TextMedium
    from leaktrace.media.video import VideoMedium

    pdf, video = PdfMedium(), VideoMedium()
    return (pdf, video, TextMedium(), ImageMedium(views=pdf.views, stills=video.stills))


def mark_suffixes() -> frozenset[str]:
    """File names a folder given to ``mark`` is searched for."""
    return frozenset().union(*(medium.mark_suffixes for medium in default_media()))


def leak_suffixes() -> frozenset[str]:
    """File names a folder given to ``scan`` is searched for."""
    return frozenset().union(*(medium.leak_suffixes for medium in default_media()))
