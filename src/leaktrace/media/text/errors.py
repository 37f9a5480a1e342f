"""Errors of the text canaries, all children of :class:`leaktrace.errors.LeaktraceError`."""

from __future__ import annotations

from leaktrace.errors import InputError, LeaktraceError

__all__ = ["AlternativeSyntaxError", "NoChoicePointsError", "OcrUnavailableError", "TextInputError"]


class TextInputError(InputError):
    """A text document could not be read: binary data, an unknown encoding, a broken DOCX."""


class AlternativeSyntaxError(TextInputError):
    """An authored alternative block (``{{a|b}}``) is malformed; the message gives its place."""


class NoChoicePointsError(TextInputError):
    """A document offers no choice point, so its copies would all be identical."""


class OcrUnavailableError(LeaktraceError):
    """Tesseract (or one of its language models) is not installed."""
