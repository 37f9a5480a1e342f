"""When each keyed pattern of a video is shown: segments and their cross-fades.

A pattern fixed to the screen for a whole video shows as a faint "dirty window" over moving
content; one that changes every frame flickers. So a video's mark is a sequence of keyed
patterns, one per *segment* of a few seconds, each held still while it is shown and handed to
the next one either at a scene cut (where the eye cannot compare the two) or by a slow
constant-power cross-fade (weights cos and sin of a quarter turn, so the mark's power never
dips: no breathing).

Every segment has its own keyed cell layout (:class:`VideoKeying`), but all of them carry the
same recipient code, so the projections of any number of frames onto the code groups add up and
the innocent null stays exactly N(0, 1) (:mod:`leaktrace.engine.watermark.detect`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from leaktrace.engine.watermark.pattern import AssetKeying, Layout

SCHEME = "video-segments-v1"
SEGMENT_S = 4.0
FADE_S = 1.0
# A nominal boundary moves to a scene cut at most this far away.
SNAP_S = 1.5


@dataclass(frozen=True)
class Schedule:
    """Segment boundaries in frame indices.

    ``boundaries[k]`` is the first frame of segment ``k + 1``; ``fades[k]`` the half-width in
    frames of its cross-fade (0: a hard switch, used at scene cuts).
    """

    frame_count: int
    boundaries: tuple[int, ...]
    fades: tuple[int, ...]

    @property
    def segments(self) -> int:
        return len(self.boundaries) + 1

    def weights(self, index: int) -> list[tuple[int, float]]:
        """(segment, weight) pairs whose patterns frame ``index`` shows; squared weights sum
        to one."""
        position = int(np.searchsorted(self.boundaries, index, side="right"))
        # Inside the fade of the boundary before or after this frame?
        for k in (position - 1, position):
            if 0 <= k < len(self.boundaries) and self.fades[k] > 0:
                start, half = self.boundaries[k], self.fades[k]
                if start - half <= index < start + half:
                    a = (index - (start - half) + 0.5) / (2 * half)
                    angle = 0.5 * math.pi * a
                    return [(k, math.cos(angle)), (k + 1, math.sin(angle))]
        return [(position, 1.0)]

    def to_params(self) -> dict:
        return {
            "scheme": SCHEME,
            "frame_count": self.frame_count,
            "boundaries": list(self.boundaries),
            "fades": list(self.fades),
        }

    @classmethod
    def from_params(cls, params: dict) -> Schedule:
        if params.get("scheme") != SCHEME:
            raise ValueError(f"unknown video schedule {params.get('scheme')!r}")
        return cls(int(params["frame_count"]), tuple(params["boundaries"]), tuple(params["fades"]))


def plan_schedule(
    frame_count: int,
    frame_rate: float,
    cuts: list[int] | tuple[int, ...] = (),
    *,
    segment_s: float = SEGMENT_S,
    fade_s: float = FADE_S,
    snap_s: float = SNAP_S,
) -> Schedule:
    """Boundaries every ``segment_s`` seconds, moved onto a scene cut when one is near.

    Parameters
    ----------
    frame_count : int
        Frames in the video.
    frame_rate : float
        Average frames per second.
    cuts : sequence of int
        First frames of new shots (scene cuts).
    segment_s, fade_s, snap_s : float
        Nominal segment length, cross-fade length, and how far a boundary may move to a cut.
    """
    if frame_count < 1 or frame_rate <= 0:
        raise ValueError("frame_count and frame_rate must be positive")
    step = max(2, round(segment_s * frame_rate))
    half = max(1, round(0.5 * fade_s * frame_rate))
    snap = round(snap_s * frame_rate)
    cuts = sorted(set(int(c) for c in cuts if 0 < c < frame_count))
    boundaries: list[int] = []
    fades: list[int] = []
    nominal = step
    while nominal < frame_count - half:
        near = [
            c
            for c in cuts
            if abs(c - nominal) <= snap and (not boundaries or c > boundaries[-1] + 2 * half)
        ]
        if near:
            boundary = min(near, key=lambda c: abs(c - nominal))
            fade = 0
        else:
            boundary, fade = nominal, half
        if boundaries and boundary - boundaries[-1] < fades[-1] + fade + 1:
            nominal += step
            continue
        boundaries.append(boundary)
        fades.append(fade)
        nominal = boundary + step
    return Schedule(frame_count, tuple(boundaries), tuple(fades))


class VideoKeying:
    """The keyed pattern geometry of one video: a code shared by all segments, and one keyed
    cell layout (:class:`~leaktrace.engine.watermark.pattern.AssetKeying`) per segment."""

    def __init__(self, key: bytes, asset_sha256: str, layout: Layout) -> None:
        self.base = AssetKeying(key, asset_sha256, layout)
        self.layout = layout
        self._segment = lru_cache(maxsize=16)(self._make_segment)

    def __repr__(self) -> str:  # the key must never reach a log
        return f"VideoKeying(asset_sha256={self.base.asset_sha256!r}, layout={self.layout!r})"

    def _make_segment(self, index: int) -> AssetKeying:
        # "/" never occurs in a hex digest, so no segment label is another asset's.
        label = f"{self.base.asset_sha256}/video-segment/{index}"
        return AssetKeying(self.base.key, label, self.layout)

    def segment(self, index: int) -> AssetKeying:
        return self._segment(index)

    def recipient_code(self, recipient_id: str) -> np.ndarray:
        return self.base.recipient_code(recipient_id)

    def decoy_codes(self, count: int) -> np.ndarray:
        return self.base.decoy_codes(count)
