"""Raster images as a medium: marked with the keyed grid pattern, identified from any picture
of them (resized, cropped, screenshotted, photographed off a screen).

Importing this package loads no image library; its modules do, on first use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["IMAGE_LEAK_SUFFIXES", "IMAGE_SUFFIXES", "ImageMedium"]

# Files marked as images.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif"})
# Leaks are read in any format Pillow reads; these are the names a scan looks for.
IMAGE_LEAK_SUFFIXES = IMAGE_SUFFIXES | {".gif", ".bmp"}


class ImageMedium:
    """The image medium: the reader of last resort, which lets Pillow say what a file is.

    Parameters
    ----------
    views : mapping, optional
        Raster kinds other media register as pictures of themselves (``"pdf-page"``), each with
        the :class:`~leaktrace.media.image.identify.ViewReader` that reads the rest of their
        evidence from a picture.
    stills : sequence, optional
        Readers other media offer for a picture no registered raster explains (one frame of a
        video): :class:`~leaktrace.media.image.identify.StillReader`.
    """

    name = "image"
    mark_suffixes = IMAGE_SUFFIXES
    leak_suffixes = IMAGE_LEAK_SUFFIXES

    def __init__(self, views: Mapping | None = None, stills: Sequence = ()) -> None:
        self.views = dict(views or {})
        self.stills = tuple(stills)

    def claims(self, path: Path, data: bytes) -> bool:
        return True

    def read(self, session, path: Path, data: bytes):
        from leaktrace.media.image.identify import read_picture

        return read_picture(session, path, data, self.views, self.stills)

    def prepare(self, registry, path: Path, data: bytes, password: str | None = None):
        from leaktrace.media.image.marking import prepare_image

        return prepare_image(registry, path, data)

    def picture(self, path: Path, data: bytes):
        """The leak as the report shows it (upright RGB)."""
        from leaktrace.media.image.files import load_display_rgb

        return load_display_rgb(data, name=str(path))
