"""A registered video as identification reads it: its asset data, and its original frames
decoded by presentation time (:func:`original_lumas`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from leaktrace.engine.watermark.pattern import Layout
from leaktrace.media.video.analysis import VideoAnalysis
from leaktrace.media.video.fingerprint import VideoFingerprint
from leaktrace.media.video.schedule import Schedule, VideoKeying


@dataclass
class VideoReference:
    """What detection needs about a registered video: its original file and asset data."""

    path: str
    sha256: str
    layout: Layout
    schedule: Schedule
    gains: np.ndarray
    fingerprint: VideoFingerprint
    frame_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_analysis(cls, analysis: VideoAnalysis) -> VideoReference:
        return cls(
            analysis.info.path,
            analysis.sha256,
            analysis.layout,
            analysis.schedule,
            analysis.gains,
            analysis.fingerprint,
        )

    @classmethod
    def from_params(
        cls, params: dict, blobs: dict[str, bytes], path: str, sha256: str
    ) -> VideoReference:
        """From an asset's ``params`` (:meth:`VideoAnalysis.params`) and its fingerprint blobs."""
        return cls(
            path,
            sha256,
            Layout.from_params(params["pattern"]),
            Schedule.from_params(params["schedule"]),
            np.asarray(params["gains"], dtype=np.float32),
            VideoFingerprint.from_blobs(params["fingerprint"], blobs),
        )

    def keying(self, key: bytes) -> VideoKeying:
        return VideoKeying(key, self.sha256, self.layout)


# Wanted frames further apart than this are reached by seeking rather than decoding through.
SEEK_GAP_S = 2.0
_CACHED_FRAMES = 48


def original_lumas(reference: VideoReference, indices: list[int]) -> dict[int, np.ndarray]:
    """Display-frame luma of the original's frames ``indices``.

    Frames are found by their presentation time (the fingerprint's), seeking to the key frame
    before each group of wanted frames, so a leak from the end of a long video does not decode
    the whole original. Recently decoded frames are kept on the reference.
    """
    import av

    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.media.video.io import display_from_stored

    cache = reference.frame_cache
    found = {i: cache[i] for i in indices if i in cache}
    wanted = sorted(set(indices) - found.keys())
    if not wanted:
        return found
    times = reference.fingerprint.times
    half = 0.5 * (float(np.median(np.diff(times))) if times.size > 1 else 1 / 30)
    groups: list[list[int]] = [[wanted[0]]]
    for index in wanted[1:]:
        if times[index] - times[groups[-1][-1]] > SEEK_GAP_S:
            groups.append([index])
        else:
            groups[-1].append(index)
    with av.open(reference.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first = next(container.decode(stream))
        origin = float(first.time or 0.0)
        codec = stream.codec_context
        for group in groups:
            target = origin + float(times[group[0]])
            container.seek(
                max(0, int((target - SEEK_GAP_S / 4) / stream.time_base)),
                stream=stream,
                backward=True,
            )
            pending, offset = set(group), -np.inf
            for packet in container.demux(stream):
                # A frame no other frame refers to need not be decoded unless it is wanted.
                if packet.pts is not None:
                    wanted_here = _frame_index(
                        times, half, float(packet.pts * stream.time_base) - origin
                    )
                    codec.skip_frame = "DEFAULT" if wanted_here in pending else "NONREF"
                for frame in packet.decode():
                    offset = float(frame.time or 0.0) - origin
                    index = _frame_index(times, half, offset)
                    if index in pending:
                        rgb = display_from_stored(
                            frame.to_ndarray(format="rgb24"), int(frame.rotation or 0) % 360
                        )
                        found[index] = luminance(np.ascontiguousarray(rgb))
                        pending.discard(index)
                    if not pending or offset > times[group[-1]] + half:
                        break
                if not pending or offset > times[group[-1]] + half:
                    break
    for index in wanted:
        if index in found:
            cache[index] = found[index]
    while len(cache) > _CACHED_FRAMES:
        cache.pop(next(iter(cache)))
    return found


def _frame_index(times: np.ndarray, half: float, offset: float) -> int | None:
    """The frame shown ``offset`` seconds after the first one, None between frames."""
    index = int(np.searchsorted(times, offset - half))
    return index if index < len(times) and abs(times[index] - offset) <= half else None
