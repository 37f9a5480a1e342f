"""Synthetic footage with real camera motion, built from still photographs and drafts.

No video ships with a package under a clear licence that the project could find, so the tests
and benchmarks film the fixture photographs: a camera panning and zooming across a photo (the
"Ken Burns" move), two layers moving at different speeds (parallax), and a design draft on a
turntable seen in perspective. Each scene is a pure function of its inputs and a seeded
generator, yields RGB ``uint8`` frames, and adds a little sensor noise so the frames are not
unnaturally clean. :func:`write_clip` encodes frames with PyAV.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction

import cv2
import numpy as np

from leaktrace.media.video.io import x264_params


def _smooth(t: float) -> float:
    """Ease in and out: a camera operator starts and stops a move gently."""
    return 0.5 - 0.5 * math.cos(math.pi * min(max(t, 0.0), 1.0))


def _noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return frame
    noise = rng.normal(0.0, sigma, frame.shape[:2]).astype(np.float32)[..., None]
    return np.clip(frame.astype(np.float32) + noise + 0.5, 0, 255).astype(np.uint8)


def _view(
    image: np.ndarray,
    center: tuple[float, float],
    zoom: float,
    size: tuple[int, int],
    angle: float = 0.0,
) -> np.ndarray:
    """The camera's view: ``size`` (w, h) pixels around ``center`` of ``image``; ``zoom`` is
    output pixels per image pixel."""
    out_w, out_h = size
    matrix = cv2.getRotationMatrix2D(center, angle, zoom)
    matrix[0, 2] += out_w / 2 - center[0]
    matrix[1, 2] += out_h / 2 - center[1]
    # Area-like prefilter when shrinking, as a camera's optics and sensor integrate light.
    source = image
    if zoom < 0.7:
        source = cv2.GaussianBlur(image, (0, 0), 0.45 / zoom)
    return cv2.warpAffine(
        source, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def pan_zoom(
    image: np.ndarray,
    size: tuple[int, int],
    frames: int,
    rng: np.random.Generator,
    *,
    zoom: tuple[float, float] = (1.0, 1.25),
    travel: float = 0.25,
    noise: float = 0.8,
) -> Iterator[np.ndarray]:
    """A pan with a slow zoom across ``image`` (RGB), filling an output of ``size`` (w, h).

    ``travel`` is the pan's length as a fraction of the image width; ``zoom`` the start and end
    magnification relative to the smallest one that fills the frame.
    """
    height, width = image.shape[:2]
    fill = max(size[0] / width, size[1] / height)
    direction = rng.uniform(0, 2 * math.pi)
    for index in range(frames):
        t = _smooth(index / max(1, frames - 1))
        z = fill * (zoom[0] + (zoom[1] - zoom[0]) * t) * (1 + travel)
        span = travel * width * (t - 0.5)
        center = (
            width / 2 + span * math.cos(direction),
            height / 2 + 0.5 * span * math.sin(direction),
        )
        yield _noisy(_view(image, center, z, size), rng, noise)


def parallax(
    background: np.ndarray,
    foreground: np.ndarray,
    size: tuple[int, int],
    frames: int,
    rng: np.random.Generator,
    *,
    noise: float = 0.8,
) -> Iterator[np.ndarray]:
    """A sideways camera move past a near object: ``foreground`` (cut out as a rounded card with
    a soft shadow) slides three times as fast as the distant ``background``."""
    out_w, out_h = size
    height, width = background.shape[:2]
    fill = 1.3 * max(out_w / width, out_h / height)
    card_h = int(out_h * 0.55)
    card_w = int(card_h * foreground.shape[1] / foreground.shape[0])
    card = cv2.resize(foreground, (card_w, card_h), interpolation=cv2.INTER_AREA)
    alpha = np.zeros((card_h, card_w), np.float32)
    radius = max(2, card_h // 12)
    cv2.rectangle(alpha, (radius, 0), (card_w - radius, card_h), 1.0, -1)
    cv2.rectangle(alpha, (0, radius), (card_w, card_h - radius), 1.0, -1)
    for cx, cy in (
        (radius, radius),
        (card_w - radius - 1, radius),
        (radius, card_h - radius - 1),
        (card_w - radius - 1, card_h - radius - 1),
    ):
        cv2.circle(alpha, (cx, cy), radius, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.8)[..., None]
    for index in range(frames):
        t = _smooth(index / max(1, frames - 1))
        shift = (t - 0.5) * 0.2 * width
        frame = _view(background, (width / 2 + shift, height / 2), fill, size).astype(np.float32)
        x = int(out_w * (0.85 - 0.7 * t)) - card_w // 2
        y = (out_h - card_h) // 2 + int(0.03 * out_h * math.sin(2 * math.pi * t))
        x0, x1 = max(0, x), min(out_w, x + card_w)
        if x1 > x0:
            a = alpha[:, x0 - x : x1 - x]
            shadow_y = min(out_h - card_h, y + max(2, card_h // 30))
            frame[shadow_y : shadow_y + card_h, x0:x1] *= 1 - 0.35 * a
            region = frame[y : y + card_h, x0:x1]
            frame[y : y + card_h, x0:x1] = region * (1 - a) + card[:, x0 - x : x1 - x] * a
        yield _noisy(np.clip(frame + 0.5, 0, 255).astype(np.uint8), rng, noise)


def turntable(
    draft: np.ndarray,
    size: tuple[int, int],
    frames: int,
    rng: np.random.Generator,
    *,
    max_angle: float = 35.0,
    noise: float = 0.6,
) -> Iterator[np.ndarray]:
    """A design draft on a card turning about its vertical axis (±``max_angle`` degrees) in
    front of a studio backdrop, seen through a perspective camera."""
    out_w, out_h = size
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    backdrop = 70 + 90 * (1 - yy / out_h) - 25 * ((xx / out_w - 0.5) ** 2)
    backdrop = np.repeat(backdrop[..., None], 3, axis=2)
    height, width = draft.shape[:2]
    card_w = 0.62 * out_w
    card_h = card_w * height / width
    if card_h > 0.8 * out_h:
        card_h = 0.8 * out_h
        card_w = card_h * width / height
    focal = 1.6 * out_w
    distance = 2.2 * card_w
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * [card_w, card_h]
    src = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    for index in range(frames):
        angle = math.radians(max_angle * math.sin(2 * math.pi * index / max(1, frames)))
        x = corners[:, 0] * math.cos(angle)
        z = distance + corners[:, 0] * math.sin(angle)
        dst = np.stack(
            [out_w / 2 + focal * x / z, out_h / 2 + focal * corners[:, 1] / z], axis=1
        ).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        shown = cv2.warpPerspective(
            cv2.GaussianBlur(draft, (0, 0), 0.6), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR
        )
        cover = cv2.warpPerspective(np.ones((height, width), np.float32), matrix, (out_w, out_h))[
            ..., None
        ]
        frame = backdrop * (1 - cover) + shown.astype(np.float32) * cover
        yield _noisy(np.clip(frame + 0.5, 0, 255).astype(np.uint8), rng, noise)


def write_clip(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float | Fraction = 30,
    codec: str = "libx264",
    bit_rate: int | None = None,
    crf: int | None = 20,
    pts: Iterable[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    colour: tuple[int, int, int, int] | None = (1, 1, 1, 1),
    audio: bool = False,
    subtitles: str | os.PathLike[str] | None = None,
    preset: str = "fast",
) -> None:
    """Encode RGB frames as a video file (yuv420p), optionally with a variable frame rate
    (explicit ``pts`` in ``time_base``), a rotation flag, BT.709 colour tags, a tone as
    audio and an SRT file as a subtitle track. Used to build fixtures and simulated leaks."""
    import av

    rate = Fraction(fps).limit_denominator(1001)
    time_base = time_base or Fraction(1, 15360)
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    muxer = {".mkv": "matroska", ".webm": "webm", ".mov": "mov"}.get(suffix, "mp4")
    options = (
        {"preset": preset}
        if codec in ("libx264", "libx265")
        else {"deadline": "good", "cpu-used": "5", "row-mt": "1"}
    )
    if codec == "libx265":
        options["x265-params"] = "log-level=error"
    if codec == "libx264":
        options.update(x264_params())
    if crf is not None and bit_rate is None:
        options["crf"] = str(crf)
    with av.open(
        os.fspath(path), "w", format=muxer, container_options={"fflags": "+bitexact"}
    ) as output:
        stream = output.add_stream(codec, rate=rate, options=options)
        ctx = stream.codec_context
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = time_base
        stream.time_base = time_base
        ctx.thread_count = 2
        if bit_rate is not None:
            ctx.bit_rate = bit_rate
        if colour is not None:
            ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = colour
        if rotation:
            stream.set_display_rotation(rotation)
        sound = output.add_stream("aac", rate=48000) if audio else None
        captions = av.open(os.fspath(subtitles)) if subtitles is not None else None
        caption_stream = (
            output.add_stream_from_template(captions.streams[0]) if captions is not None else None
        )
        stamps = iter(pts) if pts is not None else None
        step = round(1 / (rate * time_base))
        count = 0
        for index, rgb in enumerate(frames):
            if index == 0:
                ctx.width, ctx.height = rgb.shape[1], rgb.shape[0]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame = frame.reformat(format="yuv420p", dst_colorspace=1 if colour else None)
            frame.pts = next(stamps) if stamps is not None else index * step
            frame.time_base = time_base
            if colour is not None:
                frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range = colour
            for packet in stream.encode(frame):
                output.mux(packet)
            count += 1
        for packet in stream.encode(None):
            output.mux(packet)
        if captions is not None:
            with captions:
                for packet in captions.demux(captions.streams[0]):
                    if packet.dts is not None:
                        packet.stream = caption_stream
                        output.mux(packet)
        if sound is not None:
            seconds = count / float(rate)
            samples = int(seconds * 48000)
            t = np.arange(samples) / 48000.0
            tone = (0.1 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start : start + 1024]
                if chunk.size < 1024:
                    chunk = np.pad(chunk, (0, 1024 - chunk.size))
                audio_frame = av.AudioFrame.from_ndarray(
                    chunk[None, :], format="fltp", layout="mono"
                )
                audio_frame.sample_rate, audio_frame.pts = 48000, start
                for packet in sound.encode(audio_frame):
                    output.mux(packet)
            for packet in sound.encode(None):
                output.mux(packet)
