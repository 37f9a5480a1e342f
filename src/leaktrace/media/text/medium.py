"""Text documents as a medium of the one marking and identification pipeline.

Marking claims .txt, .md, .html and .docx files by name (a binary file named .txt is then
refused with one line, never passed to the image reader). Identification reads text files and
standard input, and *supplements* the reading of a picture: when a text document is
registered, the picture's text is recognised by Tesseract and read like a text leak, next to
whatever pixel marks the image medium finds.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TEXT_SUFFIXES", "TextMedium"]

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".htm", ".html", ".xhtml", ".docx"})


class TextMedium:
    """The text medium.

    Parameters
    ----------
    claim_all : bool
        Read every leak as text whatever its name (``identify --text``).
    ocr : bool
        Supplement pictures with the text Tesseract recognises in them.
    """

    name = "text"
    mark_suffixes = TEXT_SUFFIXES
    # ``scan`` looks for pictures and PDFs only: notes kept beside the leaks are not leaks.
    # A text leak is identified one by one (``identify quote.txt``, ``identify -``).
    leak_suffixes: frozenset[str] = frozenset()

    def __init__(self, *, claim_all: bool = False, ocr: bool = True) -> None:
        self.claim_all = claim_all
        self.ocr = ocr

    def claims(self, path: Path, data: bytes) -> bool:
        return self.claim_all or path.suffix.lower() in TEXT_SUFFIXES

    def prepare(self, registry, path: Path, data: bytes, password: str | None = None):
        from leaktrace.media.text.marking import prepare_text

        return prepare_text(registry, path, data)

    def read(self, session, path: Path, data: bytes):
        from leaktrace.media.text.reading import findings_for_text, leak_text

        return findings_for_text(session, leak_text(path, data))

    def supplement(self, session, path: Path, data: bytes):
        """Findings from the text OCR recognises in a picture another medium read, or None.

        Costs one query when no text document is registered, so identifying ordinary photos
        stays as fast as before.
        """
        if not self.ocr or not session.registry.list_assets("text"):
            return None
        from leaktrace.errors import LeaktraceError
        from leaktrace.media.image.files import load_display_rgb
        from leaktrace.media.text.errors import OcrUnavailableError
        from leaktrace.media.text.ocr import ocr_image
        from leaktrace.media.text.reading import findings_for_text
        from leaktrace.pipeline.evidence import Findings

        try:
            rgb = load_display_rgb(data, name=str(path))
        except LeaktraceError:  # a PDF or another non-picture: nothing to recognise here
            return None
        from PIL import Image

        try:
            text = ocr_image(Image.fromarray(rgb))
        except OcrUnavailableError as exc:
            return Findings({"text": {"source": "ocr", "problem": str(exc)}})
        return findings_for_text(session, text, source="ocr")

    def picture(self, path: Path, data: bytes):
        """The leak as the report shows it: its first lines typeset on a page."""
        import numpy as np

        from leaktrace.media.text.reading import leak_text
        from leaktrace.media.text.simulate import render_page

        lines = leak_text(path, data).splitlines()[:40]
        return np.asarray(render_page("\n".join(lines) or " ").convert("RGB"))
