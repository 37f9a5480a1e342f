"""Frames in and out of video files (PyAV, which carries FFmpeg and its encoders).

Marking decodes the source once into a :class:`FrameStore` (the frames as stored, uint8 planar
YUV, in a temporary file: 60 s of 1080p is 5.6 GB, more than a worker should hold in RAM), then writes each recipient's copy with :func:`write_copy`: the same container, codec,
resolution, timestamps (every frame keeps its pts, so a variable frame rate stays variable),
rotation and colour metadata, audio and subtitle packets copied untouched, and a bit rate aimed
at the source's so the copy's size stays close. Identification reads frames as display-frame
luminance with :func:`read_luma`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np

from leaktrace.errors import InputError, OutputError
from leaktrace.fsutil import atomic_output
from leaktrace.media.video.probe import MARK_ENCODERS, VideoInfo, require_markable

# Output muxer per extension.
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
# Encoders are deterministic for a fixed thread count (x264, x265 and libvpx all are, checked
# by tests/test_video_io.py), and the muxers are with FFmpeg's bitexact flag (Matroska would
# otherwise write a random segment id): the same recipient gets the same bytes on a rerun.
ENCODER_THREADS = 2


@dataclass(frozen=True)
class EncodeSettings:
    """How marked copies are encoded.

    ``bit_rate`` defaults to the source's measured video bit rate (so the copy's size lands near
    the source's); ``preset`` is the x264/x265 preset (libvpx gets an equivalent speed).
    """

    preset: str = "medium"
    bit_rate: int | None = None
    threads: int = ENCODER_THREADS


class FrameStore:
    """Decoded frames of one video as uint8 arrays in a temporary file.

    Each frame is stored in PyAV's ``to_ndarray`` layout for its pixel format (for yuv420p an
    ``(H * 3 / 2, W)`` array: Y, then U and V). Frames are written and read with plain file
    I/O rather than a memory map: the operating system still caches them, but they are not
    counted in (or pinned to) the worker's resident memory, which stays at a few frames. The
    file is removed by :meth:`close`.
    """

    def __init__(self, shape: tuple[int, ...], capacity: int, *, folder: str | None = None):
        self.shape = tuple(shape)
        self._frame_bytes = int(np.prod(self.shape))
        self._capacity = max(1, capacity)
        fd, self.path = tempfile.mkstemp(prefix="leaktrace-frames-", suffix=".u8", dir=folder)
        self._fd: int | None = fd
        self.count = 0

    def append(self, frame: np.ndarray) -> None:
        if self.count >= self._capacity:
            raise InputError(
                "the video holds more frames than its packets announced; it is corrupt"
            )
        data = np.ascontiguousarray(frame, dtype=np.uint8)
        if data.shape != self.shape:
            raise ValueError(f"frame shape {data.shape} differs from the store's {self.shape}")
        os.pwrite(self._fd, data.data, self.count * self._frame_bytes)
        self.count += 1

    def __getitem__(self, index: int) -> np.ndarray:
        """A new array holding frame ``index`` (the caller may modify it)."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        out = np.empty(self.shape, dtype=np.uint8)
        view = memoryview(out).cast("B")
        done = 0
        while done < self._frame_bytes:
            got = os.preadv(self._fd, [view[done:]], index * self._frame_bytes + done)
            if got <= 0:
                raise OSError(f"short read from the frame store {self.path}")
            done += got
        return out

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if os.path.exists(self.path):
            os.unlink(self.path)


@dataclass(frozen=True)
class FrameTiming:
    pts: int
    duration: int


def decode_planes(info: VideoInfo) -> Iterator[tuple[FrameTiming, np.ndarray]]:
    """Every frame of the source as stored (planar YUV uint8), with its pts and duration in the
    stream's time base, in presentation order."""
    import av

    require_markable(info)
    try:
        with av.open(info.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            previous = None
            for frame in container.decode(stream):
                if frame.pts is None:
                    raise InputError(f"{info.path}: a video frame has no timestamp; remux it first")
                if previous is not None:
                    yield FrameTiming(previous[0], frame.pts - previous[0]), previous[1]
                previous = (frame.pts, frame.to_ndarray())
            if previous is not None:
                last = round(1 / (info.frame_rate * info.time_base)) if info.frame_rate else 1
                yield FrameTiming(previous[0], max(1, last)), previous[1]
    except av.error.FFmpegError as exc:
        raise InputError(
            f"{info.path}: decoding failed ({exc.strerror or exc}); the file is corrupt"
        ) from exc


def display_from_stored(array: np.ndarray, rotation: int) -> np.ndarray:
    """The stored frame turned as a player shows it (``rotation`` degrees counter-clockwise)."""
    return np.rot90(array, (rotation // 90) % 4) if rotation % 360 else array


def stored_from_display(array: np.ndarray, rotation: int) -> np.ndarray:
    return np.rot90(array, -(rotation // 90) % 4) if rotation % 360 else array


def read_luma(
    path: str | os.PathLike[str], *, every: int = 1, max_side: int | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, display-frame luma as float32 0..255) of every ``every``-th frame.

    Luma is Rec. 601 of the RGB a player shows (any codec FFmpeg decodes, rotation applied),
    the same luminance the image engine reads.
    """
    import av
    import cv2

    from leaktrace.engine.watermark.mask import luminance

    path = Path(path)
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a readable video ({exc.strerror or exc})") from exc
    with container:
        if not container.streams.video:
            raise InputError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index % every:
                    continue
                rgb = frame.to_ndarray(format="rgb24")
                rgb = display_from_stored(rgb, int(frame.rotation or 0) % 360)
                luma = luminance(np.ascontiguousarray(rgb))
                if max_side is not None and max(luma.shape) > max_side:
                    factor = max_side / max(luma.shape)
                    size = (round(luma.shape[1] * factor), round(luma.shape[0] * factor))
                    luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
                yield float(frame.time if frame.time is not None else 0.0), luma
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: decoding failed ({exc.strerror or exc})") from exc


# x264's AVX-512 routines give different bytes from run to run on the same input (measured on
# an AMD EPYC with AVX-512: every frame differed, up to 48 levels; capping the instruction set
# at AVX2, or turning off mb-tree, makes the output repeatable). On such a CPU the encoder is
# told to use the CPU's own instruction sets up to AVX2; elsewhere it detects them itself.
_X264_SETS = (
    ("MMX2", "mmxext"),
    ("SSE", "sse"),
    ("SSE2", "sse2"),
    ("SSE3", "pni"),
    ("SSSE3", "ssse3"),
    ("SSE4.1", "sse4_1"),
    ("SSE4.2", "sse4_2"),
    ("AVX", "avx"),
    ("AVX2", "avx2"),
    ("FMA3", "fma"),
    ("LZCNT", "abm"),
    ("BMI1", "bmi1"),
    ("BMI2", "bmi2"),
)


@cache
def x264_params() -> dict[str, str]:
    """Extra libx264 options that keep its output repeatable on this CPU (see above)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            line = next((row for row in info if row.startswith("flags")), "")
    except OSError:
        return {}
    flags = set(line.partition(":")[2].split())
    if "avx512f" not in flags:
        return {}
    return {"x264-params": "asm=" + ",".join(name for name, flag in _X264_SETS if flag in flags)}


def _encoder_options(encoder: str, settings: EncodeSettings) -> dict[str, str]:
    if encoder == "libx264":
        return {"preset": settings.preset, **x264_params()}
    if encoder == "libx265":
        # x265 prints its banner to stderr itself; a library must stay quiet.
        return {"preset": settings.preset, "x265-params": "log-level=error"}
    # libvpx: "good" quality with a speed comparable to x264's medium.
    return {"deadline": "good", "cpu-used": "3", "row-mt": "1"}


def _interleaved(source, streams: dict) -> Iterator:
    """The source's audio and subtitle packets, in file order, retargeted to the output."""
    if not streams:
        return
    for packet in source.demux(list(streams)):
        if packet.dts is None and packet.pts is None:
            continue
        packet.stream = streams[packet.stream]
        yield packet


def _seconds(packet) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts
    return float(stamp * packet.time_base) if stamp is not None else 0.0


def write_copy(
    info: VideoInfo,
    frames: Iterable[tuple[FrameTiming, np.ndarray]],
    out_path: str | os.PathLike[str],
    *,
    settings: EncodeSettings | None = None,
) -> None:
    """Encode ``frames`` (stored layout, the source's pixel format) as a copy of the source.

    The copy keeps the source's container family, codec, size, timestamps and time base,
    rotation and colour metadata; its audio and subtitle packets are the source's, untouched.
    Written to a temporary file and renamed, so ``out_path`` is either complete or absent.
    """
    import av

    require_markable(info)
    settings = settings or EncodeSettings()
    out_path = Path(out_path)
    muxer = _MUXERS.get(out_path.suffix.lower())
    if muxer is None:
        raise OutputError(f"{out_path}: unknown video extension; use .mp4, .mov, .mkv or .webm")
    encoder = MARK_ENCODERS[info.codec]
    try:
        with atomic_output(out_path) as temp:
            source = av.open(info.path)
            try:
                output = av.open(temp, "w", format=muxer, container_options={"fflags": "+bitexact"})
                try:
                    _encode(info, source, output, frames, encoder, settings)
                finally:
                    output.close()
            finally:
                source.close()
    except av.error.FFmpegError as exc:
        raise OutputError(
            f"{out_path}: the copy could not be written ({exc.strerror or exc})"
        ) from exc
    except OSError as exc:
        raise OutputError(f"{out_path}: cannot write ({exc.strerror or exc})") from exc


def _encode(info, source, output, frames, encoder: str, settings: EncodeSettings) -> None:
    import av

    src_video = source.streams.video[0]
    rate = info.frame_rate if info.frame_rate else Fraction(30)
    video = output.add_stream(encoder, rate=rate, options=_encoder_options(encoder, settings))
    ctx = video.codec_context
    ctx.width, ctx.height, ctx.pix_fmt = info.width, info.height, info.pix_fmt
    # The source's time base for the encoder and the stream: each frame's pts passes through
    # unchanged (the muxer may still round to its own unit: WebM counts milliseconds).
    ctx.time_base = info.time_base
    video.time_base = info.time_base
    ctx.thread_count = settings.threads
    ctx.bit_rate = int(settings.bit_rate or info.video_bit_rate)
    colour = info.colour
    ctx.color_primaries, ctx.color_trc = colour.primaries, colour.transfer
    ctx.colorspace, ctx.color_range = colour.matrix, colour.range
    if src_video.sample_aspect_ratio:
        ctx.sample_aspect_ratio = src_video.sample_aspect_ratio
    if info.display_matrix is not None:
        video.set_display_matrix(list(info.display_matrix))
    if info.family == "mp4" and info.codec == "hevc":
        ctx.codec_tag = "hvc1"  # what Apple players require; FFmpeg's default hev1 they refuse
    copied = {}
    for stream in source.streams:
        if stream.type in ("audio", "subtitle"):
            try:
                copied[stream] = output.add_stream_from_template(stream)
            except (ValueError, av.error.FFmpegError):
                continue  # a subtitle codec the target container cannot hold (rare)
    pending = _interleaved(source, copied)
    waiting = next(pending, None)
    fmt = info.pix_fmt

    def mux_until(seconds: float | None) -> None:
        nonlocal waiting
        while waiting is not None and (seconds is None or _seconds(waiting) <= seconds):
            output.mux(waiting)
            waiting = next(pending, None)

    def mux_video(packets) -> None:
        for packet in packets:
            mux_until(_seconds(packet))
            output.mux(packet)

    for timing, array in frames:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=fmt)
        frame.pts, frame.duration, frame.time_base = timing.pts, timing.duration, info.time_base
        frame.color_primaries, frame.color_trc = colour.primaries, colour.transfer
        frame.colorspace, frame.color_range = colour.matrix, colour.range
        mux_video(video.encode(frame))
    mux_video(video.encode(None))
    mux_until(None)
