"""Authored alternatives: the author's own choice points, written in the text.

Syntax (the same in plain text, Markdown, HTML text and DOCX paragraphs)::

    The {{top-of-the-range|flagship|highest-trim}} model ships in {{May|the spring}}.
    {{=Model S Plaid}}           literal text no automatic rule may touch (the braces go)
    {{unordered}}                alone on a line or paragraph: the list below may be shuffled

- A block opens with ``{{`` and closes with ``}}`` in the same line, text node or paragraph; it
  holds two or more alternatives separated by ``|``. One alternative may be empty
  (``{{very |}}important``). Every alternative must be acceptable wherever the block is.
- Inside a block, ``\\|``, ``\\}`` and ``\\\\`` are a literal ``|``, ``}`` and ``\\``.
- Outside a block, ``\\{{`` is a literal ``{{`` (the backslash is dropped in every copy).
- Blocks inside protected spans (code spans, code blocks) are left as they are.
- In DOCX a block may cross runs (the chosen wording takes the format of the run holding ``{{``);
  in HTML it must sit in one text node (not across tags).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import AlternativeSyntaxError
from .protect import overlaps

__all__ = ["Block", "parse_blocks"]


@dataclass(frozen=True)
class Block:
    """A parsed block: ``text[start:end]`` is replaced by one of ``alternatives``.

    A literal block (``{{=...}}``) or an escape (``\\{{``) has one alternative and ``literal``
    set: every copy shows it, and no automatic rule may touch it.
    """

    start: int
    end: int
    alternatives: tuple[str, ...]
    literal: bool = False


def _unescape_alternatives(body: str, where: str, column: int) -> tuple[str, ...]:
    parts, current, index = [], [], 0
    while index < len(body):
        ch = body[index]
        if ch == "\\" and index + 1 < len(body) and body[index + 1] in "|}\\{":
            current.append(body[index + 1])
            index += 2
            continue
        if ch == "|":
            parts.append("".join(current))
            current = []
        elif body.startswith("{{", index):
            raise AlternativeSyntaxError(
                f"{where}, column {column}: '{{{{' inside an alternative block; blocks do not nest (write \\{{ inside it)"
            )
        else:
            current.append(ch)
        index += 1
    parts.append("".join(current))
    return tuple(parts)


def parse_blocks(
    text: str, protected: tuple[tuple[int, int], ...] = (), *, where: str = "text"
) -> list[Block]:
    """Find the alternative blocks and escapes of one segment.

    Parameters
    ----------
    text : str
        The segment's text.
    protected : tuple of (int, int)
        Spans where ``{{`` is ordinary text (code).
    where : str
        Where the segment is ("line 12"), for messages.

    Raises
    ------
    AlternativeSyntaxError
        An unclosed block, a block with fewer than two alternatives, two equal alternatives,
        more than one empty alternative, or nested blocks.
    """
    blocks: list[Block] = []
    index = 0
    while True:
        start = text.find("{{", index)
        if start < 0:
            return blocks
        if overlaps(protected, start, start + 2):
            index = start + 2
            continue
        if start > 0 and text[start - 1] == "\\":
            blocks.append(Block(start - 1, start + 2, ("{{",), literal=True))
            index = start + 2
            continue
        column = start + 1
        cursor, end = start + 2, -1
        while cursor < len(text) - 1:
            if text[cursor] == "\\":
                cursor += 2
                continue
            if text.startswith("}}", cursor):
                end = cursor
                break
            cursor += 1
        if end < 0:
            raise AlternativeSyntaxError(
                f"{where}, column {column}: alternative block is not closed ('}}}}' missing); "
                "close it on the same line, or write \\{{ for a literal '{{'"
            )
        body = text[start + 2 : end]
        if body == "unordered":
            index = end + 2
            continue
        if body.startswith("="):
            blocks.append(
                Block(
                    start,
                    end + 2,
                    ("|".join(_unescape_alternatives(body[1:], where, column)),),
                    True,
                )
            )
            index = end + 2
            continue
        alternatives = _unescape_alternatives(body, where, column)
        if len(alternatives) < 2:
            raise AlternativeSyntaxError(
                f"{where}, column {column}: {{{{{body}}}}} has one alternative; give two or more, separated by '|'"
            )
        if sum(1 for a in alternatives if not a) > 1:
            raise AlternativeSyntaxError(
                f"{where}, column {column}: {{{{{body}}}}} has more than one empty alternative"
            )
        if len(set(alternatives)) != len(alternatives):
            raise AlternativeSyntaxError(
                f"{where}, column {column}: {{{{{body}}}}} repeats an alternative"
            )
        blocks.append(Block(start, end + 2, alternatives))
        index = end + 2
