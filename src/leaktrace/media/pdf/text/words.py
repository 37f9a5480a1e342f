"""The words of a page: the text state replayed operator by operator (see the package's
docstring for what is handled and what is left alone)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leaktrace.media.pdf.text.content import (
    KNOWN_OPS,
    SHOW_OPS,
    form_has_text,
    inherited,
    page_object,
    parse_page_content,
)
from leaktrace.media.pdf.text.fonts import Font, load_font, unsupported_font
from leaktrace.media.pdf.text.operands import (
    IDENTITY,
    MalformedStream,
    Matrix,
    UnsupportedText,
    is_array,
    is_dictionary,
    is_name,
    is_number,
    is_stream,
    is_string,
    lookup,
    matrix,
    mul,
    numbers,
)

if TYPE_CHECKING:
    import pikepdf

# TJ numbers below this (thousandths of a text space unit, i.e. of the font size) end a word:
# word spaces written as kerns are -250 to -450 here, letter kerning is within +-100.
BREAK_KERN = -200.0


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
    analysis = analyse_page(page)
    return PageWords(words=[w.word for w in analysis.words], skipped=analysis.skipped)


@dataclass(frozen=True)
class PlacedWord:
    """A word and where it sits in the stream, for the rewrite."""

    word: Word
    op_index: int
    start: tuple[int, int]  # (element, byte offset) of its first glyph
    end: tuple[int, int]  # (element, byte offset) just after its last glyph
    per_point: float  # TJ thousandths per point of movement along the baseline


@dataclass(frozen=True)
class StreamAnalysis:
    instructions: list[Any]
    words: list[PlacedWord]
    skipped: list[str]


@dataclass
class _GState:
    ctm: Matrix = IDENTITY
    font: Font | None = None
    font_name: str = ""
    size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0

    def copy(self) -> _GState:
        return _GState(**self.__dict__)


def analyse_page(page: Any) -> StreamAnalysis:
    import pikepdf

    try:
        instructions = parse_page_content(page_object(page))
    except (pikepdf.PdfError, ValueError, TypeError) as exc:
        lines = str(exc).strip().splitlines()
        return StreamAnalysis([], [], [f"unreadable content stream ({lines[0] if lines else exc})"])
    if instructions is None:
        return StreamAnalysis(
            [], [], ["page left alone: content stream ends inside a token or with stray operands"]
        )
    walker = _Walker(inherited(page_object(page), "/Resources"))
    try:
        walker.run(instructions)
    except MalformedStream as exc:
        return StreamAnalysis([], [], [f"page left alone: {exc}"])
    except (pikepdf.PdfError, AttributeError, TypeError, ValueError, KeyError) as exc:
        # Objects of the wrong type where resources should be: nothing there is trusted.
        return StreamAnalysis(
            [], [], [f"page left alone: malformed objects ({type(exc).__name__})"]
        )
    return StreamAnalysis(instructions, walker.words, walker.skipped)


class _Walker:
    """Replays one content stream's graphics and text state."""

    def __init__(self, resources: Any) -> None:
        self.resources = resources
        self.fonts: dict[Any, Font] = {}
        self.forms: dict[Any, bool] = {}
        self.words: list[PlacedWord] = []
        self.skipped: list[str] = []
        self.gs = _GState()
        self.stack: list[_GState] = []
        self.in_text = False
        self.tm: Matrix = IDENTITY
        self.tlm: Matrix = IDENTITY
        # None when the text position is known; else why not (the last unmeasurable text).
        self.lost: str | None = None
        self.compat = 0

    def run(self, instructions: list[Any]) -> None:
        for index, instruction in enumerate(instructions):
            op = str(instruction.operator)
            operands = instruction.operands
            # qpdf reports a token it could not read (a stray ] or >>) as a null operand.
            if any(operand is None for operand in operands):
                raise MalformedStream(f"unreadable token before {op!r}")
            if op in SHOW_OPS:
                self._show(index, op, operands)
            elif op not in KNOWN_OPS:
                if self.compat == 0:
                    raise MalformedStream(f"unknown operator {op!r} outside BX/EX")
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
            gs.ctm = mul(matrix(op, operands), gs.ctm)
        elif op == "BT":
            self.in_text = True
            self.tm = self.tlm = IDENTITY
            self.lost = None
        elif op == "ET":
            self.in_text = False
        elif op == "Tf":
            if len(operands) != 2 or not is_name(operands[0]) or not is_number(operands[1]):
                raise MalformedStream("Tf needs a font name and a size")
            gs.font_name = str(operands[0])
            gs.font = self._font(gs.font_name)
            gs.size = float(operands[1])
        elif op == "Tc":
            gs.char_spacing = numbers(op, operands, 1)[0]
        elif op == "Tw":
            gs.word_spacing = numbers(op, operands, 1)[0]
        elif op == "Tz":
            gs.scale = numbers(op, operands, 1)[0] / 100.0
        elif op == "TL":
            gs.leading = numbers(op, operands, 1)[0]
        elif op == "Ts":
            gs.rise = numbers(op, operands, 1)[0]
        elif op in ("Td", "TD"):
            tx, ty = numbers(op, operands, 2)
            if op == "TD":
                gs.leading = -ty
            self._next_line(tx, ty)
        elif op == "T*":
            self._next_line(0.0, -gs.leading)
        elif op == "Tm":
            self.tm = self.tlm = matrix(op, operands)
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
        self.tlm = mul((1.0, 0.0, 0.0, 1.0, tx, ty), self.tlm)
        self.tm = self.tlm
        self.lost = None

    def _ext_gstate(self, operands: Any) -> None:
        # An ExtGState may set the font (/Font [font size]); nothing else in it moves text.
        if len(operands) != 1 or not is_name(operands[0]):
            return
        entry = lookup(lookup(lookup(self.resources, "/ExtGState"), str(operands[0])), "/Font")
        if entry is None:
            return
        if not is_array(entry) or len(entry) != 2 or not is_number(entry[1]):
            raise MalformedStream(f"ExtGState {operands[0]} has a malformed /Font")
        self.gs.font_name = f"{operands[0]} (ExtGState)"
        self.gs.font = self._load(entry[0], self.gs.font_name)
        self.gs.size = float(entry[1])

    def _do(self, operands: Any) -> None:
        if len(operands) != 1 or not is_name(operands[0]):
            return
        xobject = lookup(lookup(self.resources, "/XObject"), str(operands[0]))
        if not is_stream(xobject) or xobject.get("/Subtype") != "/Form":
            return
        if form_has_text(xobject, self.forms, 0):
            self.skipped.append(f"text inside form XObject {operands[0]}")

    # fonts

    def _font(self, name: str) -> Font | None:
        font = lookup(lookup(self.resources, "/Font"), name)
        return None if font is None else self._load(font, name)

    def _load(self, font: Any, name: str) -> Font:
        if not is_dictionary(font):
            return unsupported_font(f"font {name} is not a dictionary")
        key = font.objgen if font.is_indirect else None
        if key is not None and key in self.fonts:
            return self.fonts[key]
        loaded = load_font(font, name)
        if key is not None:
            self.fonts[key] = loaded
        return loaded

    # text showing

    def _show(self, index: int, op: str, operands: Any) -> None:
        gs = self.gs
        if op == "Tj":
            if len(operands) != 1 or not is_string(operands[0]):
                raise MalformedStream("Tj needs one string")
            elements: list[Any] = [operands[0]]
        elif op == "TJ":
            if len(operands) != 1 or not is_array(operands[0]):
                raise MalformedStream("TJ needs one array")
            elements = list(operands[0])
            if not all(is_string(e) or is_number(e) for e in elements):
                raise MalformedStream("TJ array holds something but strings and numbers")
        elif op == "'":
            if len(operands) != 1 or not is_string(operands[0]):
                raise MalformedStream("' needs one string")
            self._next_line(0.0, -gs.leading)
            elements = [operands[0]]
        else:
            if len(operands) != 3 or not is_string(operands[2]):
                raise MalformedStream('" needs two numbers and a string')
            gs.word_spacing, gs.char_spacing = numbers(op, operands[:2], 2)
            self._next_line(0.0, -gs.leading)
            elements = [operands[2]]
        if not any(is_string(e) and len(bytes(e)) for e in elements):
            # Numbers alone still move the text position; no font is needed for that.
            kerns = sum(float(e) for e in elements if not is_string(e))
            self.tm = mul((1.0, 0.0, 0.0, 1.0, -kerns / 1000.0 * gs.size * gs.scale, 0.0), self.tm)
            return
        reason = self._why_not(gs)
        if reason is not None:
            self.skipped.append(reason)
            self.lost = reason
            return
        try:
            words, advance = self._measure(index, elements)
        except UnsupportedText as exc:
            self.skipped.append(str(exc))
            self.lost = str(exc)
            return
        first = len(self.words)
        for k, placed in enumerate(words):
            word = placed.word
            self.words.append(
                PlacedWord(
                    word=Word(first + k, word.text, word.origin, word.direction, word.glyphs),
                    op_index=placed.op_index,
                    start=placed.start,
                    end=placed.end,
                    per_point=placed.per_point,
                )
            )
        self.tm = mul((1.0, 0.0, 0.0, 1.0, advance, 0.0), self.tm)

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
        matrix = mul(self.tm, gs.ctm)
        if math.hypot(matrix[0], matrix[1]) == 0.0:
            return "degenerate text matrix"
        return None

    def _measure(self, index: int, elements: list[Any]) -> tuple[list[PlacedWord], float]:
        """The words of one showing operator and its total advance in text space."""
        gs = self.gs
        font = gs.font
        assert font is not None
        matrix = mul(self.tm, gs.ctm)
        a, b, c, d, e, f = matrix
        length = math.hypot(a, b)
        direction = (a / length, b / length)
        size, spacing, hscale = gs.size, gs.char_spacing, gs.scale
        per_point = 1000.0 / (size * hscale * length)
        rise = gs.rise
        step = 2 if font.two_byte else 1
        x = 0.0
        words: list[PlacedWord] = []
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
                PlacedWord(
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
            if not is_string(element):
                adjust = float(element)
                x -= adjust / 1000.0 * size * hscale
                if adjust < BREAK_KERN:
                    close()
                continue
            data = bytes(element)
            if len(data) % step:
                raise UnsupportedText(f"odd byte count in a two-byte string of font {gs.font_name}")
            for offset in range(0, len(data), step):
                code = data[offset] if step == 1 else (data[offset] << 8) | data[offset + 1]
                width, separator, text = font.glyph(code)
                if width is None:
                    raise UnsupportedText(f"font {gs.font_name} has no width for code {code}")
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
