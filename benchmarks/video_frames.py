"""Pictures for looking at the video mark: a frame at 200 %, and strips of consecutive frames.

    python benchmarks/video_frames.py OUT_DIR [--height 720]

Films a slow drift over the flat sky of a fixture photo (and the benchmark's turntable draft),
marks it, encodes the copy like the source, and writes PNGs: ``zoom200_source.png`` and
``zoom200_marked.png`` (a crop at 200 %, nearest neighbour, from the *encoded* copy),
``strip_marked.png`` (six consecutive frames of the encoded copy, side by side) and
``strip_difference.png`` (the same frames' marked - source luma, amplified x16 around gray, so
the pattern's behaviour over time can be seen: still within a segment, cross-fading between).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from make_videos import _load  # noqa: E402

from leaktrace.media.video import scenes  # noqa: E402
from leaktrace.media.video.analysis import analyse_video  # noqa: E402
from leaktrace.media.video.mark import VideoMarker  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--start", type=int, default=100, help="first frame of the strips")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    width = round(args.height * 16 / 9 / 2) * 2
    sky = _load(FIXTURES / "photos-large" / "bridge_beach.jpg", 3 * width)
    sky = sky[: sky.shape[0] // 3]
    rng = np.random.default_rng(0)
    source = args.out / "flat.mp4"
    frames = scenes.pan_zoom(sky, (width, args.height), 180, rng, zoom=(1.0, 1.03), travel=0.05)
    scenes.write_clip(source, frames, crf=20)
    marked = args.out / "flat_marked.mp4"
    with analyse_video(source) as analysis:
        VideoMarker(analysis, b"frames-key-0123456789abcdef!!!!!").mark("outlet-01", marked)
        boundary = analysis.schedule.boundaries[0] if analysis.schedule.boundaries else args.start
    src, mk = rgb_frames(source), rgb_frames(marked)
    # A 200 % crop of the middle.
    h, w = args.height // 4, width // 4
    top, left = args.height // 3, width // 3
    for name, frames in (("source", src), ("marked", mk)):
        crop = frames[args.start][top : top + h, left : left + w]
        Image.fromarray(crop).resize((2 * w, 2 * h), Image.Resampling.NEAREST).save(
            args.out / f"zoom200_{name}.png"
        )

    # Strips over the first segment boundary's cross-fade (every 6th frame across it) and of
    # six consecutive frames.
    def strip(indices, make):
        tiles = [make(i) for i in indices]
        return np.concatenate(tiles, axis=1)

    small = (slice(top, top + h), slice(left, left + w))
    luma = lambda rgb: rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # noqa: E731
    consecutive = range(args.start, args.start + 6)
    Image.fromarray(strip(consecutive, lambda i: mk[i][small])).save(args.out / "strip_marked.png")

    def difference(i):
        return np.clip(128 + 16 * (luma(mk[i]) - luma(src[i]))[small], 0, 255).astype(np.uint8)  # noqa: E731

    Image.fromarray(strip(consecutive, difference)).save(args.out / "strip_difference.png")
    across = [max(0, min(len(mk) - 1, boundary + k)) for k in range(-18, 19, 6)]
    Image.fromarray(strip(across, difference)).save(args.out / "strip_difference_fade.png")
    print(
        f"wrote PNGs to {args.out}; segment boundary at frame {boundary}, fade strip frames {across}"
    )


if __name__ == "__main__":
    main()
