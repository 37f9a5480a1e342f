"""Word shifts: every word of a page moved along its baseline by a keyed ``+-SHIFT_PT``.

Each recipient's copy moves word *k* of a page by ``SHIFT_PT * c_k`` points, where ``c`` is a
keyed sign sequence of (page, recipient); nothing else on the line moves (see
:mod:`leaktrace.pdf.text`, which parses the text state and rewrites the showing operators).

Reading it back from a leaked PDF file: the glyph origins of the leak and of the registered
original are read with pdfium, matched by their text, and the leak's page is mapped onto the
original's by a least-squares affine fit (a print-to-PDF may scale or move the page). What is
left over along each word's baseline is its measured shift ``d_k``. A recipient's score is then
``c . d / |d|``, exactly the page layer's statistic: for an innocent recipient, whose signs are
independent of ``d``, it is a Rademacher sum with unit variance, so the same decoy null model,
Stouffer combination and Bonferroni correction apply.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from leaktrace.watermark import keystream

# 0.2 pt is 0.07 mm: invisible at 200 % zoom (DESIGN.md; 0.5 pt was visible), and recovered
# exactly from a file's glyph positions, which are kept to far better than 0.01 pt.
SHIFT_PT = 0.2
# pdfium truncates fractional glyph widths (pdfTeX's 722.2 becomes 722), so along a line its
# origins drift from the exact ones by up to ~0.4 pt. A word is matched to the nearest pdfium
# character within this distance that shows the word's first letter; both the original and the
# leak are read through pdfium, so the drift cancels in their difference.
MATCH_TOLERANCE_PT = 1.0
# Glyph pairs the affine fit leaves further apart than this are not the same glyph moved by
# a shift: a line reflowed, a word edited. They are left out of the fit and of the scores.
OUTLIER_PT = 4 * SHIFT_PT
MIN_WORDS = 8


def word_signs(key: bytes, page_sha256: str, recipient_id: str, words: int) -> np.ndarray:
    """The recipient's sign (+-1, int8) for every word of the page."""
    seed = keystream.derive_seed(key, "word-shift", page_sha256, recipient_id)
    return keystream.sign_bits(seed, words)


def shifts(key: bytes, page_sha256: str, recipient_id: str, words: int) -> np.ndarray:
    """How far (points) the recipient's copy moves each word along its baseline."""
    return SHIFT_PT * word_signs(key, page_sha256, recipient_id, words).astype(np.float64)


def padded(words: int) -> int:
    """Code length of a page with ``words`` words: the packed form scores 8 signs per byte."""
    return -(-words // 8) * 8


def packed_codes(key: bytes, page_sha256: str, recipient_ids: list[str], words: int) -> np.ndarray:
    """(N, padded / 8) uint8: each recipient's signs packed MSB first, zero-padded (the padding
    meets zeros in the measurement, so it never counts)."""
    length = padded(words)
    rows = np.zeros((len(recipient_ids), length), dtype=np.uint8)
    for row, rid in enumerate(recipient_ids):
        rows[row, :words] = word_signs(key, page_sha256, rid, words) > 0
    return np.packbits(rows, axis=1)


def decoy_codes(key: bytes, page_sha256: str, words: int, count: int) -> np.ndarray:
    """(count, padded) int8: signs of recipients that do not exist, for the null model (one
    keystream for all of them: identify draws thousands per page)."""
    codes = np.ones((count, padded(words)), dtype=np.int8)
    seed = keystream.derive_seed(key, "word-shift-decoys", page_sha256)
    codes[:, :words] = keystream.sign_bits(seed, count * words).reshape(count, words)
    return codes


@dataclass(frozen=True)
class Measurement:
    """Each word's measured shift (points along its baseline; 0 where not measured)."""

    shifts: np.ndarray  # (padded,) float64
    measured: int  # words found in the leak
    words: int  # words the original page has
    residual_pt: float  # median |d| over measured words, for the report

    @property
    def usable(self) -> bool:
        return self.measured >= MIN_WORDS and bool(np.any(self.shifts))


def _first_chars(words, text: str, origins: np.ndarray) -> np.ndarray:
    """Index of the pdfium character at each word's first glyph, or -1."""
    found = np.full(len(words), -1, dtype=np.int64)
    if len(origins) == 0:
        return found
    for k, word in enumerate(words):
        distance = np.hypot(origins[:, 0] - word.origin[0], origins[:, 1] - word.origin[1])
        if word.text:  # a ligature or a neighbour's glyph nearby must not stand in for it
            distance[[c != word.text[0] for c in text]] = np.inf
        nearest = int(np.argmin(distance))
        if distance[nearest] <= MATCH_TOLERANCE_PT:
            found[k] = nearest
    return found


def _char_map(original_text: str, leak_text: str) -> np.ndarray:
    """For each original character, the index of the same character in the leak, or -1."""
    mapping = np.full(len(original_text), -1, dtype=np.int64)
    if original_text == leak_text:
        mapping[:] = np.arange(len(original_text))
        return mapping
    matcher = difflib.SequenceMatcher(None, original_text, leak_text, autojunk=False)
    for block in matcher.get_matching_blocks():
        mapping[block.a : block.a + block.size] = np.arange(block.b, block.b + block.size)
    return mapping


def _affine_fit(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """(3, 2) least-squares affine map source -> target, refitted without gross outliers."""
    keep = np.ones(len(source), dtype=bool)
    design = np.column_stack([source, np.ones(len(source))])
    matrix = None
    for _ in range(3):
        if keep.sum() < 3:
            return None
        matrix, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
        error = np.hypot(*(design @ matrix - target).T)
        keep = error <= max(OUTLIER_PT, 3 * float(np.median(error[keep])))
    return matrix


def measure(words, original: tuple[str, np.ndarray], leak: tuple[str, np.ndarray]) -> Measurement:
    """Each word's shift in ``leak`` relative to ``original`` (both ``glyph_origins`` results).

    ``words`` are the original page's words (:func:`leaktrace.pdf.text.page_words`).
    """
    original_text, original_xy = original
    leak_text, leak_xy = leak
    total = padded(len(words))
    empty = Measurement(np.zeros(total), 0, len(words), 0.0)
    first = _first_chars(words, original_text, original_xy)
    mapping = _char_map(original_text, leak_text)
    paired = np.flatnonzero(mapping >= 0)
    if len(paired) < MIN_WORDS:
        return empty
    fit = _affine_fit(original_xy[paired], leak_xy[mapping[paired]])
    if fit is None:
        return empty
    linear = fit[:2]
    # Glyph displacement expressed back in the original's points: invert the fit's linear part.
    try:
        back = np.linalg.inv(linear)
    except np.linalg.LinAlgError:
        return empty
    d = np.zeros(total)
    measured = 0
    for k, word in enumerate(words):
        start = first[k]
        if start < 0:
            continue
        chars = np.arange(start, min(start + max(word.glyphs, 1), len(original_text)))
        chars = chars[mapping[chars] >= 0]
        if len(chars) == 0:
            continue
        predicted = np.column_stack([original_xy[chars], np.ones(len(chars))]) @ fit
        moved = (leak_xy[mapping[chars]] - predicted) @ back
        along = moved @ np.asarray(word.direction, dtype=np.float64)
        if np.abs(along).max() > OUTLIER_PT:  # not this word moved by a shift: leave it out
            continue
        d[k] = float(np.median(along))
        measured += 1
    residual = float(np.median(np.abs(d[d != 0]))) if measured else 0.0
    return Measurement(d, measured, len(words), residual)
