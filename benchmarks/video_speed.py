"""Video marking: speed, memory, size and invisibility on a 60 s 1080p clip.

    python benchmarks/video_speed.py [--clip PATH] [--seconds 60] [--height 1080] [--recipients 2]

Builds the clip from the fixture photographs (fixtures/make_videos.py) unless one is given,
then times: the analysis (one decode: masks, fingerprint, key-frame features); a plain
re-encode (decode + encode with the copies' settings); and each recipient's marked copy (marks
read from the analysis, one encode). Prints a table with the ratio of the per-recipient cost to
the plain re-encode, the peak resident memory, the copy's size against the source, PSNR of the
mark alone and of the encoded copy, and the temporal-flicker figure: the mean absolute
frame-to-frame change of (marked - source), against the source's own frame-to-frame change.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from make_videos import build  # noqa: E402

from leaktrace.media.video.analysis import analyse_video  # noqa: E402
from leaktrace.media.video.io import EncodeSettings, decode_planes, write_copy  # noqa: E402
from leaktrace.media.video.mark import VideoMarker  # noqa: E402
from leaktrace.media.video.probe import probe  # noqa: E402

KEY = b"benchmark-key-0123456789abcdef!!"


class Timer:
    """Wall and CPU seconds (all threads of this process: the encoder's included). On a shared
    machine the CPU seconds are the fair measure of cost."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def decoded_y(path: Path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.reformat(format="yuv420p").to_ndarray()[: frame.height].astype(np.int16)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def mark_only_figures(analysis, marker: VideoMarker, recipient: str) -> dict:
    """PSNR and flicker of the mark before encoding (marked planes vs decoded source)."""
    height = analysis.info.height
    values, flicker, source_motion = [], [], []
    previous_diff = previous_source = None
    for index, (_, planes) in enumerate(marker.marked_frames(recipient)):
        source = np.asarray(analysis.frames[index][:height]).astype(np.int16)
        diff = planes[:height].astype(np.int16) - source
        values.append(psnr(planes[:height], source))
        if previous_diff is not None:
            flicker.append(float(np.abs(diff - previous_diff).mean()))
            source_motion.append(float(np.abs(source - previous_source).mean()))
        previous_diff, previous_source = diff, source
    return {
        "psnr_min": min(values),
        "psnr_mean": float(np.mean(values)),
        "flicker": float(np.mean(flicker)),
        "source_motion": float(np.mean(source_motion)),
    }


def encoded_figures(source: Path, plain: Path, marked: Path) -> dict:
    """PSNR of the encoded copies against the source, and how much their coding error changes
    from frame to frame (the mark's flicker after encoding is the difference of the two)."""
    p_marked, p_plain, f_marked, f_plain = [], [], [], []
    previous = None
    for s, p, m in zip(decoded_y(source), decoded_y(plain), decoded_y(marked), strict=False):
        p_marked.append(psnr(m, s))
        p_plain.append(psnr(p, s))
        errors = (m - s, p - s)
        if previous is not None:
            f_marked.append(float(np.abs(errors[0] - previous[0]).mean()))
            f_plain.append(float(np.abs(errors[1] - previous[1]).mean()))
        previous = errors
    return {
        "copy_psnr_min": min(p_marked),
        "copy_psnr_mean": float(np.mean(p_marked)),
        "plain_psnr_min": min(p_plain),
        "plain_psnr_mean": float(np.mean(p_plain)),
        "copy_flicker": float(np.mean(f_marked)),
        "plain_flicker": float(np.mean(f_plain)),
    }


def codec_table(work: Path, seconds: float, height: int, preset: str) -> list[tuple]:
    """Size and time of a marked copy against a plain re-encode, for each codec and container a
    copy can be written in: the same footage encoded as each source (at a typical bit rate)."""
    from make_videos import shots

    from leaktrace.media.video.scenes import write_clip

    width = round(height * 16 / 9 / 2) * 2
    rows = []
    for codec, suffix, bit_rate in (
        ("libx264", ".mp4", 2_500_000),
        ("libx264", ".mkv", 2_500_000),
        ("libx265", ".mp4", 1_500_000),
        ("libvpx-vp9", ".webm", 1_500_000),
    ):
        source = work / f"source-{codec}{suffix}"
        write_clip(
            source, shots((width, height), 30, seconds), codec=codec, crf=None, bit_rate=bit_rate
        )
        info = probe(source)
        settings = EncodeSettings(preset=preset)
        start = time.perf_counter()
        plain = work / f"plain-{codec}{suffix}"
        write_copy(info, decode_planes(info), plain, settings=settings)
        plain_s = time.perf_counter() - start
        with analyse_video(source, work_dir=str(work)) as analysis:
            copy = work / f"marked-{codec}{suffix}"
            start = time.perf_counter()
            VideoMarker(analysis, KEY).mark("recipient-0", copy, settings=settings)
            marked_s = time.perf_counter() - start
        size = source.stat().st_size
        rows.append(
            (
                f"{info.codec} {suffix}",
                plain.stat().st_size / size,
                copy.stat().st_size / size,
                marked_s / plain_s,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--recipients", type=int, default=2)
    parser.add_argument("--preset", default="medium")
    parser.add_argument(
        "--codecs", action="store_true", help="only the per-codec size table (10 s, 720p)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leaktrace-video-bench-"))
    if args.codecs:
        print(
            "| source | plain re-encode size / source | marked copy size / source | marked / plain time |"
        )
        print("|---|---:|---:|---:|")
        for name, plain, marked, ratio in codec_table(work, 10.0, 720, args.preset):
            print(f"| {name} | {plain:.3f} | {marked:.3f} | {ratio:.2f} |")
        return
    clip = args.clip or build(work / "clip.mp4", seconds=args.seconds, height=args.height)
    info = probe(clip)
    settings = EncodeSettings(preset=args.preset)
    rows = []

    plain = work / "plain.mp4"
    with Timer() as plain_t:
        write_copy(info, decode_planes(info), plain, settings=settings)
    size = clip.stat().st_size
    rows.append(
        ("plain re-encode (decode + encode)", plain_t, plain_t, plain.stat().st_size / size)
    )
    with Timer() as analyse_t:
        analysis = analyse_video(clip, work_dir=str(work))
    rows.append(("analysis, once per video", analyse_t, plain_t, None))
    marker = VideoMarker(analysis, KEY)
    copies = []
    for index in range(args.recipients):
        out = work / f"recipient-{index}.mp4"
        with Timer() as mark_t:
            marker.mark(f"recipient-{index}", out, settings=settings)
        copies.append(out)
        rows.append(
            (f"marked copy, recipient {index + 1}", mark_t, plain_t, out.stat().st_size / size)
        )
    rss = peak_rss_gib()
    quality = mark_only_figures(analysis, marker, "recipient-0")
    encoded = encoded_figures(clip, plain, copies[0])
    analysis.close()

    print(
        f"clip: {info.width}x{info.height}, {info.duration_s:.1f} s, {info.frame_count} frames, {info.codec} at {info.video_bit_rate / 1e6:.2f} Mbit/s; encoder preset {settings.preset}, {settings.threads} threads"
    )
    print()
    print("| step | wall s | CPU s | CPU x plain re-encode | wall x plain | size / source |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, t, plain_time, ratio in rows:
        size_text = "" if ratio is None else f"{ratio:.3f}"
        print(
            f"| {name} | {t.wall:.1f} | {t.cpu:.1f} | {t.cpu / plain_time.cpu:.2f} | {t.wall / plain_time.wall:.2f} | {size_text} |"
        )
    print()
    print(f"peak resident memory: {rss:.2f} GiB")
    print()
    print("| invisibility | value |")
    print("|---|---:|")
    print(
        f"| mark alone: per-frame Y PSNR, min / mean (dB) | {quality['psnr_min']:.1f} / {quality['psnr_mean']:.1f} |"
    )
    print(
        f"| encoded marked copy vs source: Y PSNR min / mean (dB) | {encoded['copy_psnr_min']:.1f} / {encoded['copy_psnr_mean']:.1f} |"
    )
    print(
        f"| plain re-encode vs source: Y PSNR min / mean (dB) | {encoded['plain_psnr_min']:.1f} / {encoded['plain_psnr_mean']:.1f} |"
    )
    print(
        f"| flicker of the mark alone: mean abs frame-to-frame change of (marked - source) (luma steps) | {quality['flicker']:.4f} |"
    )
    print(
        f"| the source's own mean abs frame-to-frame change (luma steps) | {quality['source_motion']:.3f} |"
    )
    print(
        f"| after encoding: frame-to-frame change of (marked copy - source) (luma steps) | {encoded['copy_flicker']:.3f} |"
    )
    print(
        f"| after encoding: frame-to-frame change of (plain re-encode - source) (luma steps) | {encoded['plain_flicker']:.3f} |"
    )


if __name__ == "__main__":
    main()
