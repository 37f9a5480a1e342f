"""Moving single words along their baseline by inserting TJ adjustments around them."""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from leaktrace.media.pdf.text.content import page_object
from leaktrace.media.pdf.text.words import analyse_page

if TYPE_CHECKING:
    import pikepdf

# TJ numbers written for a shift keep this many decimals: 1e-6 of an em is far below a
# microscopic point at any font size.
_TJ_DECIMALS = 6


def shift_words(pdf: pikepdf.Pdf, page: pikepdf.Page, shifts: np.ndarray) -> int:
    """Move each word of the page along its baseline; every other glyph stays in place.

    Parameters
    ----------
    pdf : pikepdf.Pdf
        The document holding the page; the new content stream is created in it.
    page : pikepdf.Page
        The page; its /Contents is replaced by one Flate-compressed stream when a word moves.
    shifts : numpy.ndarray
        One shift per word of :func:`page_words` (same order, indexable by ``Word.index``), in
        points of default user space along the word's baseline; 0 leaves a word alone.

    Returns
    -------
    int
        The number of words moved (non-zero shifts). 0 when the page is left unchanged, also
        for a content stream that cannot be read.

    Raises
    ------
    ValueError
        If ``shifts`` does not have one finite value per word.
    """
    import pikepdf

    analysis = analyse_page(page)
    values = np.asarray(shifts, dtype=np.float64)
    if values.ndim != 1 or len(values) != len(analysis.words):
        raise ValueError(
            f"shifts has shape {values.shape}, the page has {len(analysis.words)} words"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("shifts must be finite")
    # Insertions per operator: (element, byte offset, TJ number), in stream order.
    edits: dict[int, list[tuple[int, int, Decimal]]] = {}
    moved = 0
    for placed, shift in zip(analysis.words, values.tolist(), strict=True):
        if shift == 0.0:
            continue
        before = -shift * placed.per_point
        edits.setdefault(placed.op_index, []).extend(
            [
                (placed.start[0], placed.start[1], _tj_number(before)),
                (placed.end[0], placed.end[1], _tj_number(-before)),
            ]
        )
        moved += 1
    if not moved:
        return 0
    instructions: list[Any] = []
    for index, instruction in enumerate(analysis.instructions):
        if index in edits:
            instructions.extend(_rewrite(instruction, edits[index]))
        else:
            instructions.append(instruction)
    data = pikepdf.unparse_content_stream(instructions)
    stream = pikepdf.Stream(pdf, b"")
    # write() is told the data is already Flate-encoded, so it is not compressed twice.
    stream.write(zlib.compress(data), filter=pikepdf.Name.FlateDecode)
    page_object(page).Contents = stream
    return moved


# --- rewriting ------------------------------------------------------------------------------


def _tj_number(value: float) -> Decimal:
    text = f"{value:.{_TJ_DECIMALS}f}".rstrip("0").rstrip(".")
    return Decimal(text if text not in ("", "-", "-0") else "0")


def _rewrite(instruction: Any, edits: list[tuple[int, int, Decimal]]) -> list[Any]:
    """A showing operator as a TJ with the adjustments inserted (and ' or " spelled out)."""
    import pikepdf

    op = str(instruction.operator)
    operands = list(instruction.operands)
    elements = list(operands[0]) if op == "TJ" else [operands[-1]]
    at: dict[int, list[tuple[int, Decimal]]] = {}
    for element, offset, number in edits:
        at.setdefault(element, []).append((offset, number))
    array: list[Any] = []
    for element_index, element in enumerate(elements):
        inserts = at.get(element_index)
        if not inserts:
            array.append(element)
            continue
        data = bytes(element)
        cut = 0
        # Stable: an end and a start can never share an offset (a separator lies between).
        for offset, number in sorted(inserts, key=lambda item: item[0]):
            if offset > cut:
                array.append(pikepdf.String(data[cut:offset]))
                cut = offset
            array.append(number)
        if cut < len(data):
            array.append(pikepdf.String(data[cut:]))
    show = pikepdf.ContentStreamInstruction([pikepdf.Array(array)], pikepdf.Operator("TJ"))
    if op == "'":
        return [pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")), show]
    if op == '"':
        return [
            pikepdf.ContentStreamInstruction([operands[0]], pikepdf.Operator("Tw")),
            pikepdf.ContentStreamInstruction([operands[1]], pikepdf.Operator("Tc")),
            pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")),
            show,
        ]
    return [show]
