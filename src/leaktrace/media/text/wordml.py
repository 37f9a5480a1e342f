"""DOCX documents through python-docx: paragraphs read as segments, edits written into the runs.

A copy is the original package with only the text of some runs changed (and, for an author's
unordered list, its paragraphs moved), so styles, numbering, tables, images and section
settings are the original's. A replacement takes the formatting of the run where it starts.

Protected (their text is part of the segment, so nothing matches across them, but no edit may
touch it): hyperlinks, runs holding anything but text, tabs and breaks (pictures, fields,
footnote references), runs in a code font or a code character style, and inserted or
tracked-change content. Skipped whole: paragraphs with a quote or code style, paragraphs in
tables of figures (any digit in the table), the fallback copy of text boxes, headers and
footers (not read in this version).

Why python-docx: MIT, pure Python over lxml, the usual library for reading and editing Word
files; it edits runs in place instead of converting the document.
"""

from __future__ import annotations

import io
import zipfile

from .document import Edits, Segment, TextDocument
from .errors import TextInputError
from .protect import merge_spans

__all__ = ["iter_paragraph_elements", "load_docx", "render_docx"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_TEXTUAL = {
    _W + "t",
    _W + "tab",
    _W + "br",
    _W + "cr",
    _W + "rPr",
    _W + "noBreakHyphen",
    _W + "softHyphen",
}
_CODE_FONTS = ("courier", "consolas", "menlo", "monaco", "mono", "code", "lucida console")


def _open(data: bytes, name: str):
    import docx  # noqa: PLC0415 - python-docx and lxml load only for DOCX files

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise TextInputError(
            f"{name}: not a DOCX file (not a ZIP archive); save it from Word as .docx"
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = set(archive.namelist())
    if "word/document.xml" not in members or "[Content_Types].xml" not in members:
        raise TextInputError(
            f"{name}: a ZIP archive but not a Word document (no word/document.xml); save it from Word as .docx"
        )
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors...
        raise TextInputError(
            f"{name}: a damaged Word document ({type(exc).__name__}); re-save it from Word"
        ) from None


def _style_name(paragraph) -> str:
    try:
        return (paragraph.style.name or "") if paragraph.style is not None else ""
    except (KeyError, ValueError):
        return ""


def _is_code_run(run_element) -> bool:
    rpr = run_element.find(_W + "rPr")
    if rpr is None:
        return False
    fonts = rpr.find(_W + "rFonts")
    if fonts is not None and any(
        any(code in (value or "").lower() for code in _CODE_FONTS)
        for value in fonts.attrib.values()
    ):
        return True
    style = rpr.find(_W + "rStyle")
    return style is not None and "code" in (style.get(_W + "val") or "").lower()


def _figure_table(paragraph_element) -> bool:
    table = None
    node = paragraph_element.getparent()
    while node is not None:
        if node.tag == _W + "tbl":
            table = node
        node = node.getparent()
    if table is None:
        return False
    return any(ch.isdigit() for t in table.iter(_W + "t") for ch in (t.text or ""))


def iter_paragraph_elements(document):
    """The ``w:p`` elements of the main story that may hold segments, in document order."""
    for element in document.element.body.iter(_W + "p"):
        node, skip = element.getparent(), False
        while node is not None:
            if node.tag == _MC_FALLBACK:
                skip = True
                break
            node = node.getparent()
        if not skip:
            yield element


def _pieces(document, element):
    """``(kind, object, text)`` pieces of a paragraph: ``"run"`` is editable, ``"fixed"`` not."""
    from docx.text.run import Run  # noqa: PLC0415

    pieces = []
    for child in element:
        if child.tag == _W + "r":
            run = Run(child, document)
            editable = all(grand.tag in _TEXTUAL for grand in child) and not _is_code_run(child)
            pieces.append(("run" if editable else "fixed", run, run.text))
        elif child.tag == _W + "pPr":
            continue
        else:
            text = "".join(t.text or "" for t in child.iter(_W + "t"))
            if text:
                pieces.append(("fixed", None, text))
    return pieces


def _paragraph_segment(document, element):
    from docx.text.paragraph import Paragraph  # noqa: PLC0415

    paragraph = Paragraph(element, document)
    style = _style_name(paragraph).lower()
    if "quote" in style or "code" in style or "source" in style or _figure_table(element):
        return None, None
    pieces = _pieces(document, element)
    text = "".join(p[2] for p in pieces)
    if not text.strip():
        return None, None
    protected, spans, cursor = [], [], 0
    for kind, _, piece_text in pieces:
        spans.append((cursor, cursor + len(piece_text), kind == "run"))
        if kind != "run":
            protected.append((cursor, cursor + len(piece_text)))
        cursor += len(piece_text)
    if text.strip() == "{{unordered}}":
        kind = "marker"
        protected = [(0, len(text))]
    elif style.startswith("list") or element.find(f"{_W}pPr/{_W}numPr") is not None:
        kind = "item"
    elif style.startswith(("heading", "title")):
        kind = "heading"
    else:
        kind = "prose"
    return Segment(text, merge_spans(protected), kind), tuple(spans)


def load_docx(data: bytes, name: str) -> TextDocument:
    """Read a DOCX file's paragraphs as segments (see the module's notes for what is skipped)."""
    document = _open(data, name)
    segments, locators = [], []
    for number, element in enumerate(iter_paragraph_elements(document)):
        segment, spans = _paragraph_segment(document, element)
        if segment is not None:
            segments.append(segment)
            locators.append((number, spans))
    return TextDocument("docx", tuple(segments), data, None, False, tuple(locators), name)


def _run_texts(text: str, spans, replacements) -> list[str | None]:
    """The new text of every piece (``None`` for a fixed piece), replacements assigned to runs."""
    deleted = [False] * len(text)
    inserted: dict[int, list[str]] = {}

    def owner(position: int) -> int:
        for index, (a, b, _) in enumerate(spans):
            if a <= position < b:
                return index
        return len(spans) - 1

    for start, end, value in replacements:
        for position in range(start, end):
            deleted[position] = True
        at = owner(start) if end > start or start == 0 else owner(start - 1)
        inserted.setdefault(at, []).append((start, value))
        if not spans[at][2]:
            raise ValueError("a replacement touches a protected part of a DOCX paragraph")
    out: list[str | None] = []
    for index, (a, b, editable) in enumerate(spans):
        if not editable:
            if any(deleted[a:b]):
                raise ValueError("a replacement touches a protected part of a DOCX paragraph")
            out.append(None)
            continue
        chars = []
        insertions = sorted(inserted.get(index, []))
        for position in range(a, b + 1):
            for where, value in insertions:
                if where == position:
                    chars.append(value)
            if position < b and not deleted[position]:
                chars.append(text[position])
        out.append("".join(chars))
    return out


def render_docx(document: TextDocument, edits: Edits) -> bytes:
    """Write a copy of a DOCX document with ``edits`` applied to its runs."""
    package = _open(document.source, document.name)
    elements = list(iter_paragraph_elements(package))
    new_texts = edits.segment_texts(document.segments)
    for index, (segment, (number, spans)) in enumerate(
        zip(document.segments, document.locators, strict=True)
    ):
        replacements = edits.replace.get(index)
        if not replacements:
            continue
        pieces = _pieces(package, elements[number])
        for (kind, run, _), value in zip(
            pieces, _run_texts(segment.text, spans, replacements), strict=True
        ):
            if kind == "run" and value is not None and value != run.text:
                run.text = value
    del new_texts
    for items, permutation in edits.orders:
        nodes = [elements[document.locators[i][0]] for i in items]
        parent = nodes[0].getparent()
        first = parent.index(nodes[0])
        if any(node.getparent() is not parent for node in nodes):
            raise ValueError("the items of an unordered list must be sibling paragraphs")
        for node in nodes:
            parent.remove(node)
        for offset, p in enumerate(permutation):
            parent.insert(first + offset, nodes[p])
    for index in edits.delete:
        node = elements[document.locators[index][0]]
        node.getparent().remove(node)
    out = io.BytesIO()
    package.save(out)
    return out.getvalue()
