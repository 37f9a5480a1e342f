"""Word shifts read back from glyph positions: the measurement and the keyed codes."""

from __future__ import annotations

import numpy as np

from leaktrace.engine.watermark.detect import standardized_scores
from leaktrace.media.pdf import wordshift
from leaktrace.media.pdf.text import Word

KEY = bytes(range(32))
PAGE = "ab" * 32


def _page(words_per_line: int = 10, lines: int = 30):
    """Words of 4 glyphs each, one pdfium character per glyph and a generated space between."""
    words, chars, origins = [], [], []
    for line in range(lines):
        y = 700.0 - 14 * line
        for k in range(words_per_line):
            x0 = 72.0 + 60 * k
            words.append(Word(len(words), "word", (x0, y), (1.0, 0.0), 4))
            for g, letter in enumerate("word"):
                chars.append(letter)
                origins.append((x0 + 6 * g, y))
            chars.append(" ")
            origins.append((np.nan, np.nan))  # pdfium gives generated spaces no origin
    return words, "".join(chars), np.array(origins)


def _moved(text, origins, shifts, scale=1.0, offset=(0.0, 0.0)):
    moved = origins.copy()
    for k, shift in enumerate(shifts):  # a word's 4 glyphs, then its generated space
        moved[5 * k : 5 * k + 4, 0] += shift
    return text, moved * scale + np.asarray(offset)


def test_shifts_are_read_back_through_a_scaled_and_moved_page():
    words, text, origins = _page()
    truth = wordshift.shifts(KEY, PAGE, "alice", len(words))
    # a print to PDF that shrank the page to 97 % and moved it
    leak = _moved(text, origins, truth, scale=0.97, offset=(12.0, -8.0))
    measured = wordshift.measure(words, (text, origins), leak)
    assert measured.measured == len(words)
    # the page's fitted move absorbs a few per cent of the keyed shifts, nothing more
    assert np.abs(measured.shifts[: len(words)] - truth).max() < 0.05
    assert np.all(np.sign(measured.shifts[: len(words)]) == np.sign(truth))
    codes = wordshift.packed_codes(KEY, PAGE, ["alice", "bob"], len(words))
    scores = standardized_scores(measured.shifts, codes)
    assert scores[0] > 0.95 * np.sqrt(len(words))  # every word agrees with alice's signs
    assert abs(scores[1]) < 4


def test_an_unmarked_page_measures_nothing_and_scores_no_one():
    words, text, origins = _page()
    measured = wordshift.measure(words, (text, origins), (text, origins.copy()))
    assert measured.measured == len(words)
    assert not np.any(measured.shifts)
    assert not measured.usable  # nothing moved: no evidence to weigh


def test_a_reflowed_word_is_left_out_not_counted():
    words, text, origins = _page()
    truth = wordshift.shifts(KEY, PAGE, "alice", len(words))
    text_leak, leak = _moved(text, origins, truth)
    leak[5:9, 0] += 30.0  # the second word retyped further along
    measured = wordshift.measure(words, (text, origins), (text_leak, leak))
    assert measured.shifts[1] == 0.0 and measured.measured == len(words) - 1


def test_decoys_are_balanced_signs_unlike_any_recipient():
    decoys = wordshift.decoy_codes(KEY, PAGE, 300, 512)
    assert decoys.shape == (512, 304) and set(np.unique(decoys[:, :300])) == {-1, 1}
    assert abs(decoys[:, :300].mean()) < 0.02
    alice = wordshift.word_signs(KEY, PAGE, "alice", 300)
    assert np.abs(decoys[:, :300] @ alice).max() < 300 / 2
