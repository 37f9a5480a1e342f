"""A video analysed once: its frames, its perceptual masks, its pattern schedule and the
fingerprint identification needs. Each recipient's copy then costs one encode.

The mask of a frame is the image engine's (:func:`leaktrace.engine.watermark.mask.perceptual_mask`),
then made steady in time:

- averaged over five neighbouring frames of the same shot (weights 1-2-3-2-1), so that sensor
  noise and grain, which move the local contrast measure from frame to frame, do not make the
  mark's amplitude twinkle;
- scaled by one gain per frame that follows the picture's overall texture slowly (an RMS over
  two seconds), instead of the image engine's per-picture RMS cap, which would pump the whole
  frame's mark up and down as the content changes.

Masks are kept as uint8 (1/32 gray level steps) in a temporary file beside the
decoded frames.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from leaktrace.engine.watermark.mask import perceptual_mask
from leaktrace.engine.watermark.pattern import Layout, layout_for
from leaktrace.media.video.fingerprint import FingerprintBuilder, VideoFingerprint
from leaktrace.media.video.io import FrameStore, FrameTiming, decode_planes, display_from_stored
from leaktrace.media.video.probe import VideoInfo, probe, require_markable
from leaktrace.media.video.schedule import Schedule, VideoKeying, plan_schedule

MASK_VERSION = "video-luma-box2-t5-rms2s-v1"
#: Largest RMS of the mark in luma steps (≈44.6 dB PSNR of the mark alone).
MAX_RMS = 1.5
MASK_STEPS = 32  # uint8 mask values per gray level
_TEMPORAL = (1.0, 2.0, 3.0, 2.0, 1.0)
GAIN_WINDOW_S = 2.0


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def luma_of_plane(y_plane: np.ndarray, full_range: bool) -> np.ndarray:
    """Y' code values as 0..255 luma (limited-range 16..235 stretched)."""
    y = y_plane.astype(np.float32)
    if full_range:
        return y
    return (y - np.float32(16.0)) * np.float32(255.0 / 219.0)


def frame_mask(luma: np.ndarray) -> np.ndarray:
    """The engine's spatial mask without its per-picture cap (the video's gain replaces it)."""
    return perceptual_mask(luma, max_rms=float("inf"))


def smooth_gains(rms: np.ndarray, frame_rate: float, max_rms: float = MAX_RMS) -> np.ndarray:
    """Per-frame gains capping a slowly varying RMS of the mask at ``max_rms``."""
    window = max(1, round(GAIN_WINDOW_S * frame_rate)) | 1
    power = np.pad(rms.astype(np.float64) ** 2, window // 2, mode="edge")
    slow = np.sqrt(np.convolve(power, np.ones(window) / window, mode="valid"))
    return np.minimum(1.0, max_rms / np.maximum(slow, 1e-6)).astype(np.float32)


@dataclass
class VideoAnalysis:
    """Everything about a video that does not depend on the recipient."""

    info: VideoInfo
    sha256: str
    layout: Layout  # display frame
    schedule: Schedule
    frames: FrameStore
    masks: FrameStore  # uint8, stored frame, MASK_STEPS per gray level, before the gain
    timings: list[FrameTiming]
    gains: np.ndarray
    fingerprint: VideoFingerprint
    mask_rms: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def full_range(self) -> bool:
        return self.info.colour.range == 2 or self.info.pix_fmt == "yuvj420p"

    def keying(self, key: bytes) -> VideoKeying:
        return VideoKeying(key, self.sha256, self.layout)

    def params(self) -> dict:
        """JSON-able parameters of the asset (for ``Asset.params``)."""
        return {
            "kind": "video",
            "pattern": self.layout.to_params(),
            "schedule": self.schedule.to_params(),
            "mask": MASK_VERSION,
            "max_rms": MAX_RMS,
            "gains": [round(float(g), 5) for g in self.gains],
            "video": self.info.to_params(),
            "fingerprint": self.fingerprint.to_params(),
        }

    def close(self) -> None:
        self.frames.close()
        self.masks.close()

    def __enter__(self) -> VideoAnalysis:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def analyse_video(
    path: str | os.PathLike[str],
    *,
    work_dir: str | None = None,
    info: VideoInfo | None = None,
    max_rms: float = MAX_RMS,
) -> VideoAnalysis:
    """Decode a video once and prepare everything marking and identification need.

    Parameters
    ----------
    path : path-like
        The source video.
    work_dir : str, optional
        Folder for the temporary frame and mask files (the system's by default); they need
        about 1.7 bytes per pixel per frame (5.6 + 3.7 GB for 60 s of 1080p at 30 fps).
    info : VideoInfo, optional
        The result of :func:`~leaktrace.media.video.probe.probe`, if already at hand.
    max_rms : float
        Cap on the mark's slowly varying RMS, luma steps.
    """
    info = info or probe(path)
    require_markable(info)
    height, width = info.height, info.width
    d_height, d_width = info.display_size
    plane_shape = (height * 3 // 2, width)
    frames = FrameStore(plane_shape, info.frame_count + 8, folder=work_dir)
    masks = FrameStore((height, width), info.frame_count + 8, folder=work_dir)
    try:
        full = info.colour.range == 2 or info.pix_fmt == "yuvj420p"
        builder = FingerprintBuilder(d_height, d_width, float(info.frame_rate))
        timings: list[FrameTiming] = []
        rms: list[float] = []
        buffer: deque[tuple[int, np.ndarray, int]] = deque()  # (frame, raw mask, shot)
        shot, start, next_out = 0, None, 0

        def flush(center: int) -> None:
            own_shot = next(s for i, _, s in buffer if i == center)
            total, weight = None, 0.0
            for index, raw, other_shot in buffer:
                if abs(index - center) <= 2 and other_shot == own_shot:
                    w = _TEMPORAL[index - center + 2]
                    total = raw * np.float32(w) if total is None else total + np.float32(w) * raw
                    weight += w
            smooth = total / np.float32(weight)
            rms.append(float(np.sqrt(np.mean(smooth * smooth))))
            masks.append(np.clip(smooth * MASK_STEPS + 0.5, 0, 255).astype(np.uint8))

        for timing, planes in decode_planes(info):
            frames.append(planes)
            timings.append(timing)
            luma = luma_of_plane(planes[:height], full)
            start = timing.pts if start is None else start
            seconds = float((timing.pts - start) * info.time_base)
            if builder.add(seconds, display_from_stored(luma, info.rotation)):
                shot += 1
            buffer.append((len(timings) - 1, frame_mask(luma), shot))
            while next_out <= len(timings) - 3:
                flush(next_out)
                next_out += 1
                while buffer and buffer[0][0] < next_out - 2:
                    buffer.popleft()
        while next_out < len(timings):
            flush(next_out)
            next_out += 1
    except BaseException:
        frames.close()
        masks.close()
        raise
    fingerprint = builder.build()
    rms_array = np.asarray(rms, dtype=np.float32)
    count = len(timings)
    schedule = plan_schedule(count, float(info.frame_rate), fingerprint.cuts)
    return VideoAnalysis(
        info=info,
        sha256=file_sha256(path),
        layout=layout_for(d_height, d_width),
        schedule=schedule,
        frames=frames,
        masks=masks,
        timings=timings,
        gains=smooth_gains(rms_array, float(info.frame_rate), max_rms),
        fingerprint=fingerprint,
        mask_rms=rms_array,
    )
