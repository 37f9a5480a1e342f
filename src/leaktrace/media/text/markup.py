"""Plain text, Markdown and HTML: segments found in the decoded source, edits written in place.

Plain text and Markdown are read line by line (a rule never spans a line break). Skipped whole,
so no rule can touch them: Markdown front matter, fenced and indented code, HTML blocks,
reference definitions, block quotes (``>``), and tables of figures (a table with any digit in
it; a table without figures has its cells edited, its pipes protected). Plain text skips quoted
lines (``>``) and lines laid out as tables of figures (two or more gaps of 2+ spaces or a tab,
and a digit). HTML is tokenised into tags and text nodes; text inside ``code, pre, kbd, samp,
var, script, style, textarea, q, blockquote`` and inside tables with figures is skipped, entity
references are protected, and replacements are escaped.
"""

from __future__ import annotations

import html
import re

from .document import Edits, Segment, TextDocument, apply_replacements
from .protect import merge_spans

__all__ = [
    "html_segments",
    "html_visible_text",
    "markdown_segments",
    "plain_segments",
    "render_markup",
]

_BULLET = re.compile(r"^(\s*)([-*+•·]|\d{1,3}[.)])\s+")
_MARKER = re.compile(r"^\s*\{\{unordered\}\}\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+")
_QUOTE_LINE = re.compile(r"^ {0,3}>")
_REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s")
_HTML_LINE = re.compile(r"^ {0,3}</?[A-Za-z!]")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_INLINE = re.compile(
    r"(`+)[^`]*?\1"  # code spans
    r"|!\[[^\]]*\]\([^)]*\)"  # images
    r"|\]\([^)]*\)"  # link destinations
    r"|<[^>\n]+>"  # autolinks and inline HTML
    r"|\\."  # backslash escapes
    r"|(?<![\w*])[*_]{1,3}|[*_]{1,3}(?![\w*])"  # emphasis markers
)
_FIGURE_LINE = re.compile(r"(?:\S(?: {2,}|\t)){2,}")


def _lines(text: str):
    """Yield ``(start, end_without_newline, end_with_newline, line)`` for every line."""
    position = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        yield position, position + len(body), position + len(raw), body
        position += len(raw)


def _line_segment(line: str, protected: list[tuple[int, int]]) -> Segment:
    bullet = _BULLET.match(line)
    heading = _HEADING.match(line)
    kind = "prose"
    if bullet:
        protected.append((0, bullet.end()))
        kind = "item"
    elif heading:
        protected.append((0, heading.end()))
        kind = "heading"
    return Segment(line, merge_spans(protected), kind)


def plain_segments(text: str):
    """Segments of a plain-text document (one per non-empty line) and their locators."""
    segments, locators = [], []
    for start, end, end_nl, line in _lines(text):
        if not line.strip() or _QUOTE_LINE.match(line):
            continue
        if any(ch.isdigit() for ch in line) and _FIGURE_LINE.search(line.strip()):
            continue
        if _MARKER.match(line):
            segments.append(Segment(line, ((0, len(line)),), "marker"))
            locators.append((start, end_nl))
            continue
        segments.append(_line_segment(line, []))
        locators.append((start, end))
    return segments, locators


def _markdown_tables(lines: list[tuple[int, int, int, str]]) -> dict[int, bool]:
    """Line number -> whether it belongs to a table of figures (True) or a table of words."""
    tables: dict[int, bool] = {}
    n = 0
    while n < len(lines) - 1:
        if "|" in lines[n][3] and _TABLE_SEP.match(lines[n + 1][3]):
            end = n + 2
            while end < len(lines) and "|" in lines[end][3] and lines[end][3].strip():
                end += 1
            figures = any(ch.isdigit() for k in range(n, end) for ch in lines[k][3] if k != n + 1)
            for k in range(n, end):
                tables[k] = figures or k == n + 1
            n = end
        else:
            n += 1
    return tables


def markdown_segments(text: str):
    """Segments of a Markdown document and their locators (see the module's notes)."""
    lines = list(_lines(text))
    tables = _markdown_tables(lines)
    segments, locators = [], []
    fence: str | None = None
    previous_blank, previous_code, in_list = True, False, False
    front_matter = bool(lines) and lines[0][3].strip() == "---"
    for number, (start, end, end_nl, line) in enumerate(lines):
        stripped = line.strip()
        if front_matter:
            if number > 0 and stripped in ("---", "..."):
                front_matter = False
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)[0] * 3
            continue
        indented = line.startswith(("    ", "\t")) and stripped
        is_code = bool(indented and (previous_blank or previous_code) and not in_list)
        previous_code = is_code
        blank = not stripped
        if blank:
            previous_blank = True
            continue
        previous_blank = False
        if is_code:
            continue
        if _BULLET.match(line):
            in_list = True
        elif not line.startswith((" ", "\t")):
            in_list = False
        if _QUOTE_LINE.match(line) or _REFDEF.match(line) or _HTML_LINE.match(line):
            continue
        if number in tables:
            if tables[number]:
                continue
            pipes = [(m.start(), m.end()) for m in re.finditer(r"\|", line)]
            segments.append(Segment(line, merge_spans(pipes), "cell"))
            locators.append((start, end))
            continue
        if _MARKER.match(line):
            segments.append(Segment(line, ((0, len(line)),), "marker"))
            locators.append((start, end_nl))
            continue
        protected = [m.span() for m in _INLINE.finditer(line)]
        segments.append(_line_segment(line, protected))
        locators.append((start, end))
    return segments, locators


_TOKEN = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<![^>]*>|<\?.*?\?>|</?[A-Za-z][^>]*>", re.S)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
_SKIP = frozenset(
    {"code", "pre", "kbd", "samp", "var", "script", "style", "textarea", "q", "blockquote"}
)
_VOID = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
)
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")
_BLOCK = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "br",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "td",
        "th",
        "title",
        "hr",
    }
)


def _html_tokens(text: str):
    """Yield ``("tag", name, closing, start, end)`` and ``("text", None, False, start, end)``."""
    cursor = 0
    for match in _TOKEN.finditer(text):
        if match.start() > cursor:
            yield "text", None, False, cursor, match.start()
        name_match = _TAG_NAME.match(match.group())
        name = name_match.group(1).lower() if name_match else None
        yield "tag", name, match.group().startswith("</"), match.start(), match.end()
        cursor = match.end()
    if cursor < len(text):
        yield "text", None, False, cursor, len(text)


def _figure_tables(text: str) -> list[tuple[int, int]]:
    spans, depth, start = [], 0, 0
    for kind, name, closing, a, b in _html_tokens(text):
        if kind == "tag" and name == "table":
            if not closing:
                depth += 1
                if depth == 1:
                    start = a
            elif depth:
                depth -= 1
                if depth == 0:
                    inner = re.sub(r"<[^>]*>", "", text[start:b])
                    if any(ch.isdigit() for ch in html.unescape(inner)):
                        spans.append((start, b))
    return spans


def html_segments(text: str):
    """Segments of an HTML document (its visible text nodes) and their locators."""
    figures = _figure_tables(text)
    segments, locators = [], []
    stack: list[str] = []
    for kind, name, closing, start, end in _html_tokens(text):
        if kind == "tag":
            if name is None or name in _VOID:
                continue
            if closing:
                if name in stack:
                    del stack[len(stack) - 1 - stack[::-1].index(name) :]
            elif not text[start:end].endswith("/>"):
                stack.append(name)
            continue
        if any(s in _SKIP for s in stack) or any(a <= start < b for a, b in figures):
            continue
        raw = text[start:end]
        if not raw.strip():
            continue
        decoded, origin, protected = [], [], []
        cursor = 0
        for entity in _ENTITY.finditer(raw):
            for offset in range(cursor, entity.start()):
                decoded.append(raw[offset])
                origin.append(start + offset)
            value = html.unescape(entity.group())
            first = len(decoded)
            for ch in value:
                decoded.append(ch)
                origin.append(start + entity.start())
            protected.append((first, len(decoded)))
            cursor = entity.end()
        for offset in range(cursor, len(raw)):
            decoded.append(raw[offset])
            origin.append(start + offset)
        origin.append(end)
        kind_name = (
            "item"
            if stack and stack[-1] == "li"
            else "heading"
            if stack and re.fullmatch(r"h[1-6]", stack[-1])
            else "prose"
        )
        segments.append(Segment("".join(decoded), merge_spans(protected), kind_name))
        locators.append(tuple(origin))
    return segments, locators


def html_visible_text(text: str) -> str:
    """The text a browser shows for an HTML page: tags dropped, block elements on their own lines."""
    out: list[str] = []
    hidden = 0
    for kind, name, closing, start, end in _html_tokens(text):
        if kind == "tag":
            if name in ("script", "style", "head") and not text[start:end].endswith("/>"):
                hidden += -1 if closing else 1
                hidden = max(hidden, 0)
            if name in _BLOCK:
                out.append("\n")
            continue
        if not hidden:
            out.append(html.unescape(re.sub(r"\s+", " ", text[start:end])))
    lines = (line.strip() for line in "".join(out).splitlines())
    return "\n".join(line for line in lines if line)


def render_markup(document: TextDocument, text: str, edits: Edits) -> str:
    """``text`` (the decoded source of ``document``) with ``edits`` written in place."""
    new_texts = edits.segment_texts(document.segments)
    pieces: list[tuple[int, int, str]] = []
    for index, (segment, locator) in enumerate(
        zip(document.segments, document.locators, strict=True)
    ):
        new = new_texts[index]
        if new == segment.text and index not in edits.delete:
            continue
        if document.format == "html":
            if index in edits.delete:
                pieces.append((locator[0], locator[-1], ""))
                continue
            # Re-map each replacement into the source; untouched characters keep their escapes.
            replacements = []
            for start, end, value in edits.replace.get(index, ()):
                replacements.append(
                    (
                        locator[start] - locator[0],
                        locator[end] - locator[0],
                        html.escape(value, quote=False),
                    )
                )
            source = text[locator[0] : locator[-1]]
            moved = any(index in items for items, _ in edits.orders)
            if moved:
                raise ValueError("HTML documents do not support unordered lists")
            pieces.append((locator[0], locator[-1], apply_replacements(source, replacements)))
        else:
            start, end = locator
            pieces.append((start, end, new))
    return apply_replacements(text, pieces)
