"""Folding text for alignment: what retyping, OCR and script conversion cannot change.

:func:`fold` maps a text to a comparison form and keeps, for every folded character, the index
of the character it came from, so a match found in folded text can be read back in the original.
Folding applies, in order: traditional to simplified Chinese (OpenCC's ``t2s``), Unicode NFKC
(full-width forms become ASCII, ligatures split), case folding, one form for every quotation
mark, apostrophe and dash, removal of middle dots and of all whitespace and invisible characters.

Why OpenCC: it is the reference converter (Apache-2.0), ships its dictionaries in the wheel
(about 7 MB, no network at run time) and converts phrases, not only characters.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["Folded", "fold", "light", "to_simplified"]

_QUOTES = dict.fromkeys(map(ord, "‘’‚‛′‹›`´"), "'") | dict.fromkeys(map(ord, "“”„‟″«»"), '"')
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣－⸺⸻"), "-")
_SPACES = re.compile(r"\s+")
_DROPPED = frozenset("·⋅∙•\u00ad\u200b\u200c\u200d\u2060\ufeff")


@functools.lru_cache(maxsize=1)
def _converter():
    import opencc  # noqa: PLC0415 - a 7 MB dictionary, loaded only when text is folded

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified ones (other text is unchanged)."""
    if not any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text):
        return text
    converted = _converter().convert(text)
    if len(converted) != len(text):
        # Phrase conversions can change the length; convert one character at a time so that
        # every folded character still points at the character it came from.
        converted = "".join(_converter().convert(ch) or ch for ch in text)
    return converted


class Folded:
    """A folded text and, for every folded character, the index of its source character.

    Attributes
    ----------
    text : str
        The folded text.
    origin : list of int
        ``origin[i]`` is the index in the source of folded character ``i``; ``origin`` has one
        more entry, ``len(source)``, so that ``origin[j]`` is defined for an end position ``j``.
    """

    __slots__ = ("origin", "text")

    def __init__(self, text: str, origin: list[int]) -> None:
        self.text = text
        self.origin = origin

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The source span covered by folded characters ``[start, end)``."""
        if start >= end:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1


def fold(text: str) -> Folded:
    """Fold ``text`` for comparison, keeping where each folded character came from."""
    simplified = to_simplified(text)
    out: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(simplified):
        if ch.isspace() or ch in _DROPPED:
            continue
        piece = unicodedata.normalize("NFKC", ch).casefold().translate(_QUOTES).translate(_DASHES)
        for part in piece:
            if part.isspace() or part in _DROPPED:
                continue
            out.append(part)
            origin.append(index)
    origin.append(len(text))
    return Folded("".join(out), origin)


def light(text: str) -> str:
    """The form in which two readings of one spot are compared when typography matters.

    NFC, case folding and single spaces: quotation marks, dashes, middle dots, full-width forms
    and the presence of a space stay distinct.
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).casefold())
