"""Spans of a segment that no rule may touch.

A segment's protected spans are the union of what its format marks (code, tables of figures,
block quotes: found by the format readers) and what this module finds in any text:

- URLs, e-mail addresses and file paths;
- quoted text (the words between quotation marks, in every script; the marks themselves stay
  available to the quotation-mark rule);
- names: capitalised words that do not start a sentence, words with inner capitals or digits
  (``iPhone``, ``X5``, ``F-150``), all-capital words, and titles in 《》〈〉;
- numbers: every digit is protected from word rules (:func:`digit_spans`); only the number-format
  rules, which keep the value, may rewrite the characters around digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["digit_spans", "find_protected", "merge_spans", "overlaps", "sentence_start"]

_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"'）】」]+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PATH = re.compile(r"(?<![\w/])(?:~|\.{1,2})?/(?:[\w.-]+/)*[\w.-]+")
_DOUBLE_QUOTED = re.compile(
    r"“[^“”\n]{1,400}”|„[^“”„\n]{1,400}[“”]|\"[^\"\n]{1,400}\"|«[^«»\n]{1,400}»"
)
_CJK_QUOTED = re.compile(r"「[^「」]{0,400}」|『[^『』]{0,400}』")
_SINGLE_QUOTED = re.compile(
    r"(?:(?<=^)|(?<=[\s(\[—–-]))[‘'][^‘’'\n]{1,200}[’'](?=[\s.,;:!?)\]—–-]|$)"
)
_TITLES = re.compile(r"《[^《》]{0,200}》|〈[^〈〉]{0,200}〉")
_CAPITALISED = re.compile(
    r"\b[A-Z][\w’'&.-]*(?:\s+(?:of|de|von|van|the|and|&)?\s*[A-Z][\w’'&.-]*)*"
)
_ODD_WORD = re.compile(r"\b(?=[\w-]*(?:[a-z][A-Z]|\d))[A-Za-z][\w-]*\b|\b[A-Z]{2,}\b")
# Month and day names are capitalised but are not names (the date rule reorders them), and units
# with inner capitals are not model numbers (the unit rules vary them).
_NOT_NAMES = frozenset(
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "kWh",
        "kW",
        "MWh",
        "GWh",
        "mAh",
        "GHz",
        "MHz",
    ]
)
_DIGITS = re.compile(r"\d+")
_SENTENCE_START = re.compile(
    r"(?:^|[.!?:;。！？；：]\s*|\n\s*|^\s*(?:[-*+•·]|\d+[.)]|#{1,6})\s+|[\"“(（「]\s*)\Z"
)


def merge_spans(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort spans and merge those that overlap or touch."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


def overlaps(spans: tuple[tuple[int, int], ...], start: int, end: int) -> bool:
    """Whether ``[start, end)`` shares a character with any span (an empty span: lies inside one)."""
    for a, b in spans:
        if a >= max(end, start + 1):
            break
        if start < b and (end > a or (start == end and a < start)):
            return True
    return False


def sentence_start(text: str, position: int) -> bool:
    """Whether ``position`` begins a sentence (or a list item, a heading, a quotation)."""
    return _SENTENCE_START.search(text, 0, position) is not None or position == 0


def digit_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The runs of digits in ``text``: a number's value, which no word rule may touch."""
    return tuple(m.span() for m in _DIGITS.finditer(text))


def _names(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _CAPITALISED.finditer(text):
        start, end = match.span()
        if match.group() in _NOT_NAMES:
            continue
        if sentence_start(text, start):
            # The first word of a sentence is capitalised anyway; the rest of the run is a name.
            rest = re.match(r"[\w’'&.-]+\s*", text[start:end])
            start += rest.end() if rest else 0
            if start >= end or not text[start:end].strip():
                continue
        spans.append((start, end))
    spans.extend(m.span() for m in _ODD_WORD.finditer(text) if m.group() not in _NOT_NAMES)
    return spans


def _quoted_interiors(text: str) -> list[tuple[int, int]]:
    spans = []
    for pattern in (_DOUBLE_QUOTED, _CJK_QUOTED, _SINGLE_QUOTED):
        for match in pattern.finditer(text):
            spans.append((match.start() + 1, match.end() - 1))
    spans.extend(m.span() for m in _TITLES.finditer(text))
    return spans


def find_protected(text: str) -> tuple[tuple[int, int], ...]:
    """Protected spans of a piece of running text: URLs, paths, quoted text and names.

    Digits are not included (see :func:`digit_spans`): number-format rules may work around them.
    """
    spans: list[tuple[int, int]] = []
    spans.extend(m.span() for m in _URL.finditer(text))
    spans.extend(m.span() for m in _PATH.finditer(text))
    spans.extend(_quoted_interiors(text))
    spans.extend(_names(text))
    return merge_spans(spans)
