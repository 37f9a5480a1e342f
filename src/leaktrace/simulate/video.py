"""Leak simulations for videos: what happens to a clip between a recipient and the investigator.

Each simulation reads a video file and writes the leak (a video file, or a JPEG for
:func:`frame_jpeg`): platform re-encodes, downscales, trims, frame-rate and speed changes, crops,
9:16 stories with blurred bars and a caption, stickers and a platform logo, a screen recording of
a player window, and a phone filming a monitor (the image simulator's physics per frame, plus the
camera's shake, rolling-shutter banding and auto exposure). They back benchmarks and tests and,
``leaktrace simulate`` (:data:`VIDEO_ATTACKS`, :func:`run_video_attack`). Every one is
deterministic for its ``seed``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from leaktrace.media.video.scenes import write_clip
from leaktrace.simulate.camera import phone_photo_of_screen
from leaktrace.simulate.codecs import jpeg
from leaktrace.simulate.overlays import caption_bar, logo_watermark, stickers
from leaktrace.simulate.screens import screenshot

Transform = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def _frames(path: str | os.PathLike[str]):
    import av

    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = None
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            rotation = int(frame.rotation or 0) % 360
            if rotation:
                rgb = np.ascontiguousarray(np.rot90(rgb, rotation // 90))
            time = float(frame.time or 0.0)
            start = time if start is None else start
            yield time - start, rgb


def transcode(
    source: str | os.PathLike[str],
    leak: str | os.PathLike[str],
    *,
    seed: int = 0,
    crf: int = 23,
    fps: float | None = None,
    speed: float = 1.0,
    start_s: float = 0.0,
    duration_s: float | None = None,
    transform: Transform | None = None,
    drop: float = 0.0,
    repeat: float = 0.0,
) -> None:
    """Decode ``source``, pick and edit frames, and encode H.264 (x264 veryfast, CRF ``crf``).

    Parameters
    ----------
    fps : float, optional
        Output frame rate; frames are picked nearest in time, as FFmpeg's fps filter does.
        Defaults to the source's.
    speed : float
        Playback speed (1.25 shows 1.25 source seconds per second).
    start_s, duration_s : float
        The kept part, in source seconds.
    transform : callable, optional
        ``f(rgb, output_index, rng) -> rgb`` applied to every output frame.
    drop, repeat : float
        Chance of a frame being dropped or shown twice (a stuttering capture).
    """
    rng = np.random.default_rng(seed)
    frames = _select(source, fps, speed, start_s, duration_s, drop, repeat, rng)
    rate = fps or _rate(source)

    def edited():
        for index, rgb in enumerate(frames):
            out = transform(rgb, index, rng) if transform is not None else rgb
            # H.264 4:2:0 wants even sizes.
            height, width = out.shape[:2]
            yield np.ascontiguousarray(out[: height - height % 2, : width - width % 2])

    write_clip(leak, edited(), fps=rate, crf=crf, preset="veryfast", colour=None)


def _rate(path) -> float:
    import av

    with av.open(os.fspath(path)) as container:
        return float(container.streams.video[0].average_rate or 30)


def _select(source, fps, speed, start_s, duration_s, drop, repeat, rng):
    """Output frames, streamed: the frame on screen at each output instant (the last decoded
    frame whose time is not after it), so a 60 s 1080p clip is never held in memory."""
    rate = fps or _rate(source)
    end = math.inf if duration_s is None else start_s + duration_s
    step = speed / rate
    k, shown = 0, None
    for time, rgb in _frames(source):
        while shown is not None and start_s + k * step < time - 1e-6:
            if start_s + k * step >= end - 1e-9:
                return
            k += 1
            if drop and rng.random() < drop:
                continue
            yield shown
            if repeat and rng.random() < repeat:
                yield shown
        if time > end + 1e-6:
            return
        shown = rgb
        if time < start_s - 1e-6:
            continue
    if shown is not None and start_s + k * step < end:
        yield shown


def _resize_to_height(height: int) -> Transform:
    def apply(rgb, index, rng):
        h, w = rgb.shape[:2]
        width = round(w * height / h / 2) * 2
        return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)

    return apply


def _crop_area(fraction: float) -> Transform:
    def apply(rgb, index, rng):
        h, w = rgb.shape[:2]
        side = math.sqrt(fraction)
        ch, cw = round(h * side), round(w * side)
        top, left = (h - ch) // 3, (w - cw) // 2
        return rgb[top : top + ch, left : left + cw]

    return apply


def _story(rgb, index, rng, *, caption: str = "leaked teaser??") -> np.ndarray:
    """9:16 story: the clip fitted to the width over a blurred, enlarged copy of itself, with a
    caption."""
    h, w = rgb.shape[:2]
    out_w = 720
    out_h = 1280
    back = cv2.resize(rgb, (round(out_h * w / h), out_h), interpolation=cv2.INTER_LINEAR)
    left = (back.shape[1] - out_w) // 2
    back = cv2.GaussianBlur(back[:, left : left + out_w], (0, 0), 18)
    back = (back.astype(np.float32) * 0.7).astype(np.uint8)
    shown_h = round(out_w * h / w)
    shown = cv2.resize(rgb, (out_w, shown_h), interpolation=cv2.INTER_AREA)
    top = (out_h - shown_h) // 2
    back[top : top + shown_h] = shown
    # caption_bar returns the bar above the image it was given: keep the bar alone.
    bar = caption_bar(np.zeros((10, out_w, 3), np.uint8), caption, height=1.0)[:-10]
    bar = cv2.resize(bar, (out_w, max(24, round(0.06 * out_h))))
    back[round(0.12 * out_h) : round(0.12 * out_h) + bar.shape[0]] = bar
    return back


def _stickers_logo(seed: int) -> Transform:
    def apply(rgb, index, rng):
        # The same stickers on every frame, as an editor places them once.
        out = stickers(rgb, np.random.default_rng(seed), count=(2, 3), size=(0.1, 0.16))
        return logo_watermark(out)

    return apply


def _screen_recording(rgb, index, rng) -> np.ndarray:
    """A desktop screen recording of a player window showing the clip at 80 % zoom."""
    return screenshot(rgb, zoom=0.8, ui="desktop")


class PhoneRecording:
    """A phone filming a monitor that plays the clip: the image simulator's monitor, optics and
    sensor per frame (one viewpoint for the clip), plus hand shake (a smooth random walk of the
    camera's aim), rolling-shutter banding (the monitor's refresh beating with the line scan),
    auto exposure drifting, and fresh sensor noise in every frame."""

    def __init__(self, seed: int, *, size: tuple[int, int] = (1920, 1080), preset: str = "normal"):
        from leaktrace.simulate.camera import PHONE_PRESETS

        self.seed = seed
        self.size = size
        self.params = dict(PHONE_PRESETS[preset])
        self.params["screen_size"] = (1920, 1080)
        self.params["noise"] = 0.0  # added per frame below, independently
        walk = np.random.default_rng(seed + 1)
        self._shake = np.cumsum(walk.normal(0, 0.35, (4096, 3)), axis=0)
        self._phase = walk.uniform(0, 2 * math.pi)

    def __call__(self, rgb: np.ndarray, index: int, rng: np.random.Generator) -> np.ndarray:
        photo = phone_photo_of_screen(
            rgb, np.random.default_rng(self.seed), photo_size=self.size, **self.params
        )
        w, h = self.size
        # Hand shake: a few pixels of drift and a fraction of a degree of roll, slowly varying.
        dx, dy, roll = self._shake[index % len(self._shake)] * (1.0, 1.0, 0.05)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), float(np.clip(roll, -1, 1)), 1.0)
        matrix[:, 2] += np.clip([dx, dy], -12, 12)
        photo = cv2.warpAffine(
            photo, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        rows = np.arange(h, dtype=np.float32)[:, None, None]
        bands = 1.0 + 0.03 * np.sin(2 * math.pi * (rows / (h / 3.0)) + self._phase + 0.9 * index)
        exposure = 1.0 + 0.04 * math.sin(2 * math.pi * index / 90.0)
        noise = rng.normal(0, 2.0, photo.shape[:2]).astype(np.float32)[..., None]
        out = photo.astype(np.float32) * bands * exposure + noise
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def reencode(source, leak, *, crf: int = 23, seed: int = 0) -> None:
    transcode(source, leak, crf=crf, seed=seed)


def downscale(source, leak, *, height: int = 720, seed: int = 0) -> None:
    transcode(source, leak, crf=23, transform=_resize_to_height(height), seed=seed)


def trim(source, leak, *, seconds: float = 10.0, seed: int = 0) -> None:
    """A ``seconds`` long excerpt starting at a random point."""
    total = _duration(source)
    start = float(np.random.default_rng(seed).uniform(0, max(0.0, total - seconds)))
    transcode(source, leak, crf=23, start_s=start, duration_s=seconds, seed=seed)


def _duration(path) -> float:
    import av

    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        stamps = [p.pts for p in container.demux(stream) if p.pts is not None]
        if not stamps:
            return 0.0
        return float((max(stamps) - min(stamps)) * stream.time_base)


SIMULATIONS: dict[str, Callable[..., None]] = {
    "crf23": lambda src, out, seed=0: transcode(src, out, crf=23, seed=seed),
    "crf28": lambda src, out, seed=0: transcode(src, out, crf=28, seed=seed),
    "crf35": lambda src, out, seed=0: transcode(src, out, crf=35, seed=seed),
    "720p": lambda src, out, seed=0: downscale(src, out, height=720, seed=seed),
    "480p": lambda src, out, seed=0: downscale(src, out, height=480, seed=seed),
    "trim10": lambda src, out, seed=0: trim(src, out, seconds=10, seed=seed),
    "trim5": lambda src, out, seed=0: trim(src, out, seconds=5, seed=seed),
    "trim2": lambda src, out, seed=0: trim(src, out, seconds=2, seed=seed),
    "fps24": lambda src, out, seed=0: transcode(src, out, fps=24, seed=seed),
    "crop50": lambda src, out, seed=0: transcode(src, out, transform=_crop_area(0.5), seed=seed),
    "story": lambda src, out, seed=0: transcode(src, out, transform=_story, crf=26, seed=seed),
    "stickers": lambda src, out, seed=0: transcode(
        src, out, transform=_stickers_logo(seed), seed=seed
    ),
    "speed125": lambda src, out, seed=0: transcode(src, out, speed=1.25, seed=seed),
    "stutter": lambda src, out, seed=0: transcode(src, out, drop=0.05, repeat=0.05, seed=seed),
    "screen": lambda src, out, seed=0: transcode(
        src, out, transform=_screen_recording, crf=23, seed=seed
    ),
    "phone": lambda src, out, seed=0: transcode(
        src, out, transform=PhoneRecording(seed), fps=15, crf=23, seed=seed
    ),
}


def simulate(name: str, source, leak, *, seed: int = 0) -> None:
    """Run the named simulation (:data:`SIMULATIONS`, or ``"frame_jpeg"``)."""
    if name == "frame_jpeg":
        frame_jpeg(source, leak, seed=seed)
        return
    if name not in SIMULATIONS:
        raise ValueError(
            f"unknown video simulation {name!r}; choose one of {sorted(SIMULATIONS)} or 'frame_jpeg'"
        )
    SIMULATIONS[name](source, leak, seed=seed)


def frame_jpeg(source, leak, *, seed: int = 0, quality: int = 85) -> None:
    """One frame, at a random time, saved as a JPEG (a frame posted as a photo)."""
    wanted = float(np.random.default_rng(seed).uniform(0, max(0.0, _duration(source))))
    chosen = None
    for time, rgb in _frames(source):
        chosen = rgb
        if time >= wanted:
            break
    with open(leak, "wb") as handle:
        handle.write(jpeg(chosen, quality))


@dataclass(frozen=True)
class VideoAttack:
    """One named video leak: ``run(source, leak, seed=...)`` writes the leak's file, whose
    format ``extension`` names (``".mp4"`` for H.264 in MP4, ``".jpg"`` for one frame)."""

    name: str
    description: str
    extension: str
    run: Callable[..., None]

    @property
    def group(self) -> str:
        return "video"


_DESCRIPTIONS = {
    "crf23": "H.264 re-encode, x264 veryfast CRF 23 (a platform's usual quality)",
    "crf28": "H.264 re-encode at CRF 28",
    "crf35": "H.264 re-encode at CRF 35 (heavy compression)",
    "720p": "downscaled to 720 lines (smaller videos are upscaled), CRF 23",
    "480p": "downscaled to 480 lines, CRF 23",
    "trim10": "a 10 s excerpt from a random start, CRF 23",
    "trim5": "a 5 s excerpt from a random start, CRF 23",
    "trim2": "a 2 s excerpt from a random start, CRF 23",
    "fps24": "frame rate changed to 24 fps (nearest frames kept), CRF 23",
    "crop50": "a centred crop keeping 50 % of the area, CRF 23",
    "story": "a 720x1280 (9:16) story: the clip over blurred bars of itself, a caption, CRF 26",
    "stickers": "2-3 stickers and a platform logo on every frame, CRF 23",
    "speed125": "played 1.25x faster, CRF 23",
    "stutter": "a stuttering capture: 5 % of the frames dropped, 5 % shown twice, CRF 23",
    "screen": "a desktop screen recording of a player window at 80 % zoom, CRF 23",
    "phone": "a phone filming a monitor that plays it: perspective, moire, shake, rolling "
    "exposure, auto exposure; 1920x1080 at 15 fps, CRF 23",
}


def _build() -> dict[str, VideoAttack]:
    attacks = {
        name: VideoAttack(name, _DESCRIPTIONS[name], ".mp4", run)
        for name, run in SIMULATIONS.items()
    }
    attacks["frame_jpeg"] = VideoAttack(
        "frame_jpeg", "one frame at a random time saved as a JPEG (quality 85)", ".jpg", frame_jpeg
    )
    return attacks


#: The video leak simulations by name, in the order ``leaktrace simulate --list`` shows them.
VIDEO_ATTACKS: dict[str, VideoAttack] = _build()


def run_video_attack(
    name: str, source: str | os.PathLike[str], leak: str | os.PathLike[str], *, seed: int = 0
) -> None:
    """Apply the named attack of :data:`VIDEO_ATTACKS` to the video ``source`` and write the leak
    to ``leak`` atomically (a temporary file beside it, renamed when complete).

    Raises
    ------
    ValueError
        ``name`` is not a video attack.
    leaktrace.errors.InputError
        ``source`` is not a video that can be read (the video medium's own checks).
    leaktrace.errors.OutputError
        The leak cannot be written there.
    """
    from leaktrace.errors import OutputError
    from leaktrace.fsutil import atomic_output
    from leaktrace.media.video.probe import probe

    if name not in VIDEO_ATTACKS:
        raise ValueError(f"unknown video attack {name!r}; choose one of {sorted(VIDEO_ATTACKS)}")
    probe(source)
    try:
        with atomic_output(leak) as temp:
            VIDEO_ATTACKS[name].run(source, temp, seed=seed)
    except OSError as exc:
        raise OutputError(f"cannot write {os.fspath(leak)}: {exc.strerror or exc}") from exc


__all__ = [
    "SIMULATIONS",
    "VIDEO_ATTACKS",
    "PhoneRecording",
    "VideoAttack",
    "downscale",
    "frame_jpeg",
    "reencode",
    "run_video_attack",
    "simulate",
    "transcode",
    "trim",
]
