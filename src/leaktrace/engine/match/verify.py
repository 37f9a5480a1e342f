"""Verifying an alignment: the aligned original and the leak must correlate in intensity and,
above all, in their edges, over the pixels the original explains (captions, stickers and glare
set aside as outliers of a line fitted to the original)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_NCC = 0.5
MIN_EDGE_NCC = 0.25
MIN_TRIMMED_EDGE_NCC = 0.5
MIN_OVERLAP_PIXELS = 4096

__all__ = [
    "MIN_EDGE_NCC",
    "MIN_NCC",
    "MIN_OVERLAP_PIXELS",
    "MIN_TRIMMED_EDGE_NCC",
    "Check",
    "band_pass",
    "correlate_aligned",
    "ncc",
    "verify_alignment",
]


def band_pass(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 1.5) - cv2.GaussianBlur(image, (0, 0), 5.0)


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


@dataclass(frozen=True)
class Check:
    ncc: float  # blurred intensities
    edge_ncc: float  # band-passed: edges must coincide, smooth skies and paper cannot fake it
    coverage: float
    # The same over the pixels the aligned original explains (overlays set aside).
    trimmed_ncc: float = 0.0
    trimmed_edge_ncc: float = 0.0

    def verifies(self, min_ncc: float = MIN_NCC) -> bool:
        if self.edge_ncc >= MIN_EDGE_NCC and self.ncc >= min_ncc:
            return True
        # Setting pixels aside by their fit to the original flatters any alignment's intensity
        # correlation, unrelated pictures included; their edges it cannot make coincide, so
        # the trimmed figures must show edges agreeing far better than the plain gate asks.
        return self.trimmed_edge_ncc >= MIN_TRIMMED_EDGE_NCC and self.trimmed_ncc >= min_ncc

    @property
    def passes(self) -> bool:
        return self.verifies()

    @property
    def clear(self) -> bool:
        """So good that no other hypothesis need be tried. Judged without trimming: a mirrored
        alignment of a near-symmetric drawing correlates perfectly once the few asymmetric
        parts are set aside."""
        return self.edge_ncc >= 0.6 and self.ncc >= 0.85

    @property
    def rank(self) -> tuple[bool, float]:
        # Edge correlation gates but does not rank: over a smaller overlap with less smooth sky
        # it rises, so it would favour alignments that cover less of the picture. A sticker or
        # caption must not make the right alignment lose to a wrong one, nor may trimming make
        # a wrong one of a near-symmetric picture win: rank on both.
        return (self.passes, self.ncc + self.trimmed_ncc)


def verify_alignment(original: np.ndarray, leak: np.ndarray, homography: np.ndarray) -> Check:
    """Correlations of the aligned images over their overlap, and the overlap's share of the leak."""
    height, width = leak.shape
    size = (width, height)
    valid = cv2.warpPerspective(
        np.ones_like(original, dtype=np.uint8), homography, size, flags=cv2.INTER_NEAREST
    )
    valid = cv2.erode(valid, np.ones((9, 9), np.uint8)).astype(bool)
    coverage = float(valid.mean())
    if valid.sum() < MIN_OVERLAP_PIXELS:
        return Check(0.0, 0.0, coverage)
    blurred = cv2.warpPerspective(cv2.GaussianBlur(original, (0, 0), 1.5), homography, size)
    edges = cv2.warpPerspective(band_pass(original), homography, size)
    return correlate_aligned(blurred, edges, leak, valid)


# Pixels further than this many robust standard deviations, and than this share of the leak's
# range, from the aligned original's linear fit are something the original does not show (a
# caption, a sticker, glare).
OUTLIER_SIGMAS = 3.0
OUTLIER_RANGE = 0.2
# Only a minority may be set aside: an alignment that explains less is not one.
MAX_OUTLIER_SHARE = 0.4


def correlate_aligned(
    blurred: np.ndarray, edges: np.ndarray, leak: np.ndarray, valid: np.ndarray
) -> Check:
    """Correlations of the aligned original (blurred, band-passed) with the leak over the
    overlap, leaving out what the leak added on top of the picture.

    Both the plain correlations and the trimmed ones are returned: see :meth:`Check.verifies`.
    """
    leak_blurred = cv2.GaussianBlur(leak, (0, 0), 1.5)
    a, b = blurred[valid].astype(np.float64), leak_blurred[valid].astype(np.float64)
    # The fit's statistics from a sample: medians over a million pixels cost more than the rest.
    sample = slice(None, None, max(1, a.size // 50_000))
    a_s, b_s = a[sample], b[sample]
    # Resampling and blur leave errors of some gray levels along every edge of a flat picture;
    # an overlay differs by a large part of the picture's range.
    low, high = np.percentile(b_s, [1, 99])
    gross = OUTLIER_RANGE * float(high - low)
    inlier_s = np.ones(a_s.size, bool)
    for _ in range(2):  # refit without the outliers, which pull the line towards themselves
        slope = np.cov(a_s[inlier_s], b_s[inlier_s])[0, 1] / max(float(a_s[inlier_s].var()), 1e-9)
        offset = float(np.median((b_s - slope * a_s)[inlier_s]))
        spread = 1.4826 * float(np.median(np.abs(b_s - slope * a_s - offset)[inlier_s]))
        limit = max(OUTLIER_SIGMAS * spread + 2.0, gross)
        inlier_s = np.abs(b_s - slope * a_s - offset) <= limit
    inlier = np.abs(b - slope * a - offset) <= limit
    keep = valid.copy()
    if inlier.mean() >= 1 - MAX_OUTLIER_SHARE:
        keep[valid] = inlier
    outliers = valid & ~keep
    # The band-pass spreads an overlay's edges over its low-pass radius: set that aside too.
    edge_keep = keep & ~cv2.dilate(outliers.astype(np.uint8), np.ones((11, 11), np.uint8)).astype(
        bool
    )
    if edge_keep.sum() < max(MIN_OVERLAP_PIXELS, 0.3 * valid.sum()):
        edge_keep = keep
    leak_edges = band_pass(leak)
    return Check(
        ncc(blurred[valid], leak_blurred[valid]),
        ncc(edges[valid], leak_edges[valid]),
        float(valid.mean()),
        ncc(blurred[keep], leak_blurred[keep]),
        ncc(edges[edge_keep], leak_edges[edge_keep]),
    )
