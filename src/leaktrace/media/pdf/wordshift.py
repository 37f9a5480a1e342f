"""Word shifts: every word of a page moved along its baseline by a keyed ``+-SHIFT_PT``.

Each recipient's copy moves word *k* of a page by ``SHIFT_PT * c_k`` points, where ``c`` is a
keyed sign sequence of (page, recipient); nothing else on the line moves (see
:mod:`leaktrace.media.pdf.text`, which parses the text state and rewrites the showing operators).

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

from leaktrace.engine.watermark import keystream

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
RESOLUTION_PT = 1e-3


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

    ``words`` are the original page's words (:func:`leaktrace.media.pdf.text.page_words`).
    """
    original_text, original_xy = original
    leak_text, leak_xy = leak
    total = padded(len(words))
    empty = Measurement(np.zeros(total), 0, len(words), 0.0)
    first = _first_chars(words, original_text, original_xy)
    mapping = _char_map(original_text, leak_text)
    paired = np.flatnonzero(mapping >= 0)
    # pdfium gives some generated characters no origin: they can neither fit nor be measured
    paired = paired[
        np.isfinite(original_xy[paired]).all(axis=1)
        & np.isfinite(leak_xy[mapping[paired]]).all(axis=1)
    ]
    if len(paired) < MIN_WORDS:
        return empty
    # Each word's glyphs, as (original character, leak character) index pairs.
    members: list[np.ndarray] = []
    for k, word in enumerate(words):
        chars = np.zeros(0, dtype=np.int64)
        if first[k] >= 0:
            chars = np.arange(first[k], min(first[k] + max(word.glyphs, 1), len(original_text)))
            chars = chars[mapping[chars] >= 0]
            chars = chars[
                np.isfinite(original_xy[chars]).all(axis=1)
                & np.isfinite(leak_xy[mapping[chars]]).all(axis=1)
            ]
        members.append(chars)
    # The page's own move (a print scales and shifts it) is fitted to every glyph. The words'
    # keyed shifts pull that fit by their projection on its six parameters, a few per cent of
    # the signal on a page of hundreds of words; refitting without them changes nothing (the
    # estimate is the fit's fixed point), so the fit is done once.
    fit = _affine_fit(original_xy[paired], leak_xy[mapping[paired]])
    if fit is None:
        return empty
    try:  # displacements expressed back in the original's points
        back = np.linalg.inv(fit[:2])
    except np.linalg.LinAlgError:
        return empty
    d = np.zeros(total)
    kept = np.zeros(len(words), dtype=bool)
    for k, word in enumerate(words):
        chars = members[k]
        if len(chars) == 0:
            continue
        predicted = np.column_stack([original_xy[chars], np.ones(len(chars))]) @ fit
        along = ((leak_xy[mapping[chars]] - predicted) @ back) @ np.asarray(word.direction)
        if np.abs(along).max() > OUTLIER_PT:  # not this word moved by a shift: leave it out
            continue
        d[k] = float(np.median(along))
        kept[k] = True
    # pdfium keeps positions as float32: anything below its resolution is no move at all
    d[np.abs(d) < RESOLUTION_PT] = 0.0
    measured = int(kept.sum())
    residual = float(np.median(np.abs(d[: len(words)][kept]))) if measured else 0.0
    return Measurement(d, measured, len(words), residual)


# --- reading the shifts from a picture of the page ------------------------------------------

# Pixels of context around a word's box: its first and last glyph edges must be inside.
BOX_MARGIN_PX = 3
# A word estimated to have moved further than this is not showing a shift (an overlay, a
# misaligned region): it is left out rather than allowed to dominate.
IMAGE_OUTLIER_PT = 3 * SHIFT_PT
# Words narrower than this many leak pixels carry too few edges to locate.
MIN_WORD_PX = 4
# Before the local misregistration is taken out, estimates beyond this are failures.
RAW_LIMIT_PT = 3.0
# Words whose mean shift is taken as their region's misregistration: enough that the keyed
# +-SHIFT_PT of the words themselves average out (to SHIFT_PT / sqrt(32) ~ 0.035 pt).
NEIGHBOURS = 32


@dataclass(frozen=True)
class WordGeometry:
    """Where each word of a page sits in the page's registered render (pixels)."""

    boxes: np.ndarray  # (K, 4) x0, y0, x1, y1; NaN where the word was not found
    origins: np.ndarray  # (K, 2) the first glyph's origin
    directions: np.ndarray  # (K, 2) render pixels per point along the word's baseline


def word_geometry(words, glyphs) -> WordGeometry:
    """Each word's box, origin and baseline in render pixels, from pdfium's glyphs of the
    original (:func:`leaktrace.media.pdf.text.read_glyphs` with the render's size)."""
    count = len(words)
    boxes = np.full((count, 4), np.nan)
    origins = np.full((count, 2), np.nan)
    directions = np.full((count, 2), np.nan)
    if glyphs.to_device is None or count == 0:
        return WordGeometry(boxes, origins, directions)
    to_device = glyphs.to_device
    linear = to_device[:, :2]
    first = _first_chars(words, glyphs.chars, glyphs.origins)
    for k, word in enumerate(words):
        start = first[k]
        if start < 0:
            continue
        chars = np.arange(start, min(start + max(word.glyphs, 1), len(glyphs.chars)))
        corners = glyphs.boxes[chars]
        corners = corners[np.isfinite(corners).all(axis=1)]
        if len(corners) == 0:
            continue
        # all four corners of every glyph box, mapped: a rotated page turns the boxes
        xs = np.concatenate([corners[:, 0], corners[:, 2], corners[:, 0], corners[:, 2]])
        ys = np.concatenate([corners[:, 1], corners[:, 1], corners[:, 3], corners[:, 3]])
        device = (linear @ np.vstack([xs, ys])).T + to_device[:, 2]
        boxes[k] = (*device.min(axis=0), *device.max(axis=0))
        origins[k] = linear @ np.asarray(word.origin) + to_device[:, 2]
        directions[k] = linear @ np.asarray(word.direction)
    return WordGeometry(boxes, origins, directions)


def _to_leak(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.column_stack([points, np.ones(len(points))]) @ homography.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]


def measure_image(
    geometry: WordGeometry,
    original_luma: np.ndarray,
    leak_luma: np.ndarray,
    homography: np.ndarray,
    local_warp=None,
) -> Measurement:
    """Each word's shift (points) in a picture of the page, against the registered render.

    The original render is warped into the leak's frame (the leak's own noise is not
    resampled); around each word the leak is fitted as ``a + b * O + c * dO/du``, O the warped
    original and u the word's baseline direction there, so ``-c / b`` is how far the word moved
    (the first-order expansion of O shifted along u). Each estimate is weighted by its
    precision, ``b^2 * sum (dO/du)^2``, which depends on the original and the geometry only, so
    the scores' null stays that of independent keyed signs.
    """
    import cv2

    from leaktrace.engine.match.refine import warp_original

    count = len(geometry.boxes)
    total = padded(count)
    empty = Measurement(np.zeros(total), 0, count, 0.0)
    found = np.isfinite(geometry.boxes).all(axis=1)
    if found.sum() < MIN_WORDS:
        return empty
    warped, valid = warp_original(original_luma, homography, leak_luma.shape, local_warp)
    leak = leak_luma.astype(np.float32)
    grad_x = cv2.Sobel(warped, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    grad_y = cv2.Sobel(warped, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    height, width = leak.shape
    y = np.zeros(total)
    located = []
    for k in np.flatnonzero(found):
        x0, y0, x1, y1 = geometry.boxes[k]
        corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]])
        mapped = _to_leak(homography, corners)
        lo = np.floor(mapped.min(axis=0)).astype(int) - BOX_MARGIN_PX
        hi = np.ceil(mapped.max(axis=0)).astype(int) + BOX_MARGIN_PX + 1
        lo, hi = np.maximum(lo, 0), np.minimum(hi, (width, height))
        if hi[0] - lo[0] < MIN_WORD_PX or hi[1] - lo[1] < 2:
            continue
        window = (slice(lo[1], hi[1]), slice(lo[0], hi[0]))
        if not valid[window].all():
            continue
        # the baseline direction in the leak: one point along it, mapped
        ends = _to_leak(
            homography,
            np.array([geometry.origins[k], geometry.origins[k] + geometry.directions[k]]),
        )
        along = ends[1] - ends[0]
        px_per_pt = float(np.hypot(*along))
        if px_per_pt <= 0 or not np.isfinite(px_per_pt):
            continue
        ux, uy = along / px_per_pt
        gradient = (grad_x[window] * ux + grad_y[window] * uy).ravel().astype(np.float64)
        design = np.column_stack(
            [np.ones(gradient.size), warped[window].ravel().astype(np.float64), gradient]
        )
        target = leak[window].ravel().astype(np.float64)
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        contrast = coef[1]
        energy = float(np.sum(gradient * gradient))
        if contrast <= 0.05 or energy <= 0:
            continue
        moved_pt = -coef[2] / contrast / px_per_pt
        if abs(moved_pt) > RAW_LIMIT_PT:
            continue
        located.append((k, moved_pt, contrast * contrast * energy, *mapped.mean(axis=0)))
    if len(located) < MIN_WORDS:
        return empty
    index, moved, weight, xs, ys = (np.array(column) for column in zip(*located, strict=True))
    index = index.astype(int)
    moved = moved - _local_bias(moved, np.column_stack([xs, ys]))
    keep = np.abs(moved) <= IMAGE_OUTLIER_PT
    y[index[keep]] = moved[keep] * weight[keep]
    measured = int(keep.sum())
    residual = float(np.median(np.abs(moved[keep]))) if measured else 0.0
    return Measurement(y, measured, count, residual)


def _local_bias(moved: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The mean shift of each word's nearest neighbours (itself left out; failed estimates,
    beyond ``IMAGE_OUTLIER_PT``, clipped so that they cannot drag it).

    A registration a fraction of a pixel off moves every word of a region alike; keyed signs
    are independent of where a word is, so taking the neighbourhood's mean out removes the
    misregistration and leaves each word's own shift (and no recipient's signs enter it).
    """
    count = len(moved)
    neighbours = min(NEIGHBOURS, count - 1)
    distance = np.hypot(*(positions[:, None, :] - positions[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(distance, np.inf)
    nearest = np.argpartition(distance, neighbours - 1, axis=1)[:, :neighbours]
    clipped = np.clip(moved, -IMAGE_OUTLIER_PT, IMAGE_OUTLIER_PT)
    return clipped[nearest].mean(axis=1)
