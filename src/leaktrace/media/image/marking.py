"""Marking an image: registered and analysed once, then each recipient's copy imprinted and
encoded like its source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leaktrace.media.image import files
from leaktrace.media.image.asset import AssetAnalysis, analyse, register_image
from leaktrace.media.image.orientation import from_display

__all__ = ["PreparedImage", "imprinter_for", "prepare_image"]


@dataclass
class PreparedImage:
    """Everything about an image that does not depend on the recipient, computed once."""

    analysis: AssetAnalysis
    loaded: files.LoadedImage
    imprinter: object  # leaktrace.engine.imprint.Imprinter

    @property
    def asset_id(self) -> str:
        return self.analysis.asset.id

    def copy_for(self, recipient_id: str) -> tuple[bytes, list[tuple[str, bytes | None]]]:
        """The recipient's encoded copy, and ``(asset id, packed code)`` of what it carries
        (the code is cached in the registry for identify)."""
        code = self.analysis.keying.recipient_code(recipient_id)
        encoded = files.encode_like(self.loaded, self.imprinter.mark(code), self.loaded.alpha)
        return encoded, [(self.asset_id, np.packbits(code > 0).tobytes())]

    def __repr__(self) -> str:
        return f"PreparedImage({self.asset_id!r})"


def imprinter_for(analysis: AssetAnalysis, loaded: files.LoadedImage):
    """The asset's imprinter: what every recipient's copy shares, prepared once per file."""
    from leaktrace.engine.imprint import Imprinter

    stored_as = loaded.orientation
    return Imprinter(
        analysis.keying,
        analysis.mask,
        loaded.pixels,
        to_stored=lambda array: from_display(array, stored_as),
    )


def prepare_image(registry, path: Path, data: bytes) -> PreparedImage:
    """Register the image (idempotent by content), analyse it and build its imprinter."""
    loaded = files.load_image(data, name=str(path))
    asset = register_image(registry, path, data, loaded)
    analysis = analyse(asset, loaded, registry.key)
    return PreparedImage(analysis, loaded, imprinter_for(analysis, loaded))
