"""What a video file holds, checked before anything is marked or identified.

:func:`probe` opens a file with PyAV (FFmpeg), reads every video packet's timestamps and size
(no decoding, so a 60 s 1080p clip is probed in a fraction of a second), decodes the first frame
to learn its rotation and colour metadata, and refuses with one clear :class:`InputError` what
leaktrace cannot use: files that are not videos, truncated or corrupt ones, videos without a
video stream, beyond the documented limits, or whose extension names another container.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

from leaktrace.errors import InputError, UnsupportedFormatError

#: Longest video accepted, in seconds (2 hours): a feature film; longer is almost surely a
#: recording left running, and a marked copy per recipient would take hours to encode.
MAX_DURATION_S = 2 * 3600.0
#: Most pixels per frame accepted: DCI 4K (4096 x 2304 including 16:9 UHD). 8K is refused.
MAX_PIXELS = 4096 * 2304
#: Codecs a marked copy can be encoded in (the decoder's name -> the encoder used).
MARK_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9"}

# Extension -> the demuxer families that may stand behind it. MP4 and MOV share a demuxer
# (ISO base media); Matroska and WebM too (WebM is Matroska restricted to VP8/VP9/AV1).
_EXTENSIONS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mp4",
    ".mkv": "matroska",
    ".webm": "matroska",
}
_WEBM_CODECS = {"vp8", "vp9", "av1"}


@dataclass(frozen=True)
class StreamInfo:
    """An audio or subtitle stream, remuxed untouched into every marked copy."""

    index: int
    kind: str  # "audio" or "subtitle"
    codec: str
    language: str | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class Colour:
    """FFmpeg's enumerations (AVColorPrimaries, ...); 2 means unspecified."""

    primaries: int
    transfer: int
    matrix: int
    range: int  # 1: limited ("tv"), 2: full ("pc"), 0: unspecified


@dataclass(frozen=True)
class VideoInfo:
    """The facts about a video that marking keeps and identification needs."""

    path: str
    container: str  # demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    family: str  # "mp4" or "matroska"
    codec: str
    pix_fmt: str
    width: int  # stored (coded) frame size
    height: int
    rotation: int  # degrees counter-clockwise that a player turns the stored frame by
    display_matrix: tuple[int, ...] | None
    time_base: Fraction
    frame_rate: Fraction  # average
    variable_rate: bool
    frame_count: int
    duration_s: float
    video_bit_rate: int  # bits per second, from the packets' sizes
    colour: Colour
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)
    video_index: int = 0

    @property
    def display_size(self) -> tuple[int, int]:
        """(height, width) as a player shows the video."""
        if self.rotation % 180:
            return self.width, self.height
        return self.height, self.width

    @property
    def markable(self) -> bool:
        return self.codec in MARK_ENCODERS and self.pix_fmt in MARKABLE_PIX_FMTS

    def to_params(self) -> dict:
        """A JSON-able summary, for an asset's parameters."""
        data = asdict(self)
        data.pop("path")
        data["time_base"] = [self.time_base.numerator, self.time_base.denominator]
        data["frame_rate"] = [self.frame_rate.numerator, self.frame_rate.denominator]
        data["display_matrix"] = None if self.display_matrix is None else list(self.display_matrix)
        data["streams"] = [asdict(s) for s in self.streams]
        return data


#: Pixel formats marked as they are (8-bit planar 4:2:0; ``yuvj420p`` is its full-range
#: spelling). Others are refused for marking in this version, not silently converted.
MARKABLE_PIX_FMTS = ("yuv420p", "yuvj420p")


def _family(container: str) -> str | None:
    names = set(container.split(","))
    if names & {"mov", "mp4"}:
        return "mp4"
    if names & {"matroska", "webm"}:
        return "matroska"
    return None


def _fail(path: Path, message: str, cls: type[InputError] = InputError) -> InputError:
    return cls(f"{path}: {message}")


def probe(path: str | os.PathLike[str], *, check_extension: bool = True) -> VideoInfo:
    """Read a video's container, streams, timing, rotation and colour metadata.

    Parameters
    ----------
    path : path-like
        The video file.
    check_extension : bool
        Refuse a file whose extension names another container than its content (a Matroska
        file called ``.mp4``): players and platforms trust extensions, so a copy written with
        the wrong one would not play everywhere.

    Raises
    ------
    InputError
        The file is missing, not a video, truncated or corrupt, has no video stream, is beyond
        :data:`MAX_DURATION_S` or :data:`MAX_PIXELS`, or lies about its extension.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise _fail(path, "no such file")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise _fail(
            path,
            f"not a readable video ({exc.strerror or exc}); check the file is a complete MP4, MOV, MKV or WebM",
        ) from exc
    with container:
        family = _family(container.format.name)
        if family is None:
            raise _fail(
                path,
                f"is a {container.format.long_name or container.format.name} file, not a video leaktrace reads (MP4, MOV, MKV, WebM)",
                UnsupportedFormatError,
            )
        if not container.streams.video:
            raise _fail(path, "has no video stream; give leaktrace the video file itself")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        expected = _EXTENSIONS.get(path.suffix.lower())
        if check_extension:
            if expected is None:
                raise _fail(
                    path,
                    f"unknown video extension {path.suffix!r}: use .mp4, .mov, .m4v, .mkv or .webm",
                    UnsupportedFormatError,
                )
            if expected != family or (path.suffix.lower() == ".webm" and codec not in _WEBM_CODECS):
                real = (
                    "MP4/MOV"
                    if family == "mp4"
                    else ("WebM" if codec in _WEBM_CODECS else "Matroska (.mkv)")
                )
                raise _fail(
                    path,
                    f"the extension says {path.suffix} but the file is {real}: rename it to match its content",
                )
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise _fail(path, "the video stream declares no frame size; the file is corrupt")
        if width * height > MAX_PIXELS:
            raise _fail(
                path,
                f"{width}x{height} is beyond the limit of {MAX_PIXELS / 1e6:.1f} megapixels per frame (DCI 4K); scale it down to 4K or less",
                UnsupportedFormatError,
            )
        declared = float(container.duration / 1e6) if container.duration else None
        if declared is not None and declared > MAX_DURATION_S:
            raise _fail(
                path,
                f"{declared / 3600:.1f} h is beyond the limit of {MAX_DURATION_S / 3600:.0f} h; cut it into parts of at most {MAX_DURATION_S / 3600:.0f} h",
                UnsupportedFormatError,
            )
        time_base = stream.time_base
        pts, total_bytes, bad = [], 0, 0
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.is_corrupt:
                    bad += 1
                total_bytes += packet.size
                if packet.pts is not None:
                    pts.append(int(packet.pts))
                    if (
                        len(pts) % 1024 == 0
                        and float((pts[-1] - pts[0]) * time_base) > MAX_DURATION_S
                    ):
                        raise _fail(
                            path,
                            f"longer than the limit of {MAX_DURATION_S / 3600:.0f} h",
                            UnsupportedFormatError,
                        )
        except av.error.FFmpegError as exc:
            raise _fail(
                path,
                f"the file is truncated or corrupt ({exc.strerror or exc}); use a complete copy",
            ) from exc
        if len(pts) < 2:
            raise _fail(
                path, "the video stream holds fewer than two frames; the file is truncated or empty"
            )
        if bad:
            raise _fail(
                path, f"{bad} corrupt video packets; the file is damaged, use a complete copy"
            )
        pts.sort()
        deltas = [b - a for a, b in zip(pts, pts[1:], strict=False)]
        last = deltas[-1] if deltas else 0
        span = float((pts[-1] - pts[0] + last) * time_base)
        if span > MAX_DURATION_S:
            raise _fail(
                path,
                f"{span / 3600:.1f} h is beyond the limit of {MAX_DURATION_S / 3600:.0f} h",
                UnsupportedFormatError,
            )
        # The stream's declared duration can be off by the last frame's length; the packets'
        # timestamps are what was recorded.
        frame_rate = (
            stream.average_rate
            or stream.guessed_rate
            or Fraction(len(pts), 1) / Fraction(span).limit_denominator(1000)
        )
        # Millisecond time bases (Matroska) round a constant 30 fps to 33 and 34: jitter of a
        # tick or two is not a variable rate.
        ordered = sorted(deltas)
        median = ordered[len(ordered) // 2]
        variable = ordered[-1] - ordered[0] > max(2, 0.1 * median)
        first = _first_frame(path)
        matrix = None
        side_data = first.side_data
        for item in side_data:
            # PyAV 18.1.1 iterates the container's types, not its data, as a mapping does
            data = item if hasattr(item, "type") else side_data[item]
            if "DISPLAYMATRIX" in str(data.type):
                matrix = tuple(
                    int.from_bytes(bytes(data)[i : i + 4], "little", signed=True)
                    for i in range(0, 36, 4)
                )
        colour = Colour(
            int(first.color_primaries),
            int(first.color_trc),
            int(first.colorspace),
            int(first.color_range),
        )
        pix_fmt = first.format.name
        others = []
        for other in container.streams:
            if other.type in ("audio", "subtitle"):
                ctx = other.codec_context
                others.append(
                    StreamInfo(
                        other.index,
                        other.type,
                        ctx.name if ctx is not None else "unknown",
                        other.language,
                        getattr(ctx, "sample_rate", None) if other.type == "audio" else None,
                        getattr(ctx, "channels", None) if other.type == "audio" else None,
                    )
                )
        return VideoInfo(
            path=str(path),
            container=container.format.name,
            family=family,
            codec=codec,
            pix_fmt=pix_fmt,
            width=width,
            height=height,
            rotation=int(first.rotation or 0) % 360,
            display_matrix=matrix,
            time_base=time_base,
            frame_rate=Fraction(frame_rate),
            variable_rate=bool(variable),
            frame_count=len(pts),
            duration_s=span,
            video_bit_rate=int(round(8 * total_bytes / max(span, 1e-3))),
            colour=colour,
            streams=tuple(others),
            video_index=stream.index,
        )


def _first_frame(path: Path):
    """The first decodable frame, from a fresh open: seeking back may be refused by files
    without an index."""
    import av

    try:
        with av.open(str(path)) as container:
            for frame in container.decode(container.streams.video[0]):
                return frame
    except av.error.FFmpegError as exc:
        raise _fail(
            path,
            f"the first video frame cannot be decoded ({exc.strerror or exc}); the file is corrupt",
        ) from exc
    raise _fail(path, "no video frame could be decoded; the file is truncated or corrupt")


def require_markable(info: VideoInfo) -> None:
    """Raise :class:`UnsupportedFormatError` unless a marked copy of ``info`` can be written."""
    if info.codec not in MARK_ENCODERS:
        names = ", ".join(sorted(MARK_ENCODERS))
        raise UnsupportedFormatError(
            f"{info.path}: leaktrace marks {names} videos, not {info.codec}; convert it first "
            "(H.264 in MP4 is the safe choice)"
        )
    if info.pix_fmt not in MARKABLE_PIX_FMTS:
        raise UnsupportedFormatError(
            f"{info.path}: pixel format {info.pix_fmt} cannot be marked in this version (8-bit "
            "4:2:0 only); convert it to yuv420p first"
        )
