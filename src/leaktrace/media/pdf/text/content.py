"""A page's content stream as pikepdf instructions, and what in it shows text."""

from __future__ import annotations

import warnings
from typing import Any

SHOW_OPS = frozenset({"Tj", "TJ", "'", '"'})
# Every operator of ISO 32000-1 Annex A (pikepdf reports an inline image as one instruction).
_OPERATORS = (
    "b B b* B* BDC BI BMC BT BX c cm CS cs d d0 d1 Do DP EI EMC ET EX f F f* G g gs h i ID j J K k "
    "l m M MP n q Q re RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ TL Tm Tr Ts Tw Tz v w W "
    "W* y ' \""
)
KNOWN_OPS = frozenset(_OPERATORS.split()) | {"INLINE IMAGE"}
_FORM_DEPTH = 12
_SENTINEL = b"LTend_of_content"


def page_object(page: Any) -> Any:
    return getattr(page, "obj", page)


def parse_page_content(page: Any) -> list[Any] | None:
    """The page's content stream as pikepdf instructions; None if pikepdf stopped early.

    pikepdf (qpdf) stops quietly at a token it cannot finish (an unterminated string or array)
    and returns what it read so far; writing that back would drop the rest of the page. A
    sentinel operator after the data shows whether the parser got to the end.
    """
    import pikepdf

    contents = page.get("/Contents")
    if contents is None:
        return []
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    # Streams of an array are one stream split between tokens; a newline keeps tokens apart.
    data = b"\n".join(stream.read_bytes() for stream in streams)
    scratch = pikepdf.new()
    try:
        with warnings.catch_warnings():
            # The early stop is reported in PageWords.skipped instead.
            warnings.simplefilter("ignore", UserWarning)
            instructions = list(
                pikepdf.parse_content_stream(pikepdf.Stream(scratch, data + b"\n" + _SENTINEL))
            )
    finally:
        scratch.close()
    if not instructions:
        return None
    last = instructions.pop()
    if str(last.operator) != _SENTINEL.decode() or len(last.operands):
        return None
    return instructions


def inherited(node: Any, key: str) -> Any:
    """A page attribute, looked up the page tree like a reader does."""
    seen = 0
    while node is not None and seen < 64:
        value = node.get(key)
        if value is not None:
            return value
        node = node.get("/Parent")
        seen += 1
    return None


def form_has_text(xobject: Any, cache: dict[Any, bool], depth: int) -> bool:
    import pikepdf

    key = xobject.objgen if xobject.is_indirect else None
    if key is not None and key in cache:
        return cache[key]
    if key is not None:
        cache[key] = False  # a form drawing itself must not recurse forever
    found = False
    try:
        instructions = pikepdf.parse_content_stream(xobject)
    except (pikepdf.PdfError, ValueError, TypeError):
        instructions = []
    resources = xobject.get("/Resources")
    xobjects = resources.get("/XObject") if resources is not None else None
    for instruction in instructions:
        op = str(instruction.operator)
        if op in SHOW_OPS:
            found = True
            break
        if op == "Do" and depth < _FORM_DEPTH and xobjects is not None:
            operands = instruction.operands
            inner = xobjects.get(str(operands[0])) if len(operands) == 1 else None
            if (
                inner is not None
                and inner.get("/Subtype") == "/Form"
                and form_has_text(inner, cache, depth + 1)
            ):
                found = True
                break
    if key is not None:
        cache[key] = found
    return found
