"""A text document's file, whatever its format: read into segments, and written back with a
copy's choices (plain text, Markdown and HTML by :mod:`.markup`, DOCX by :mod:`.wordml`)."""

from __future__ import annotations

from .document import FORMATS, Edits, TextDocument, decode_text, encode_text, format_for_name

__all__ = ["load_document", "render_document"]


def load_document(
    data: bytes, name: str, *, format: str | None = None, encoding: str | None = None
) -> TextDocument:
    """Parse a document's bytes into segments.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        Its file name; the extension gives the format unless ``format`` is given.
    format : {"plain", "markdown", "html", "docx"}, optional
    encoding : str, optional
        For plain text, Markdown and HTML: see :func:`decode_text`.

    Raises
    ------
    TextInputError
        Binary data, an undecodable file, a DOCX that is not a Word document.
    """
    from . import markup, wordml  # they build on .document's types

    kind = format or format_for_name(name)
    if kind not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    if kind == "docx":
        return wordml.load_docx(data, name)
    text, codec, bom = decode_text(data, encoding=encoding, name=name)
    reader = {
        "plain": markup.plain_segments,
        "markdown": markup.markdown_segments,
        "html": markup.html_segments,
    }
    segments, locators = reader[kind](text)
    return TextDocument(kind, tuple(segments), data, codec, bom, tuple(locators), name)


def render_document(document: TextDocument, edits: Edits) -> bytes:
    """Write a copy of ``document`` with ``edits`` applied, in the document's own format."""
    from . import markup, wordml  # they build on .document's types

    if document.format == "docx":
        return wordml.render_docx(document, edits)
    text, _, _ = decode_text(
        document.source,
        encoding=document.encoding if not document.bom else None,
        name=document.name,
    )
    out = markup.render_markup(document, text, edits)
    return encode_text(out, document.encoding or "utf-8", document.bom)
