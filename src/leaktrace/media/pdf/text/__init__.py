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

Modules, by responsibility:

* :mod:`.content` reads a page's content stream with ``pikepdf.parse_content_stream`` (qpdf's
  tokenizer; a sentinel operator shows whether it read to the end) and tells which forms show
  text; :mod:`.operands` checks operands and multiplies matrices;
* :mod:`.fonts` and :mod:`.standard_fonts`: each code's width, text and separator role;
* :mod:`.words` replays the text state to find every word and where it sits in the stream;
* :mod:`.moving` inserts the TJ adjustments and writes the stream back with
  ``pikepdf.unparse_content_stream``;
* :mod:`.glyphs` reads what pdfium places on a page (character origins and boxes).

Tokenizing and writing content streams is pikepdf's. What stays hand-written is the text state
itself and the width tables: no maintained library gives a glyph's origin *together with* its
position in the instruction list, which moving one word needs (pdfminer.six and pdfplumber
compute positions but cannot map them back to an operand; pdfium places glyphs but does not
rewrite streams), and ToUnicode CMaps are read through pikepdf's tokenizer rather than a parser
of our own.
"""

from leaktrace.media.pdf.text.glyphs import Glyphs, glyph_origins, read_glyphs
from leaktrace.media.pdf.text.moving import shift_words
from leaktrace.media.pdf.text.words import BREAK_KERN, PageWords, Word, page_words

__all__ = [
    "BREAK_KERN",
    "Glyphs",
    "PageWords",
    "Word",
    "glyph_origins",
    "page_words",
    "read_glyphs",
    "shift_words",
]
