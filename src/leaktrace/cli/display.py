"""Showing user-supplied text on a terminal as data, never as instructions to it.

Names, organisations, e-mail addresses, file names and asset ids come from people and files
leaktrace does not control. Printed raw they could carry Rich markup (a hidden hyperlink, a
stray closing tag that crashes the table), ANSI escape sequences (recolour or rewrite the
screen), line breaks (a forged second line), or right-to-left overrides (text that reads
differently from what it is). The consoles here interpret no markup and no emoji codes, and
neutralise every control character in what they print; :func:`shown` also keeps a value on one
line and within a length. ``--json`` output is JSON, which escapes all of this itself.
"""

from __future__ import annotations

import re
import unicodedata

from rich.console import Console
from rich.text import Text

__all__ = ["SafeConsole", "shown", "shown_text"]

# C0 controls but tab and line feed, DEL, C1 controls; and the Unicode bidirectional controls
# (embeddings, overrides, isolates, marks), which reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n|[\n\r\u2028\u2029\x85\x0b\x0c]")
SHOWN_LENGTH = 200


def _visible(match: re.Match) -> str:
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>"


def neutralised(text: str) -> str:
    """``text`` with every control character spelled out (``\\x1b``, ``<U+202E>``); line feeds
    and tabs are kept."""
    return _CONTROL.sub(_visible, text)


def shown(value: object, *, limit: int | None = SHOWN_LENGTH) -> str:
    """A user-supplied value as one line of plain text: line breaks as ``⏎``, control characters
    spelled out, and at most ``limit`` characters (the rest counted, not shown)."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    text = neutralised(_LINE_BREAKS.sub("⏎", text)).replace("\t", " ")
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text


def shown_text(value: object, *, limit: int | None = SHOWN_LENGTH, style: str = "") -> Text:
    """:func:`shown` as a Rich Text (never parsed as markup)."""
    return Text(shown(value, limit=limit), style=style)


class SafeConsole(Console):
    """A Rich console that takes strings literally: no markup, no emoji codes, no highlighting,
    and no control character reaches the terminal (styling is given as :class:`Text`)."""

    def __init__(self, **options) -> None:
        options.update(markup=False, emoji=False, highlight=False)
        super().__init__(**options)

    def render_str(self, text: str, **options) -> Text:
        options.update(markup=False, emoji=False, highlight=False)
        return super().render_str(neutralised(text), **options)
