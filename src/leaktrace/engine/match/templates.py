"""Template search: scale-and-translation guesses for leaks that local features cannot align
(line art, thin drawings), by normalised correlation of whole pictures at low resolution."""

from __future__ import annotations

import cv2
import numpy as np

from leaktrace.engine.match.geometry import resize_matrix, scaled

SEARCH_SIDE = 320
# The largest change of aspect ratio tried as a picture resized into a box of another shape.
MAX_STRETCH = 2.5
# A smaller change of aspect ratio is a crop's own shape, which the even search finds.
MIN_STRETCH = 1.1


def _fits(inner: np.ndarray, outer: np.ndarray) -> bool:
    return 16 <= inner.shape[0] <= outer.shape[0] and 16 <= inner.shape[1] <= outer.shape[1]


def hypotheses(original: np.ndarray, leak: np.ndarray) -> list[np.ndarray]:
    """Scale-and-translation guesses (original -> leak pixels), best first: the original placed
    inside a larger leak (screenshots), or the leak cut out of the original (crops). Line art
    fools local features; whole-image correlation it does not."""
    factor = SEARCH_SIDE / max(original.shape + leak.shape)
    o_small, l_small = scaled(original, factor), scaled(leak, factor)
    if o_small is None or l_small is None:
        return []
    o_small = cv2.GaussianBlur(o_small, (0, 0), 1.0)
    l_small = cv2.GaussianBlur(l_small, (0, 0), 1.0)
    results: list[tuple[float, np.ndarray]] = []
    for scale in np.geomspace(0.25, 4.0, 49):
        # scale = leak pixels per original pixel
        placed = scaled(o_small, scale)
        if placed is not None and _fits(placed, l_small):
            score = cv2.matchTemplate(l_small, placed, cv2.TM_CCOEFF_NORMED)
            _, best, _, (x, y) = cv2.minMaxLoc(score)
            h = np.array([[scale, 0, x / factor], [0, scale, y / factor], [0, 0, 1.0]])
            results.append((best, h))
        cut = scaled(l_small, 1 / scale)
        if cut is not None and _fits(cut, o_small):
            score = cv2.matchTemplate(o_small, cut, cv2.TM_CCOEFF_NORMED)
            _, best, _, (x, y) = cv2.minMaxLoc(score)
            # the leak is the original's window at (x, y), scaled: H = scale * (q - offset)
            shift_x, shift_y = -scale * x / factor, -scale * y / factor
            h = np.array([[scale, 0, shift_x], [0, scale, shift_y], [0, 0, 1.0]])
            results.append((best, h))
    results.sort(key=lambda item: -item[0])
    return [h for score, h in results[:3] if score > 0.3]


def squeezed(leak: np.ndarray, aspect_change: float) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The leak squeezed back along the axis a careless resize into a fixed box stretched, by
    the change of aspect ratio it shows (``original w/h`` over ``leak w/h``; exact for a crop of
    the original's shape); with the homography from squeezed to leak pixels and a label.

    None when the leak keeps about the original's shape: squeezing every such leak would double
    the search's cost on every innocent picture, for crops the even search already finds.
    """
    if 1 / MAX_STRETCH <= aspect_change <= 1 / MIN_STRETCH:
        axis, factor = "x", 1 / aspect_change
        size = (round(leak.shape[1] / factor), leak.shape[0])
    elif MIN_STRETCH <= aspect_change <= MAX_STRETCH:
        axis, factor = "y", aspect_change
        size = (leak.shape[1], round(leak.shape[0] / factor))
    else:
        return None
    if min(size) < 16:
        return None
    picture = cv2.resize(leak, size, interpolation=cv2.INTER_AREA)
    back = resize_matrix(leak.shape[1] / size[0], leak.shape[0] / size[1])
    return picture, back, f"{axis} x{factor:.2f}"
