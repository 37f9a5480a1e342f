"""Built-in format and typographic rules: the same value or punctuation, written another way.

Every rule here but ``comma.introductory`` is *linked*: one keyed draw per document chooses the
variant for all its places, so a copy stays consistent with itself (a price sheet never mixes
``$1,200`` and ``$1200``). The comma after a short opening phrase is optional in every style
guide and writers mix it freely, so each place is its own draw.

==================  =============  ===================================================  =========
rule                family         alternatives                                          natural
==================  =============  ===================================================  =========
number.grouping     format         ``1,200`` / ``1200`` (4-digit amounts and             -
                                   quantities only: years and codes are kept)
unit.space          format         ``75 kWh`` / ``75kWh`` (a listed unit after a number)  -
unit.kwh            typographic    ``kWh`` / ``kW·h``                                    ``kWh``
date.order          format         ``March 5, 2026`` / ``5 March 2026``                  -
list.serial-comma   format         ``a, b, and c`` / ``a, b and c`` (3+ short items      -
                                   after a word that introduces a list)
comma.introductory  format         ``In 2026, the`` / ``In 2026 the`` (a short opening    -
                                   phrase of 1-3 words; one draw per place, not linked)
quotes.double       typographic    ``“…”`` / ``"…"`` (Latin text)                         ``"``
quotes.apostrophe   typographic    ``’`` / ``'`` inside a word                            ``'``
dash.parenthetic    typographic    ``word—word`` / ``word – word``                       -
dash.range          typographic    ``10–20`` / ``10-20``                                 ``-``
zh.paren-width      typographic    ``（…）`` / ``(…)`` around Chinese text                ``（``
zh.cjk-space        typographic    ``售价 3 万元`` / ``售价3万元`` (between Chinese and    no space
                                   Latin letters or digits)
==================  =============  ===================================================  =========

No rule changes a digit, a letter of a name, or anything in a protected span; the number rules
only add or remove a separator, and the date rule only reorders the day, the month's name and
the year (the digits stay in the same order).
"""

from __future__ import annotations

import re

from .protect import overlaps
from .rules import Candidate

__all__ = ["format_candidates"]

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_LINK_BEFORE = re.compile(r"(?:https?://|www\.|\S@)\S*\Z")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥]|US\$|(?:USD|EUR|GBP|RMB|CNY|JPY)\s?)\Z")
_AMOUNT_AFTER = re.compile(
    r"\s?(?:元|美元|欧元|英镑|日元|台|辆|件|个|套|units?\b|pieces?\b|dollars?\b|euros?\b|"
    r"kWh|kW|Wh|mAh|km|kg|mm|cm|GB|TB|MB|miles?\b|hours?\b|cycles?\b|customers?\b|users?\b|stores?\b)"
)
_FOUR_DIGITS = re.compile(r"(?<![\d.,:/-])(\d),?(\d{3})(?=(?:\.\d+)?(?![\d,]|\.\d|[-/:]\d))")
_UNITS = r"kWh|MWh|GWh|kW|Wh|mAh|km/h|km|kg|mm|cm|GB|TB|MB|GHz|MHz|Hz|mph|Nm|hp|ms|TOPS|W|V"
_UNIT_GAP = re.compile(rf"(?<=\d)( ?)(?:{_UNITS})(?![\w/])")
_KWH = re.compile(r"(?<![\w·])kW(·?)h(?![\w])")
_DATE_MDY = re.compile(rf"\b({_MONTHS}) (\d{{1,2}}), (\d{{4}})\b")
_DATE_DMY = re.compile(rf"\b(\d{{1,2}}) ({_MONTHS}) (\d{{4}})\b")
# A series needs a word that introduces a list before it: "are, in reality, distributions or"
# and "is, thus, essential and" are not series.
_SERIES = re.compile(
    r"(?:(?<=: )|(?<=\()|\b(?:as|in|of|with|for|including|like|include|includes|offers|supports|e\.g\.) )"
    r"[A-Za-z-]+(?: [A-Za-z-]+)?, (?:[A-Za-z-]+(?: [A-Za-z-]+)?, )*[A-Za-z-]+(?: [A-Za-z-]+)?(,?) (?:and|or) (?=[A-Za-z-])"
)
_INTRO = re.compile(
    r"(?:^|(?<=[.!?]\s))(?:In|On|At|During|By|Since|After|Before|Until|Within|Over|For|Today|Currently|Now|Traditionally|Typically|Historically|Here|Meanwhile)"
    r"(?: [\w’'-]+){0,2}(, )(?=[a-z]|[A-Z][a-z])"
)
_NOT_ITEMS = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "must",
        "should",
        "they",
        "we",
        "he",
        "she",
        "it",
        "you",
        "thus",
        "however",
        "therefore",
        "reality",
        "fact",
        "example",
        "which",
        "that",
        "who",
    ]
)
_CURLY_PAIR = re.compile(r"“([^“”\n]{1,400})”")
_STRAIGHT_PAIR = re.compile(r"(?:(?<=^)|(?<=[\s(\[]))\"([^\"\n]{1,400})\"(?=[\s.,;:!?)\]]|$)")
_APOSTROPHE = re.compile(r"(?<=[A-Za-z])['’](?=[a-z])")
_PAREN_DASH = re.compile(r"(?<=\w)(—| – )(?=\w)")
_RANGE = re.compile(r"(?<![\d\-–./:])(?<=\d)([–-])(?=\d+(?![\d\-–./:]))")
_ZH_PAREN = re.compile(r"([（(])([^（）()\n]{1,80})([）)])")
_CJK_LATIN = re.compile(rf"(?<=[{_CJK}])( ?)(?=[A-Za-z0-9])|(?<=[A-Za-z0-9%])( ?)(?=[{_CJK}])")


def _grouping(text: str) -> list[Candidate]:
    out = []
    for m in _FOUR_DIGITS.finditer(text):
        start, end = m.start(), m.end()
        has_comma = "," in m.group()
        before, after = text[:start], text[end:]
        value = int(m.group(1) + m.group(2))
        currency = _CURRENCY_BEFORE.search(before) is not None
        # A bare 4-digit number is a year or a code unless a unit or a counted noun follows it.
        if (
            not currency
            and not has_comma
            and (1900 <= value <= 2100 or _AMOUNT_AFTER.match(after) is None)
        ):
            continue
        texts = (f"{m.group(1)},{m.group(2)}", f"{m.group(1)}{m.group(2)}")
        out.append(
            Candidate("number.grouping", "format", start, end, texts, 0 if has_comma else 1, True)
        )
    return out


def _units(text: str) -> list[Candidate]:
    out = []
    for m in _UNIT_GAP.finditer(text):
        start, end = m.span(1)
        out.append(
            Candidate("unit.space", "format", start, end, (" ", ""), 0 if m.group(1) else 1, True)
        )
    for m in _KWH.finditer(text):
        start, end = m.span()
        out.append(
            Candidate(
                "unit.kwh",
                "typographic",
                start,
                end,
                ("kWh", "kW·h"),
                1 if m.group(1) else 0,
                True,
                0,
            )
        )
    return out


def _dates(text: str) -> list[Candidate]:
    out = []
    for m in _DATE_MDY.finditer(text):
        month, day, year = m.groups()
        texts = (f"{month} {day}, {year}", f"{day} {month} {year}")
        out.append(Candidate("date.order", "format", m.start(), m.end(), texts, 0, True))
    for m in _DATE_DMY.finditer(text):
        day, month, year = m.groups()
        texts = (f"{month} {day}, {year}", f"{day} {month} {year}")
        out.append(Candidate("date.order", "format", m.start(), m.end(), texts, 1, True))
    return out


def _series(text: str) -> list[Candidate]:
    out = []
    for m in _SERIES.finditer(text):
        start, end = m.span(1)
        words = set(re.findall(r"[a-z]+", text[m.start() : start]))
        if words & _NOT_ITEMS:
            continue  # a clause, not a list of items ("they are, in reality, distributions or")
        out.append(
            Candidate(
                "list.serial-comma", "format", start, end, (",", ""), 0 if m.group(1) else 1, True
            )
        )
    return out


# Openings that are discourse markers, not adverbials: style guides keep their comma, and
# "For example it may not" reads as a slip.
_DISCOURSE_MARKERS = frozenset(
    [
        "For example",
        "For instance",
        "For starters",
        "In effect",
        "In fact",
        "In other words",
        "In addition",
        "In particular",
        "In short",
        "In contrast",
        "On the other hand",
        "By contrast",
        "At least",
        "For now",
    ]
)


def _introductory_commas(text: str) -> list[Candidate]:
    out = []
    for m in _INTRO.finditer(text):
        start, end = m.span(1)
        phrase = text[m.start() : start]
        if phrase in _DISCOURSE_MARKERS:
            continue
        if any(
            word in phrase.split()
            for word in ("that", "which", "and", "or", "if", "when", "is", "are", "was", "were")
        ):
            continue
        out.append(Candidate("comma.introductory", "format", start, end, (", ", " "), 0))
    return out


def _latin_quotes(text: str) -> list[Candidate]:
    out = []
    for pattern, original in ((_CURLY_PAIR, 0), (_STRAIGHT_PAIR, 1)):
        for m in pattern.finditer(text):
            if re.search(f"[{_CJK}]", m.group(1)):
                continue
            out.append(
                Candidate(
                    "quotes.double",
                    "typographic",
                    m.start(),
                    m.start() + 1,
                    ("“", '"'),
                    original,
                    True,
                    1,
                )
            )
            out.append(
                Candidate(
                    "quotes.double",
                    "typographic",
                    m.end() - 1,
                    m.end(),
                    ("”", '"'),
                    original,
                    True,
                    1,
                )
            )
    for m in _APOSTROPHE.finditer(text):
        original = 0 if m.group() == "’" else 1
        out.append(
            Candidate(
                "quotes.apostrophe",
                "typographic",
                m.start(),
                m.end(),
                ("’", "'"),
                original,
                True,
                1,
            )
        )
    return out


def _dashes(text: str) -> list[Candidate]:
    out = []
    for m in _PAREN_DASH.finditer(text):
        out.append(
            Candidate(
                "dash.parenthetic",
                "typographic",
                m.start(),
                m.end(),
                ("—", " – "),
                0 if m.group(1) == "—" else 1,
                True,
            )
        )
    for m in _RANGE.finditer(text):
        out.append(
            Candidate(
                "dash.range",
                "typographic",
                m.start(),
                m.end(),
                ("–", "-"),
                0 if m.group(1) == "–" else 1,
                True,
                1,
            )
        )
    return out


def _chinese(text: str) -> list[Candidate]:
    out = []
    for m in _ZH_PAREN.finditer(text):
        opening, inner, closing = m.groups()
        wide = opening == "（" and closing == "）"
        narrow = opening == "(" and closing == ")"
        near = text[max(0, m.start() - 1) : m.start()] + inner + text[m.end() : m.end() + 1]
        if not (wide or narrow) or not re.search(f"[{_CJK}]", near):
            continue
        original = 0 if wide else 1
        out.append(
            Candidate(
                "zh.paren-width",
                "typographic",
                m.start(),
                m.start() + 1,
                ("（", "("),
                original,
                True,
                0,
            )
        )
        out.append(
            Candidate(
                "zh.paren-width",
                "typographic",
                m.end() - 1,
                m.end(),
                ("）", ")"),
                original,
                True,
                0,
            )
        )
    for m in _CJK_LATIN.finditer(text):
        group = 1 if m.group(1) is not None else 2
        start, end = m.span(group)
        spaced = bool(m.group(group))
        if spaced and _LINK_BEFORE.search(text, 0, start):
            continue  # "https://x.org/fhs的" would carry 的 into the link a viewer makes
        out.append(
            Candidate(
                "zh.cjk-space", "typographic", start, end, (" ", ""), 0 if spaced else 1, True, 1
            )
        )
    return out


def format_candidates(text: str, protected: tuple[tuple[int, int], ...]) -> list[Candidate]:
    """Every place in ``text`` where a built-in rule applies, outside ``protected``."""
    found: list[Candidate] = []
    for finder in (
        _grouping,
        _units,
        _dates,
        _series,
        _introductory_commas,
        _latin_quotes,
        _dashes,
        _chinese,
    ):
        found.extend(c for c in finder(text) if not overlaps(protected, c.start, c.end))
    return found
