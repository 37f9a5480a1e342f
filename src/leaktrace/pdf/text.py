"""Per-word shifts: the words of a page's text, where each one starts, and moving single words
along their baseline by a keyed fraction of a point.

A word is moved by inserting a pair of TJ position adjustments around it: one before the word
moves it (and only it) by ``s`` points along the baseline, the opposite one after it puts the
next glyph back where it was. Line ends and every other glyph stay exactly in place, so nothing
reflows; copy-paste text is unchanged because no glyph is added or removed.

Finding the words needs the text state of ISO 32000-1, 9.3-9.4, replayed operator by operator
over pikepdf's tokenised content stream: the graphics state stack (q/Q, cm), BT/ET, Tf, Tc, Tw,
Tz, TL, Ts, Td, TD, Tm, T*, and the showing operators Tj, TJ, ' and ", with every glyph's
advance ``tx = (w0 * Tfs + Tc + Tw) * Th`` (Tw only for the single-byte code 32) and TJ numbers
moving by ``-n / 1000 * Tfs * Th``. A word is a maximal run of non-separator glyphs inside one
showing operator: separators are glyphs whose text is white space (code 32 in the usual simple
encodings) and TJ numbers below ``BREAK_KERN``, because pdfTeX, Word and Google Docs write
inter-word spaces as kerns. Words never span two operators.

Fonts handled: simple fonts (Type1, MMType1, TrueType) with /Widths, and the Helvetica, Times and
Courier standard fonts without /Widths (their Adobe AFM widths are carried below); Type3 fonts
whose FontMatrix keeps the baseline horizontal (widths scaled by FontMatrix); Type0 fonts with
/Identity-H (two-byte codes, CIDFont /W and /DW).

Left alone, each with one reason in ``PageWords.skipped``, because their glyph positions cannot
be known or moved safely here:

* text in a font we cannot measure: no /Widths (Symbol, ZapfDingbats, broken files), Type0 with
  any CMap but Identity-H (Identity-V is vertical writing, where TJ numbers move vertically),
  Type3 with a rotated or skewed FontMatrix, a missing font resource, a font size, horizontal
  scaling or text matrix of zero;
* text after such text on the same line (its start depends on the unknown advance) until the next
  Td, TD, T*, Tm, ' or " sets the line again;
* text inside form XObjects: a form can be drawn many times and shared between pages, so moving
  its words would move them everywhere at once;
* text showing operators outside BT/ET;
* a whole page whose content stream has an operator we do not know outside BX/EX, or a text or
  matrix operator with wrong operands: the stream is not what it seems, so nothing there is
  trusted. A stream pikepdf cannot tokenise at all is reported the same way.

Everything outside the shifted showing operators is written back token for token: only the
rewritten Tj, TJ, ' and " change (to TJ, with ' and " spelled out as ``aw Tw ac Tc T*``).
"""

from __future__ import annotations

import math
import warnings
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pikepdf

# TJ numbers below this (thousandths of a text space unit, i.e. of the font size) end a word:
# word spaces written as kerns are -250 to -450 here, letter kerning is within +-100.
BREAK_KERN = -200.0

# TJ numbers written for a shift keep this many decimals: 1e-6 of an em is far below a
# microscopic point at any font size.
_TJ_DECIMALS = 6

_SHOW_OPS = frozenset({"Tj", "TJ", "'", '"'})
# Every operator of ISO 32000-1 Annex A (pikepdf reports an inline image as one instruction).
_OPERATORS = (
    "b B b* B* BDC BI BMC BT BX c cm CS cs d d0 d1 Do DP EI EMC ET EX f F f* G g gs h i ID j J K k "
    "l m M MP n q Q re RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ TL Tm Tr Ts Tw Tz v w W "
    "W* y ' \""
)
_KNOWN_OPS = frozenset(_OPERATORS.split()) | {"INLINE IMAGE"}
_FORM_DEPTH = 12
_SENTINEL = b"LTend_of_content"
_CMAP_RANGE_LIMIT = 65536

_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class Word:
    """One word of a page's text.

    Attributes
    ----------
    index : int
        0..K-1, the order of appearance in the page's content stream.
    text : str
        The word's text where the font tells it (ToUnicode or a simple encoding), else "".
    origin : tuple of float
        Origin of the word's first glyph in the page's default user space (PDF points, the
        unrotated page: the space of pdfium's character origins), text rise included. Exact
        per the spec; pdfium truncates fractional /Widths (pdfTeX's 722.2) to integers, so
        its origins can drift from these by a few tenths of a point along a line.
    direction : tuple of float
        Unit vector of the text baseline (text space x axis) in default user space.
    glyphs : int
        Number of glyphs in the word.
    """

    index: int
    text: str
    origin: tuple[float, float]
    direction: tuple[float, float]
    glyphs: int


@dataclass(frozen=True)
class PageWords:
    """The words of one page and what was left alone.

    Attributes
    ----------
    words : list of Word
        The page's words in content stream order; ``words[k].index == k``.
    skipped : list of str
        One human-readable reason per piece of text left alone.
    """

    words: list[Word]
    skipped: list[str]


def page_words(pdf: pikepdf.Pdf, page: pikepdf.Page) -> PageWords:
    """The words of a page's own content stream, in order of appearance.

    Parameters
    ----------
    pdf : pikepdf.Pdf
        The document holding the page.
    page : pikepdf.Page
        The page (a page dictionary object is accepted too).

    Returns
    -------
    PageWords
        The words, and one reason per piece of text left alone (see the module docstring).
    """
    analysis = _analyse(page)
    return PageWords(words=[w.word for w in analysis.words], skipped=analysis.skipped)


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

    analysis = _analyse(page)
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
    _page_object(page).Contents = stream
    return moved


def glyph_origins(
    data: bytes, page_index: int, password: str | None = None
) -> tuple[str, np.ndarray]:
    """The characters pdfium reads on a page and their origins.

    pdfium is not thread-safe: call this from one thread at a time (use processes to scale).

    Parameters
    ----------
    data : bytes
        The PDF file.
    page_index : int
        Zero-based page number.
    password : str or None
        The document's password, if it is encrypted.

    Returns
    -------
    chars : str
        One character per entry of pdfium's text page, in its order (generated spaces and line
        breaks included).
    origins : numpy.ndarray
        float64 ``(len(chars), 2)``: each character's origin in default user space (points,
        unrotated page).
    """
    glyphs = read_glyphs(data, page_index, password)
    return glyphs.chars, glyphs.origins


@dataclass(frozen=True)
class Glyphs:
    """What pdfium reads of a page's characters (see :func:`read_glyphs`)."""

    chars: str
    origins: np.ndarray  # (n, 2) default user space, NaN where pdfium has none
    boxes: np.ndarray  # (n, 4) left, bottom, right, top in user space, NaN where none
    # (2, 3) affine map from user space to the pixels of a render of ``device_size``, if asked
    to_device: np.ndarray | None


def read_glyphs(
    data: bytes,
    page_index: int,
    password: str | None = None,
    device_size: tuple[int, int] | None = None,
) -> Glyphs:
    """Every character pdfium reads on a page: text, origin, box, and optionally the map from
    user space to a render of ``device_size`` (width, height) pixels, the page's /Rotate and
    crop box included (pdfium's own ``FPDF_PageToDevice``, sampled at three points)."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    document = pdfium.PdfDocument(data, password=password)
    try:
        page = document[page_index]
        textpage = page.get_textpage()
        try:
            count = max(textpage.count_chars(), 0)
            origins = np.full((count, 2), math.nan)
            boxes = np.full((count, 4), math.nan)
            chars = []
            x, y = ctypes.c_double(), ctypes.c_double()
            left, right = ctypes.c_double(), ctypes.c_double()
            bottom, top = ctypes.c_double(), ctypes.c_double()
            for i in range(count):
                code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
                chars.append(chr(code) if 0 <= code <= 0x10FFFF else "\ufffd")
                if pdfium_c.FPDFText_GetCharOrigin(
                    textpage.raw, i, ctypes.byref(x), ctypes.byref(y)
                ):
                    origins[i] = (x.value, y.value)
                if pdfium_c.FPDFText_GetCharBox(
                    textpage.raw,
                    i,
                    ctypes.byref(left),
                    ctypes.byref(right),
                    ctypes.byref(bottom),
                    ctypes.byref(top),
                ):
                    boxes[i] = (left.value, bottom.value, right.value, top.value)
            to_device = None
            if device_size is not None:
                to_device = _device_map(pdfium_c, page, device_size)
        finally:
            textpage.close()
            page.close()
    finally:
        document.close()
    return Glyphs("".join(chars), origins, boxes, to_device)


def _device_map(pdfium_c: Any, page: Any, size: tuple[int, int]) -> np.ndarray:
    import ctypes

    # pdfium rounds device coordinates to whole pixels: sample far apart so that the rounding
    # is a negligible part of the map.
    span = 1000.0
    points = [(0.0, 0.0), (span, 0.0), (0.0, span)]
    device = []
    dx, dy = ctypes.c_int(), ctypes.c_int()
    for px, py in points:
        pdfium_c.FPDF_PageToDevice(
            page.raw, 0, 0, size[0], size[1], 0, ctypes.c_double(px), ctypes.c_double(py),
            ctypes.byref(dx), ctypes.byref(dy),
        )  # fmt: skip
        device.append((float(dx.value), float(dy.value)))
    origin = np.array(device[0])
    columns = (np.array(device[1]) - origin) / span, (np.array(device[2]) - origin) / span
    return np.column_stack([columns[0], columns[1], origin])


# --- content stream analysis ---------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """A word and where it sits in the stream, for the rewrite."""

    word: Word
    op_index: int
    start: tuple[int, int]  # (element, byte offset) of its first glyph
    end: tuple[int, int]  # (element, byte offset) just after its last glyph
    per_point: float  # TJ thousandths per point of movement along the baseline


@dataclass(frozen=True)
class _Analysis:
    instructions: list[Any]
    words: list[_Placed]
    skipped: list[str]


class _Malformed(Exception):
    """The content stream is not what it seems; the whole page is left alone."""


class _Unsupported(Exception):
    """One font or piece of text cannot be measured; that text is left alone."""


@dataclass
class _GState:
    ctm: _Matrix = _IDENTITY
    font: _Font | None = None
    font_name: str = ""
    size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0

    def copy(self) -> _GState:
        return _GState(**self.__dict__)


def _page_object(page: Any) -> Any:
    return getattr(page, "obj", page)


def _analyse(page: Any) -> _Analysis:
    import pikepdf

    try:
        instructions = _parse(_page_object(page))
    except (pikepdf.PdfError, ValueError, TypeError) as exc:
        lines = str(exc).strip().splitlines()
        return _Analysis([], [], [f"unreadable content stream ({lines[0] if lines else exc})"])
    if instructions is None:
        return _Analysis(
            [], [], ["page left alone: content stream ends inside a token or with stray operands"]
        )
    walker = _Walker(_inherited(_page_object(page), "/Resources"))
    try:
        walker.run(instructions)
    except _Malformed as exc:
        return _Analysis([], [], [f"page left alone: {exc}"])
    except (pikepdf.PdfError, AttributeError, TypeError, ValueError, KeyError) as exc:
        # Objects of the wrong type where resources should be: nothing there is trusted.
        return _Analysis([], [], [f"page left alone: malformed objects ({type(exc).__name__})"])
    return _Analysis(instructions, walker.words, walker.skipped)


def _parse(page: Any) -> list[Any] | None:
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


def _inherited(node: Any, key: str) -> Any:
    """A page attribute, looked up the page tree like a reader does."""
    seen = 0
    while node is not None and seen < 64:
        value = node.get(key)
        if value is not None:
            return value
        node = node.get("/Parent")
        seen += 1
    return None


class _Walker:
    """Replays one content stream's graphics and text state."""

    def __init__(self, resources: Any) -> None:
        self.resources = resources
        self.fonts: dict[Any, _Font] = {}
        self.forms: dict[Any, bool] = {}
        self.words: list[_Placed] = []
        self.skipped: list[str] = []
        self.gs = _GState()
        self.stack: list[_GState] = []
        self.in_text = False
        self.tm: _Matrix = _IDENTITY
        self.tlm: _Matrix = _IDENTITY
        # None when the text position is known; else why not (the last unmeasurable text).
        self.lost: str | None = None
        self.compat = 0

    def run(self, instructions: list[Any]) -> None:
        for index, instruction in enumerate(instructions):
            op = str(instruction.operator)
            operands = instruction.operands
            # qpdf reports a token it could not read (a stray ] or >>) as a null operand.
            if any(operand is None for operand in operands):
                raise _Malformed(f"unreadable token before {op!r}")
            if op in _SHOW_OPS:
                self._show(index, op, operands)
            elif op not in _KNOWN_OPS:
                if self.compat == 0:
                    raise _Malformed(f"unknown operator {op!r} outside BX/EX")
            else:
                self._state(op, operands)

    # graphics and text state

    def _state(self, op: str, operands: Any) -> None:
        gs = self.gs
        if op == "q":
            self.stack.append(gs.copy())
        elif op == "Q":
            # An unmatched Q is ignored, as readers do.
            if self.stack:
                self.gs = self.stack.pop()
        elif op == "cm":
            gs.ctm = _mul(_matrix(op, operands), gs.ctm)
        elif op == "BT":
            self.in_text = True
            self.tm = self.tlm = _IDENTITY
            self.lost = None
        elif op == "ET":
            self.in_text = False
        elif op == "Tf":
            if len(operands) != 2 or not _is_name(operands[0]) or not _is_number(operands[1]):
                raise _Malformed("Tf needs a font name and a size")
            gs.font_name = str(operands[0])
            gs.font = self._font(gs.font_name)
            gs.size = float(operands[1])
        elif op == "Tc":
            gs.char_spacing = _numbers(op, operands, 1)[0]
        elif op == "Tw":
            gs.word_spacing = _numbers(op, operands, 1)[0]
        elif op == "Tz":
            gs.scale = _numbers(op, operands, 1)[0] / 100.0
        elif op == "TL":
            gs.leading = _numbers(op, operands, 1)[0]
        elif op == "Ts":
            gs.rise = _numbers(op, operands, 1)[0]
        elif op in ("Td", "TD"):
            tx, ty = _numbers(op, operands, 2)
            if op == "TD":
                gs.leading = -ty
            self._next_line(tx, ty)
        elif op == "T*":
            self._next_line(0.0, -gs.leading)
        elif op == "Tm":
            self.tm = self.tlm = _matrix(op, operands)
            self.lost = None
        elif op == "gs":
            self._ext_gstate(operands)
        elif op == "Do":
            self._do(operands)
        elif op == "BX":
            self.compat += 1
        elif op == "EX":
            self.compat = max(0, self.compat - 1)

    def _next_line(self, tx: float, ty: float) -> None:
        self.tlm = _mul((1.0, 0.0, 0.0, 1.0, tx, ty), self.tlm)
        self.tm = self.tlm
        self.lost = None

    def _ext_gstate(self, operands: Any) -> None:
        # An ExtGState may set the font (/Font [font size]); nothing else in it moves text.
        if len(operands) != 1 or not _is_name(operands[0]):
            return
        entry = _lookup(_lookup(_lookup(self.resources, "/ExtGState"), str(operands[0])), "/Font")
        if entry is None:
            return
        if not _is_array(entry) or len(entry) != 2 or not _is_number(entry[1]):
            raise _Malformed(f"ExtGState {operands[0]} has a malformed /Font")
        self.gs.font_name = f"{operands[0]} (ExtGState)"
        self.gs.font = self._load(entry[0], self.gs.font_name)
        self.gs.size = float(entry[1])

    def _do(self, operands: Any) -> None:
        if len(operands) != 1 or not _is_name(operands[0]):
            return
        xobject = _lookup(_lookup(self.resources, "/XObject"), str(operands[0]))
        if not _is_stream(xobject) or xobject.get("/Subtype") != "/Form":
            return
        if _form_has_text(xobject, self.forms, 0):
            self.skipped.append(f"text inside form XObject {operands[0]}")

    # fonts

    def _font(self, name: str) -> _Font | None:
        font = _lookup(_lookup(self.resources, "/Font"), name)
        return None if font is None else self._load(font, name)

    def _load(self, font: Any, name: str) -> _Font:
        if not _is_dictionary(font):
            return _unsupported(f"font {name} is not a dictionary")
        key = font.objgen if font.is_indirect else None
        if key is not None and key in self.fonts:
            return self.fonts[key]
        loaded = _load_font(font, name)
        if key is not None:
            self.fonts[key] = loaded
        return loaded

    # text showing

    def _show(self, index: int, op: str, operands: Any) -> None:
        gs = self.gs
        if op == "Tj":
            if len(operands) != 1 or not _is_string(operands[0]):
                raise _Malformed("Tj needs one string")
            elements: list[Any] = [operands[0]]
        elif op == "TJ":
            if len(operands) != 1 or not _is_array(operands[0]):
                raise _Malformed("TJ needs one array")
            elements = list(operands[0])
            if not all(_is_string(e) or _is_number(e) for e in elements):
                raise _Malformed("TJ array holds something but strings and numbers")
        elif op == "'":
            if len(operands) != 1 or not _is_string(operands[0]):
                raise _Malformed("' needs one string")
            self._next_line(0.0, -gs.leading)
            elements = [operands[0]]
        else:
            if len(operands) != 3 or not _is_string(operands[2]):
                raise _Malformed('" needs two numbers and a string')
            gs.word_spacing, gs.char_spacing = _numbers(op, operands[:2], 2)
            self._next_line(0.0, -gs.leading)
            elements = [operands[2]]
        if not any(_is_string(e) and len(bytes(e)) for e in elements):
            # Numbers alone still move the text position; no font is needed for that.
            kerns = sum(float(e) for e in elements if not _is_string(e))
            self.tm = _mul((1.0, 0.0, 0.0, 1.0, -kerns / 1000.0 * gs.size * gs.scale, 0.0), self.tm)
            return
        reason = self._why_not(gs)
        if reason is not None:
            self.skipped.append(reason)
            self.lost = reason
            return
        try:
            words, advance = self._measure(index, elements)
        except _Unsupported as exc:
            self.skipped.append(str(exc))
            self.lost = str(exc)
            return
        first = len(self.words)
        for k, placed in enumerate(words):
            word = placed.word
            self.words.append(
                _Placed(
                    word=Word(first + k, word.text, word.origin, word.direction, word.glyphs),
                    op_index=placed.op_index,
                    start=placed.start,
                    end=placed.end,
                    per_point=placed.per_point,
                )
            )
        self.tm = _mul((1.0, 0.0, 0.0, 1.0, advance, 0.0), self.tm)

    def _why_not(self, gs: _GState) -> str | None:
        if not self.in_text:
            return "text shown outside BT/ET"
        if self.lost is not None:
            return f"text after unmeasured text on its line ({self.lost})"
        if gs.font is None:
            return f"missing font resource {gs.font_name}" if gs.font_name else "no font set"
        if gs.font.unsupported is not None:
            return gs.font.unsupported
        if gs.size == 0.0:
            return f"font size 0 for {gs.font_name}"
        if gs.scale == 0.0:
            return "horizontal scaling 0"
        matrix = _mul(self.tm, gs.ctm)
        if math.hypot(matrix[0], matrix[1]) == 0.0:
            return "degenerate text matrix"
        return None

    def _measure(self, index: int, elements: list[Any]) -> tuple[list[_Placed], float]:
        """The words of one showing operator and its total advance in text space."""
        gs = self.gs
        font = gs.font
        assert font is not None
        matrix = _mul(self.tm, gs.ctm)
        a, b, c, d, e, f = matrix
        length = math.hypot(a, b)
        direction = (a / length, b / length)
        size, spacing, hscale = gs.size, gs.char_spacing, gs.scale
        per_point = 1000.0 / (size * hscale * length)
        rise = gs.rise
        step = 2 if font.two_byte else 1
        x = 0.0
        words: list[_Placed] = []
        # The open word: start position, origin x, glyph count, text pieces, last glyph end.
        start: tuple[int, int] | None = None
        start_x = 0.0
        count = 0
        pieces: list[str | None] = []
        end = (0, 0)

        def close() -> None:
            nonlocal start
            if start is None:
                return
            ox, oy = start_x, rise
            text = "" if None in pieces else "".join(pieces)  # type: ignore[arg-type]
            words.append(
                _Placed(
                    word=Word(
                        0,
                        text,
                        (ox * a + oy * c + e, ox * b + oy * d + f),
                        direction,
                        count,
                    ),
                    op_index=index,
                    start=start,
                    end=end,
                    per_point=per_point,
                )
            )
            start = None

        for element_index, element in enumerate(elements):
            if not _is_string(element):
                adjust = float(element)
                x -= adjust / 1000.0 * size * hscale
                if adjust < BREAK_KERN:
                    close()
                continue
            data = bytes(element)
            if len(data) % step:
                raise _Unsupported(f"odd byte count in a two-byte string of font {gs.font_name}")
            for offset in range(0, len(data), step):
                code = data[offset] if step == 1 else (data[offset] << 8) | data[offset + 1]
                width, separator, text = font.glyph(code)
                if width is None:
                    raise _Unsupported(f"font {gs.font_name} has no width for code {code}")
                if separator:
                    close()
                elif start is None:
                    start = (element_index, offset)
                    start_x = x
                    count = 1
                    pieces = [text]
                else:
                    count += 1
                    pieces.append(text)
                if not separator:
                    end = (element_index, offset + step)
                advance = width * size + spacing
                if code == 32 and step == 1:
                    advance += gs.word_spacing
                x += advance * hscale
        close()
        return words, x


def _form_has_text(xobject: Any, cache: dict[Any, bool], depth: int) -> bool:
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
        if op in _SHOW_OPS:
            found = True
            break
        if op == "Do" and depth < _FORM_DEPTH and xobjects is not None:
            operands = instruction.operands
            inner = xobjects.get(str(operands[0])) if len(operands) == 1 else None
            if (
                inner is not None
                and inner.get("/Subtype") == "/Form"
                and _form_has_text(inner, cache, depth + 1)
            ):
                found = True
                break
    if key is not None:
        cache[key] = found
    return found


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


# --- operands and matrices ------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_string(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.String)


def _is_name(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Name)


def _is_dictionary(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Dictionary | pikepdf.Stream)


def _is_stream(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Stream)


def _lookup(container: Any, key: str) -> Any:
    """container[key] if container is a dictionary that has it, else None."""
    return container.get(key) if _is_dictionary(container) else None


def _is_array(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Array)


def _numbers(op: str, operands: Any, count: int) -> list[float]:
    if len(operands) != count or not all(_is_number(v) for v in operands):
        raise _Malformed(f"{op} needs {count} number{'s' if count > 1 else ''}")
    values = [float(v) for v in operands]
    if not all(math.isfinite(v) for v in values):
        raise _Malformed(f"{op} has a non-finite operand")
    return values


def _matrix(op: str, operands: Any) -> _Matrix:
    a, b, c, d, e, f = _numbers(op, operands, 6)
    return (a, b, c, d, e, f)


def _mul(m: _Matrix, n: _Matrix) -> _Matrix:
    """m then n, for row vectors (PDF's convention: p' = p m n)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


# --- fonts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Font:
    """What the walker needs of a font: per code, the width in text space per unit of font
    size (None if unknown), whether it separates words, and its text (None if unknown)."""

    two_byte: bool
    simple: tuple[tuple[float | None, bool, str | None], ...] = ()
    widths: dict[int, float] | None = None
    default_width: float = 1.0
    unicode: dict[int, str] | None = None
    unsupported: str | None = None

    def glyph(self, code: int) -> tuple[float | None, bool, str | None]:
        if not self.two_byte:
            return self.simple[code]
        assert self.widths is not None and self.unicode is not None
        text = self.unicode.get(code)
        separator = bool(text) and text.isspace()  # type: ignore[union-attr]
        return self.widths.get(code, self.default_width), separator, text


def _unsupported(reason: str) -> _Font:
    return _Font(two_byte=False, unsupported=reason)


def _load_font(font: Any, name: str) -> _Font:
    import pikepdf

    try:
        subtype = str(font.get("/Subtype", ""))
        if subtype == "/Type0":
            return _load_type0(font, name)
        if subtype in ("/Type1", "/MMType1", "/TrueType", "/Type3"):
            return _load_simple(font, name, subtype)
        return _unsupported(f"font {name} of subtype {subtype or 'none'}")
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError, KeyError) as exc:
        return _unsupported(f"font {name} is malformed ({type(exc).__name__})")


def _load_simple(font: Any, name: str, subtype: str) -> _Font:
    to_unicode = _to_unicode(font.get("/ToUnicode"))
    base_font = str(font.get("/BaseFont", "")).lstrip("/")
    base_font = base_font.split("+", 1)[1] if "+" in base_font[:7] else base_font
    names = _encoding_names(font.get("/Encoding"), _STANDARD_ALIASES.get(base_font))
    texts: list[str | None] = []
    for code in range(256):
        text = to_unicode.get(code)
        if text is None and names[code] is not None:
            text = _glyph_text(names[code])
        texts.append(text)
    widths: list[float | None]
    if subtype == "/Type3":
        matrix = [float(v) for v in font.get("/FontMatrix", [0.001, 0, 0, 0.001, 0, 0])]
        if len(matrix) != 6 or matrix[1] != 0.0 or matrix[0] == 0.0:
            return _unsupported(f"Type3 font {name} with a rotated or skewed FontMatrix")
        if font.get("/Widths") is None:
            return _unsupported(f"font {name} has no widths")
        widths = _widths_array(font, matrix[0], 0.0)
    elif font.get("/Widths") is not None:
        descriptor = font.get("/FontDescriptor")
        missing = float(descriptor.get("/MissingWidth", 0)) if descriptor is not None else 0.0
        widths = _widths_array(font, 0.001, missing * 0.001)
    else:
        standard = _STANDARD_ALIASES.get(base_font)
        if standard is None:
            return _unsupported(f"font {name} has no widths")
        widths = [_afm_width(standard, text) for text in texts]
    glyphs = []
    for code in range(256):
        # Latin-1 only fills in the text of printable codes; it does not decide widths.
        text = texts[code]
        if text is None and (32 <= code < 127 or code >= 160):
            text = chr(code)
        glyphs.append((widths[code], bool(text) and text.isspace(), text))
    return _Font(two_byte=False, simple=tuple(glyphs))


def _widths_array(font: Any, unit: float, missing: float) -> list[float | None]:
    first = int(font.get("/FirstChar", 0))
    values = [float(v) for v in font.Widths]
    widths: list[float | None] = [missing] * 256
    for offset, value in enumerate(values):
        code = first + offset
        if 0 <= code < 256:
            widths[code] = value * unit
    return widths


def _load_type0(font: Any, name: str) -> _Font:
    import pikepdf

    encoding = font.get("/Encoding")
    if encoding == pikepdf.Name("/Identity-V"):
        return _unsupported(f"vertical writing (font {name}, Identity-V)")
    if encoding != pikepdf.Name("/Identity-H"):
        label = str(encoding) if isinstance(encoding, pikepdf.Name) else "an embedded CMap"
        return _unsupported(f"font {name} uses {label}, not Identity-H")
    descendants = font.get("/DescendantFonts")
    if descendants is None or len(descendants) != 1:
        return _unsupported(f"font {name} has no descendant CIDFont")
    cid_font = descendants[0]
    default = float(cid_font.get("/DW", 1000)) * 0.001
    widths: dict[int, float] = {}
    entries = list(cid_font.get("/W", []))
    i = 0
    while i < len(entries):
        first = int(entries[i])
        if i + 1 < len(entries) and _is_array(entries[i + 1]):
            for offset, value in enumerate(entries[i + 1]):
                widths[first + offset] = float(value) * 0.001
            i += 2
        elif i + 2 < len(entries):
            last, value = int(entries[i + 1]), float(entries[i + 2]) * 0.001
            for cid in range(first, min(last, first + _CMAP_RANGE_LIMIT) + 1):
                widths[cid] = value
            i += 3
        else:
            return _unsupported(f"font {name} has a malformed /W array")
    return _Font(
        two_byte=True,
        widths=widths,
        default_width=default,
        unicode=_to_unicode(font.get("/ToUnicode")),
    )


def _to_unicode(stream: Any) -> dict[int, str]:
    """A ToUnicode CMap's bfchar and bfrange mappings (an unreadable CMap maps nothing)."""
    import pikepdf

    if stream is None or not isinstance(stream, pikepdf.Stream):
        return {}
    mapping: dict[int, str] = {}
    try:
        # A CMap is PostScript, but its tokens are PDF's: pikepdf reads it as a content stream
        # whose "operators" endbfchar / endbfrange carry the pairs / triplets as operands.
        instructions = pikepdf.parse_content_stream(stream)
    except (pikepdf.PdfError, ValueError, TypeError):
        return {}
    for instruction in instructions:
        op = str(instruction.operator)
        operands = list(instruction.operands)
        if op == "endbfchar":
            for i in range(0, len(operands) - 1, 2):
                source, target = operands[i], operands[i + 1]
                if _is_string(source) and _is_string(target):
                    mapping[int.from_bytes(bytes(source), "big")] = _utf16(bytes(target))
        elif op == "endbfrange":
            for i in range(0, len(operands) - 2, 3):
                low, high, target = operands[i : i + 3]
                if not (_is_string(low) and _is_string(high)):
                    continue
                first = int.from_bytes(bytes(low), "big")
                last = min(int.from_bytes(bytes(high), "big"), first + _CMAP_RANGE_LIMIT)
                if _is_array(target):
                    for offset, item in enumerate(list(target)[: last - first + 1]):
                        if _is_string(item):
                            mapping[first + offset] = _utf16(bytes(item))
                elif _is_string(target):
                    base = _utf16(bytes(target))
                    if not base:
                        continue
                    for offset in range(last - first + 1):
                        point = ord(base[-1]) + offset
                        if point > 0x10FFFF:
                            break
                        mapping[first + offset] = base[:-1] + chr(point)
    return mapping


def _utf16(data: bytes) -> str:
    return data.decode("utf-16-be", errors="replace")


def _encoding_names(encoding: Any, standard: str | None) -> list[str | None]:
    """Glyph names per code from /Encoding (base encoding plus /Differences)."""
    import pikepdf

    base: Any = None
    differences: list[Any] = []
    if isinstance(encoding, pikepdf.Name):
        base = str(encoding)
    elif isinstance(encoding, pikepdf.Dictionary):
        base = str(encoding.get("/BaseEncoding")) if "/BaseEncoding" in encoding else None
        differences = list(encoding.get("/Differences", []))
    if base is None and standard is not None:
        base = "/StandardEncoding"
    names = _base_encoding(base)
    code = 0
    for item in differences:
        if _is_number(item):
            code = int(item)
        elif _is_name(item):
            if 0 <= code < 256:
                names[code] = str(item)[1:]
            code += 1
    return names


def _base_encoding(base: str | None) -> list[str | None]:
    names: list[str | None] = [None] * 256
    if base == "/StandardEncoding":
        for code in range(32, 127):
            names[code] = _NAME_OF.get(chr(code))
        for code, name in _STANDARD_ENCODING.items():
            names[code] = name
    elif base in ("/WinAnsiEncoding", "/MacRomanEncoding"):
        codec = "cp1252" if base == "/WinAnsiEncoding" else "mac_roman"
        for code in range(32, 256):
            try:
                names[code] = _NAME_OF.get(bytes([code]).decode(codec))
            except UnicodeDecodeError:
                continue
            # The PDF encodings name these codes after the glyph they draw.
            if base == "/WinAnsiEncoding" and code in (160, 173):
                names[code] = "space" if code == 160 else "hyphen"
            if base == "/MacRomanEncoding" and code == 202:
                names[code] = "space"
    return names


def _glyph_text(name: str) -> str | None:
    """A glyph name's text: common names, uniXXXX, uXXXX[XX]; None if not known."""
    text = _GLYPH_TEXT.get(name)
    if text is not None:
        return text
    base = name.split(".", 1)[0]
    if base != name:
        return _glyph_text(base) if base else None
    try:
        if name.startswith("uni") and len(name) == 7:
            return chr(int(name[3:], 16))
        if name.startswith("u") and 5 <= len(name) <= 7:
            return chr(int(name[1:], 16))
    except ValueError:
        return None
    if "_" in name:
        parts = [_glyph_text(part) for part in name.split("_")]
        return None if None in parts else "".join(parts)  # type: ignore[arg-type]
    return None


def _afm_width(standard: str, text: str | None) -> float | None:
    if text is None:
        return None
    if standard == "Courier":
        return 0.6
    text = {"\xa0": " ", "\xad": "-"}.get(text, text)
    index = _LATIN_INDEX.get(text)
    return None if index is None else _AFM_TABLES[standard][index] * 0.001


# --- standard font data ---------------------------------------------------------------------

# Glyph names of the Adobe standard Latin character set with their code points (hex), in
# code point order: the order of the AFM width rows below.
_LATIN_GLYPHS = (
    "space:20 exclam:21 quotedbl:22 numbersign:23 dollar:24 percent:25 ampersand:26 "
    "quotesingle:27 parenleft:28 parenright:29 asterisk:2a plus:2b comma:2c hyphen:2d period:2e "
    "slash:2f zero:30 one:31 two:32 three:33 four:34 five:35 six:36 seven:37 eight:38 nine:39 "
    "colon:3a semicolon:3b less:3c equal:3d greater:3e question:3f at:40 A:41 B:42 C:43 D:44 "
    "E:45 F:46 G:47 H:48 I:49 J:4a K:4b L:4c M:4d N:4e O:4f P:50 Q:51 R:52 S:53 T:54 U:55 V:56 "
    "W:57 X:58 Y:59 Z:5a bracketleft:5b backslash:5c bracketright:5d asciicircum:5e "
    "underscore:5f grave:60 a:61 b:62 c:63 d:64 e:65 f:66 g:67 h:68 i:69 j:6a k:6b l:6c m:6d "
    "n:6e o:6f p:70 q:71 r:72 s:73 t:74 u:75 v:76 w:77 x:78 y:79 z:7a braceleft:7b bar:7c "
    "braceright:7d asciitilde:7e exclamdown:a1 cent:a2 sterling:a3 currency:a4 yen:a5 "
    "brokenbar:a6 section:a7 dieresis:a8 copyright:a9 ordfeminine:aa guillemotleft:ab "
    "logicalnot:ac registered:ae macron:af degree:b0 plusminus:b1 twosuperior:b2 "
    "threesuperior:b3 acute:b4 mu:b5 paragraph:b6 periodcentered:b7 cedilla:b8 onesuperior:b9 "
    "ordmasculine:ba guillemotright:bb onequarter:bc onehalf:bd threequarters:be "
    "questiondown:bf Agrave:c0 Aacute:c1 Acircumflex:c2 Atilde:c3 Adieresis:c4 Aring:c5 AE:c6 "
    "Ccedilla:c7 Egrave:c8 Eacute:c9 Ecircumflex:ca Edieresis:cb Igrave:cc Iacute:cd "
    "Icircumflex:ce Idieresis:cf Eth:d0 Ntilde:d1 Ograve:d2 Oacute:d3 Ocircumflex:d4 Otilde:d5 "
    "Odieresis:d6 multiply:d7 Oslash:d8 Ugrave:d9 Uacute:da Ucircumflex:db Udieresis:dc "
    "Yacute:dd Thorn:de germandbls:df agrave:e0 aacute:e1 acircumflex:e2 atilde:e3 adieresis:e4 "
    "aring:e5 ae:e6 ccedilla:e7 egrave:e8 eacute:e9 ecircumflex:ea edieresis:eb igrave:ec "
    "iacute:ed icircumflex:ee idieresis:ef eth:f0 ntilde:f1 ograve:f2 oacute:f3 ocircumflex:f4 "
    "otilde:f5 odieresis:f6 divide:f7 oslash:f8 ugrave:f9 uacute:fa ucircumflex:fb udieresis:fc "
    "yacute:fd thorn:fe ydieresis:ff dotlessi:131 Lslash:141 lslash:142 OE:152 oe:153 "
    "Scaron:160 scaron:161 Ydieresis:178 Zcaron:17d zcaron:17e florin:192 circumflex:2c6 "
    "caron:2c7 breve:2d8 dotaccent:2d9 ring:2da ogonek:2db tilde:2dc hungarumlaut:2dd "
    "endash:2013 emdash:2014 quoteleft:2018 quoteright:2019 quotesinglbase:201a "
    "quotedblleft:201c quotedblright:201d quotedblbase:201e dagger:2020 daggerdbl:2021 "
    "bullet:2022 ellipsis:2026 perthousand:2030 guilsinglleft:2039 guilsinglright:203a "
    "fraction:2044 Euro:20ac trademark:2122 minus:2212 fi:fb01 fl:fb02 "
)
# Advance widths (glyph space, thousandths of an em) from the Adobe Core 14 AFM files, one per
# glyph of _LATIN_GLYPHS in that order. Oblique faces share their upright face's widths.
_AFM_WIDTHS = {
    "Helvetica": (
        "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
        "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
        "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
        "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
        "500 500 500 334 260 334 584 333 556 556 556 556 260 556 333 737 370 556 584 737 333 400 "
        "584 333 333 333 556 537 278 333 333 365 556 834 834 834 611 667 667 667 667 667 667 1000 "
        "722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722 722 "
        "667 667 611 556 556 556 556 556 556 889 500 556 556 556 556 278 278 278 278 556 556 556 "
        "556 556 556 556 584 611 556 556 556 556 500 556 500 278 556 222 1000 944 667 500 667 611 "
        "500 556 333 333 333 333 333 333 333 333 556 1000 222 222 222 333 333 333 556 556 350 "
        "1000 1000 333 333 167 556 1000 584 500 500 "
    ),
    "Helvetica-Bold": (
        "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
        "556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 "
        "611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556 333 556 "
        "611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 333 611 556 778 "
        "556 556 500 389 280 389 584 333 556 556 556 556 280 556 333 737 370 556 584 737 333 400 "
        "584 333 333 333 611 556 278 333 333 365 556 834 834 834 611 722 722 722 722 722 722 1000 "
        "722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722 722 "
        "667 667 611 556 556 556 556 556 556 889 556 556 556 556 556 278 278 278 278 611 611 611 "
        "611 611 611 611 584 611 611 611 611 611 556 611 556 278 611 278 1000 944 667 556 667 611 "
        "500 556 333 333 333 333 333 333 333 333 556 1000 278 278 278 500 500 500 556 556 350 "
        "1000 1000 333 333 167 556 1000 584 611 611 "
    ),
    "Times-Roman": (
        "250 333 408 500 500 833 778 180 333 333 500 564 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 278 278 564 564 564 444 921 722 667 667 722 611 556 722 722 333 389 722 "
        "611 889 722 722 556 722 667 556 611 722 722 944 722 722 611 333 278 333 469 500 333 444 "
        "500 444 500 444 333 500 500 278 278 500 278 778 500 500 500 500 333 389 278 500 500 722 "
        "500 500 444 480 200 480 541 333 500 500 500 500 200 500 333 760 276 500 564 760 333 400 "
        "564 300 300 333 500 453 250 333 300 310 500 750 750 750 444 722 722 722 722 722 722 889 "
        "667 611 611 611 611 333 333 333 333 722 722 722 722 722 722 722 564 722 722 722 722 722 "
        "722 556 500 444 444 444 444 444 444 667 444 444 444 444 444 278 278 278 278 500 500 500 "
        "500 500 500 500 564 500 500 500 500 500 500 500 500 278 611 278 889 722 556 389 722 611 "
        "444 500 333 333 333 333 333 333 333 333 500 1000 333 333 333 444 444 444 500 500 350 "
        "1000 1000 333 333 167 500 980 564 556 556 "
    ),
    "Times-Bold": (
        "250 333 555 500 500 1000 833 278 333 333 500 570 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 333 333 570 570 570 500 930 722 667 722 722 667 611 778 778 389 500 778 "
        "667 944 722 778 611 778 722 556 667 722 722 1000 722 722 667 333 278 333 581 500 333 500 "
        "556 444 556 444 333 500 556 278 333 556 278 833 556 500 556 556 444 389 333 556 500 722 "
        "500 500 444 394 220 394 520 333 500 500 500 500 220 500 333 747 300 500 570 747 333 400 "
        "570 300 300 333 556 540 250 333 300 330 500 750 750 750 500 722 722 722 722 722 722 1000 "
        "722 667 667 667 667 389 389 389 389 722 722 778 778 778 778 778 570 778 722 722 722 722 "
        "722 611 556 500 500 500 500 500 500 722 444 444 444 444 444 278 278 278 278 500 556 500 "
        "500 500 500 500 570 500 556 556 556 556 500 556 500 278 667 278 1000 722 556 389 722 667 "
        "444 500 333 333 333 333 333 333 333 333 500 1000 333 333 333 500 500 500 500 500 350 "
        "1000 1000 333 333 167 500 1000 570 556 556 "
    ),
    "Times-Italic": (
        "250 333 420 500 500 833 778 214 333 333 500 675 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 333 333 675 675 675 500 920 611 611 667 722 611 611 722 722 333 444 667 "
        "556 833 667 722 611 722 611 500 556 722 611 833 611 556 556 389 278 389 422 500 333 500 "
        "500 444 500 444 278 500 500 278 278 444 278 722 500 500 500 500 389 389 278 500 444 667 "
        "444 444 389 400 275 400 541 389 500 500 500 500 275 500 333 760 276 500 675 760 333 400 "
        "675 300 300 333 500 523 250 333 300 310 500 750 750 750 500 611 611 611 611 611 611 889 "
        "667 611 611 611 611 333 333 333 333 722 667 722 722 722 722 722 675 722 722 722 722 722 "
        "556 611 500 500 500 500 500 500 500 667 444 444 444 444 444 278 278 278 278 500 500 500 "
        "500 500 500 500 675 500 500 500 500 500 444 500 444 278 556 278 944 667 500 389 556 556 "
        "389 500 333 333 333 333 333 333 333 333 500 889 333 333 333 556 556 556 500 500 350 889 "
        "1000 333 333 167 500 980 675 500 500 "
    ),
    "Times-BoldItalic": (
        "250 389 555 500 500 833 778 278 333 333 500 570 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 333 333 570 570 570 500 832 667 667 667 722 667 667 722 778 389 500 667 "
        "611 889 722 722 611 722 667 556 611 722 667 889 667 611 611 333 278 333 570 500 333 500 "
        "500 444 500 444 333 500 556 278 278 500 278 778 556 500 500 500 389 389 278 556 444 667 "
        "500 444 389 348 220 348 570 389 500 500 500 500 220 500 333 747 266 500 606 747 333 400 "
        "570 300 300 333 576 500 250 333 300 300 500 750 750 750 500 667 667 667 667 667 667 944 "
        "667 667 667 667 667 389 389 389 389 722 722 722 722 722 722 722 570 722 722 722 722 722 "
        "611 611 500 500 500 500 500 500 500 722 444 444 444 444 444 278 278 278 278 500 556 500 "
        "500 500 500 500 570 500 556 556 556 556 444 500 444 278 611 278 944 722 556 389 611 611 "
        "389 500 333 333 333 333 333 333 333 333 500 1000 333 333 333 500 500 500 500 500 350 "
        "1000 1000 333 333 167 500 1000 606 556 556 "
    ),
}
# StandardEncoding where it differs from ASCII (codes 32-126 are ASCII otherwise).
_STANDARD_ENCODING_TEXT = (
    "39:quoteright 96:quoteleft 161:exclamdown 162:cent 163:sterling 164:fraction 165:yen "
    "166:florin 167:section 168:currency 169:quotesingle 170:quotedblleft 171:guillemotleft "
    "172:guilsinglleft 173:guilsinglright 174:fi 175:fl 177:endash 178:dagger 179:daggerdbl "
    "180:periodcentered 182:paragraph 183:bullet 184:quotesinglbase 185:quotedblbase "
    "186:quotedblright 187:guillemotright 188:ellipsis 189:perthousand 191:questiondown "
    "193:grave 194:acute 195:circumflex 196:tilde 197:macron 198:breve 199:dotaccent "
    "200:dieresis 202:ring 203:cedilla 205:hungarumlaut 206:ogonek 207:caron 208:emdash 225:AE "
    "227:ordfeminine 232:Lslash 233:Oslash 234:OE 235:ordmasculine 241:ae 245:dotlessi "
    "248:lslash 249:oslash 250:oe 251:germandbls "
)
_STANDARD_ENCODING: dict[int, str] = {
    int(code): name for code, name in (item.split(":") for item in _STANDARD_ENCODING_TEXT.split())
}

# Glyph names outside the Latin set that producers commonly put in /Differences.
_EXTRA_GLYPHS = (
    "Euro:20ac minus:2212 ff:fb00 ffi:fb03 ffl:fb04 nbspace:a0 sfthyphen:ad fraction:2044"
)

_GLYPH_TEXT: dict[str, str] = {
    name: chr(int(point, 16))
    for name, point in (item.split(":") for item in (_LATIN_GLYPHS + _EXTRA_GLYPHS).split())
}
_NAME_OF: dict[str, str] = {text: name for name, text in _GLYPH_TEXT.items() if name != "nbspace"}
_LATIN_INDEX: dict[str, int] = {
    chr(int(item.split(":")[1], 16)): index for index, item in enumerate(_LATIN_GLYPHS.split())
}
_AFM_TABLES: dict[str, tuple[int, ...]] = {
    font: tuple(int(v) for v in row.split()) for font, row in _AFM_WIDTHS.items()
}

# Base font names (subset prefix removed) that readers draw with a standard font, mapped to the
# AFM table giving their widths; the obliques have their upright face's widths.
_STANDARD_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["Helvetica", "Helvetica-Oblique", "Arial", "Arial,Italic", "ArialMT", "Arial-ItalicMT"],
        "Helvetica",
    ),
    **dict.fromkeys(
        [
            "Helvetica-Bold",
            "Helvetica-BoldOblique",
            "Arial,Bold",
            "Arial,BoldItalic",
            "Arial-BoldMT",
            "Arial-BoldItalicMT",
        ],
        "Helvetica-Bold",
    ),
    **dict.fromkeys(["Times-Roman", "TimesNewRoman", "TimesNewRomanPSMT"], "Times-Roman"),
    **dict.fromkeys(["Times-Bold", "TimesNewRoman,Bold", "TimesNewRomanPS-BoldMT"], "Times-Bold"),
    **dict.fromkeys(
        ["Times-Italic", "TimesNewRoman,Italic", "TimesNewRomanPS-ItalicMT"], "Times-Italic"
    ),
    **dict.fromkeys(
        ["Times-BoldItalic", "TimesNewRoman,BoldItalic", "TimesNewRomanPS-BoldItalicMT"],
        "Times-BoldItalic",
    ),
    **dict.fromkeys(
        [
            "Courier",
            "Courier-Bold",
            "Courier-Oblique",
            "Courier-BoldOblique",
            "CourierNew",
            "CourierNew,Bold",
            "CourierNew,Italic",
            "CourierNew,BoldItalic",
            "CourierNewPSMT",
        ],
        "Courier",
    ),
}
