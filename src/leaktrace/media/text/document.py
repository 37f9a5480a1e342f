"""A text document as a sequence of segments, read from and written back to its own format.

A :class:`TextDocument` keeps the original bytes and a list of :class:`Segment`: the runs of
running text a rule may edit (a line of plain text or Markdown, a text node of HTML, a paragraph
of DOCX), each with the spans its format protects (code, link targets, markup). Writing a copy
applies :class:`Edits` to the original in place, so everything outside the edited characters
(markup, styles, tables, line endings, the encoding) comes out byte for byte as it went in.

Encodings accepted: UTF-8 (with or without a byte-order mark), UTF-16 and UTF-32 with a
byte-order mark, and any encoding Python knows when the caller names it (``encoding="gb18030"``).
Nothing is guessed: a wrong guess would write every copy in a mangled form.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field

from .errors import TextInputError

__all__ = [
    "FORMATS",
    "Edits",
    "Segment",
    "TextDocument",
    "decode_text",
    "encode_text",
    "format_for_name",
]

#: The formats a document can be read and written in.
FORMATS = ("plain", "markdown", "html", "docx")

_EXTENSIONS = {
    ".txt": "plain",
    ".text": "plain",
    ".md": "markdown",
    ".markdown": "markdown",
    ".htm": "html",
    ".html": "html",
    ".xhtml": "html",
    ".docx": "docx",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0 controls other than tab, line feed, form feed and carriage return never occur in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Segment:
    """A run of text rules may edit.

    Attributes
    ----------
    text : str
        The text as a reader sees it (entities decoded, markup outside).
    protected : tuple of (int, int)
        Spans of ``text`` the format protects (inline code, link targets, list markers, ...).
    kind : str
        ``"prose"``, ``"item"`` (a list item), ``"heading"``, ``"cell"`` (a table cell without
        figures) or ``"marker"`` (an author's ``{{unordered}}`` line, removed from copies).
    """

    text: str
    protected: tuple[tuple[int, int], ...] = ()
    kind: str = "prose"


@dataclass(frozen=True)
class Edits:
    """What one copy changes in a document.

    Attributes
    ----------
    replace : dict
        Segment index to a list of ``(start, end, text)`` replacements, non-overlapping.
    orders : list of (tuple of int, tuple of int)
        ``(items, permutation)``: the segments ``items`` (consecutive list items) are written
        so that position ``p`` holds item ``permutation[p]``.
    delete : frozenset of int
        Segments removed from the copy (the author's markers).
    """

    replace: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    orders: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    delete: frozenset[int] = frozenset()

    def segment_texts(self, segments: tuple[Segment, ...]) -> list[str]:
        """Every segment's text after this copy's replacements and orders ("" when deleted)."""
        texts = [
            apply_replacements(s.text, self.replace.get(i, ())) for i, s in enumerate(segments)
        ]
        for items, permutation in self.orders:
            moved = [texts[items[p]] for p in permutation]
            for position, text in zip(items, moved, strict=True):
                texts[position] = text
        for index in self.delete:
            texts[index] = ""
        return texts


def apply_replacements(text: str, replacements) -> str:
    """``text`` with non-overlapping ``(start, end, new)`` replacements applied."""
    out, cursor = [], 0
    for start, end, new in sorted(replacements, key=lambda r: (r[0], r[1])):
        if start < cursor:
            raise ValueError("replacements overlap")
        out.append(text[cursor:start])
        out.append(new)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


@dataclass(frozen=True)
class TextDocument:
    """A parsed document: its format, its segments and what is needed to write copies of it.

    ``locators`` is the format reader's own record of where each segment sits in the source; only
    the reader of that format interprets it.
    """

    format: str
    segments: tuple[Segment, ...]
    source: bytes = field(repr=False)
    encoding: str | None = None
    bom: bool = False
    locators: tuple = field(default=(), repr=False)
    name: str = ""


def format_for_name(name: str) -> str:
    """The format of a file from its name's extension.

    Raises
    ------
    TextInputError
        For an extension that is not a text format.
    """
    extension = os.path.splitext(name)[1].lower()
    if extension not in _EXTENSIONS:
        known = ", ".join(sorted(_EXTENSIONS))
        raise TextInputError(f"{name}: not a text document (known extensions: {known})")
    return _EXTENSIONS[extension]


def decode_text(
    data: bytes, *, encoding: str | None = None, name: str = "input"
) -> tuple[str, str, bool]:
    """Decode a text file strictly.

    Parameters
    ----------
    data : bytes
        The file's content.
    encoding : str, optional
        The encoding to use. Without it, a byte-order mark decides (UTF-8, UTF-16, UTF-32), and
        data without one must be UTF-8.
    name : str
        The file's name, for messages.

    Returns
    -------
    text, encoding, bom : str, str, bool

    Raises
    ------
    TextInputError
        When the data is binary or does not decode.
    """
    bom = False
    if encoding is None:
        for mark, codec in _BOMS:
            if data.startswith(mark):
                encoding, bom, data = codec, True, data[len(mark) :]
                break
    if encoding is None:
        if b"\x00" in data:
            raise TextInputError(
                f"{name}: binary data (NUL bytes), not a text document; UTF-16 text needs a byte-order mark"
            )
        encoding = "utf-8"
    try:
        text = codecs.decode(data, encoding, errors="strict")
    except LookupError:
        raise TextInputError(
            f"{name}: unknown encoding {encoding!r}: name one Python knows, e.g. gb18030"
        ) from None
    except UnicodeDecodeError as exc:
        hint = "re-save it as UTF-8, or name its encoding (e.g. encoding='gb18030')"
        raise TextInputError(f"{name}: not valid {encoding} at byte {exc.start}: {hint}") from None
    if _CONTROL.search(text):
        raise TextInputError(f"{name}: binary data (control characters), not a text document")
    return text, encoding, bom


def encode_text(text: str, encoding: str, bom: bool) -> bytes:
    """Encode ``text`` the way its source was encoded (same codec, same byte-order mark)."""
    mark = b""
    if bom:
        mark = dict((codec, m) for m, codec in _BOMS)[encoding]
    return mark + text.encode(encoding)
