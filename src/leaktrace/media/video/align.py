"""Which original frame each frame of a leaked clip shows.

Leaks are trimmed, re-timed (30 -> 24 fps drops frames), sped up (x1.25), and stuttered by
players and screen recorders that drop or repeat frames. Once one leak frame is registered onto
the original (a homography, any geometry: crop, story, screen or phone recording), every sampled
leak frame is warped into the frame of the original's thumbnails and correlated with all of
them (:func:`thumbnail_scores`). A robust straight-line fit of original time against leak time
(:func:`fit_time_map`: RANSAC over the best peaks, slopes 0.5-2) ties the samples together, so a
static stretch or a repeated frame cannot pull one sample away; each sample then takes the best
frame within a few frames of the line (dropped and duplicated frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from leaktrace.media.video.fingerprint import VideoFingerprint

MIN_THUMB_NCC = 0.5
SLOPES = (0.5, 2.0)


def thumbnail_scores(
    fingerprint: VideoFingerprint, leak_luma: np.ndarray, homography: np.ndarray
) -> np.ndarray:
    """Correlation of the leak frame (through ``homography``, original -> leak pixels) with
    every original frame's thumbnail, over the part of the thumbnail the leak shows."""
    thumbs = fingerprint.thumbs
    t_h, t_w = thumbs.shape[1:]
    sx, sy = t_w / fingerprint.width, t_h / fingerprint.height
    # thumbnail pixel centre -> original pixel centre
    to_original = np.array([[1 / sx, 0, 0.5 / sx - 0.5], [0, 1 / sy, 0.5 / sy - 0.5], [0, 0, 1.0]])
    to_leak = homography @ to_original
    leak_per_thumb = float(np.sqrt(abs(np.linalg.det(to_leak[:2, :2] / to_leak[2, 2]))))
    leak = np.asarray(leak_luma, dtype=np.float32)
    if leak_per_thumb > 1.5:
        leak = cv2.GaussianBlur(leak, (0, 0), 0.5 * leak_per_thumb)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(leak, to_leak, (t_w, t_h), flags=flags)
    cover = cv2.warpPerspective(np.ones_like(leak), to_leak, (t_w, t_h), flags=flags)
    valid = cover > 0.999
    if valid.sum() < 16:
        return np.zeros(len(thumbs))
    a = warped[valid].astype(np.float64)
    a -= a.mean()
    b = thumbs[:, valid].astype(np.float64)
    b -= b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum() * (b * b).sum(axis=1))
    return np.where(denominator > 0, b @ a / np.maximum(denominator, 1e-9), 0.0)


def _peaks(scores: np.ndarray, count: int = 3, spacing: int = 5) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    chosen: list[int] = []
    for index in order:
        if scores[index] < MIN_THUMB_NCC or len(chosen) >= count:
            break
        if all(abs(int(index) - c) > spacing for c in chosen):
            chosen.append(int(index))
    return chosen


@dataclass(frozen=True)
class TimeMap:
    """Original time = ``slope`` * leak time + ``offset`` (seconds)."""

    slope: float
    offset: float
    inliers: int
    samples: int

    def __call__(self, leak_seconds: float) -> float:
        return self.slope * leak_seconds + self.offset

    def to_dict(self) -> dict:
        return {
            "slope": round(self.slope, 5),
            "offset_s": round(self.offset, 4),
            "inliers": self.inliers,
            "samples": self.samples,
        }


def fit_time_map(
    leak_times: list[float], candidates: list[list[tuple[float, float]]], *, tolerance: float = 0.1
) -> TimeMap | None:
    """Robust line through (leak time, original time) candidates: each sample offers a few
    (original time, score) peaks; the line with the largest summed score of samples within
    ``tolerance`` seconds wins and is refitted by least squares on them."""
    points = [
        (tau, t, s) for tau, options in zip(leak_times, candidates, strict=True) for t, s in options
    ]
    if not points:
        return None
    hypotheses: list[tuple[float, float]] = [(1.0, t - tau) for tau, t, _ in points]
    for i, (tau_i, t_i, _) in enumerate(points):
        for tau_j, t_j, _ in points[i + 1 :]:
            if tau_j - tau_i > 1e-6:
                slope = (t_j - t_i) / (tau_j - tau_i)
                if SLOPES[0] <= slope <= SLOPES[1]:
                    hypotheses.append((slope, t_i - slope * tau_i))
    best, best_score = None, -1.0
    for slope, offset in hypotheses:
        score = 0.0
        for tau, options in zip(leak_times, candidates, strict=True):
            near = [s for t, s in options if abs(slope * tau + offset - t) <= tolerance]
            score += max(near, default=0.0)
        # Prefer the plain speed among equally good lines (a static clip fits any slope).
        score -= 1e-3 * abs(slope - 1.0)
        if score > best_score:
            best, best_score = (slope, offset), score
    slope, offset = best
    xs, ys = [], []
    for tau, options in zip(leak_times, candidates, strict=True):
        near = [
            (abs(slope * tau + offset - t), t)
            for t, _ in options
            if abs(slope * tau + offset - t) <= tolerance
        ]
        if near:
            xs.append(tau)
            ys.append(min(near)[1])
    if len(xs) >= 3 and max(xs) - min(xs) > 0.5:
        refit = np.polyfit(xs, ys, 1)
        if SLOPES[0] <= refit[0] <= SLOPES[1]:
            slope, offset = float(refit[0]), float(refit[1])
    return TimeMap(float(slope), float(offset), len(xs), len(leak_times))


def align_frames(
    fingerprint: VideoFingerprint,
    leak_times: list[float],
    scores: list[np.ndarray],
    *,
    search_frames: int = 3,
) -> tuple[TimeMap | None, list[int | None]]:
    """Each sample's original frame index (None where it shows none), and the time map.

    ``scores`` are the samples' :func:`thumbnail_scores`.
    """
    times = fingerprint.times
    candidates = [[(float(times[i]), float(s[i])) for i in _peaks(s)] for s in scores]
    time_map = fit_time_map(leak_times, candidates, tolerance=max(0.1, 2.5 * _frame_step(times)))
    if time_map is None:
        return None, [None] * len(leak_times)
    indices: list[int | None] = []
    for tau, s in zip(leak_times, scores, strict=True):
        center = fingerprint.frame_at(time_map(tau))
        low, high = max(0, center - search_frames), min(len(s), center + search_frames + 1)
        best = low + int(np.argmax(s[low:high]))
        indices.append(best if s[best] >= MIN_THUMB_NCC else None)
    return time_map, indices


def _frame_step(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if times.size > 1 else 1 / 30
