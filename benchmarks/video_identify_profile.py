"""Where identifying a leaked video spends its CPU time, on one core (issue 12's speed target:
a 10 s 720p clip identified in at most its duration, 10 CPU s).

    taskset -c 0 python benchmarks/video_identify_profile.py [--work DIR] [--json OUT]

Builds a 10 s 720p clip from the fixture photographs (fixtures/make_videos.py), registers it
(one analysis; the reference is rebuilt from the asset's params and fingerprint blobs, as the
pipeline loads it), marks copies for two of 100 recipients, and makes a handful of leaks: a
CRF 28 re-encode, 480p, a 5 s trim, a 50 % crop, a 9:16 story and one frame saved as JPEG.
With ``--work`` the clip, the copies and the leaks are kept and reused, so a second run
identifies the very same files.

Each leak is identified (``detect_file``: sampling, locate, time alignment, registration,
projection, decision with 100 recipients at the default bound) with a fresh reference, as a
command-line identify starts. The process is pinned to one CPU, OpenCV and BLAS to one thread.
Stages are timed in CPU seconds by wrapping the functions that do them; time inside a nested
stage counts only for that stage, the rest of identify is "other".
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from _stages import Stages  # noqa: E402

KEY = b"video-profile-key-0123456789abcd"
RECIPIENTS = [f"r{i:03d}" for i in range(100)]
MARKED = ["r017", "r063"]
# (name, simulation, copy marked for): the leaks, each of one of the two marked copies.
LEAKS = [
    ("crf28", "crf28", "r017"),
    ("480p", "480p", "r063"),
    ("trim5", "trim5", "r017"),
    ("crop50", "crop50", "r063"),
    ("story", "story", "r017"),
    ("frame_jpeg", "frame_jpeg", "r063"),
]
# Slower to make, on request (--leaks): a screen recording of a player, a phone filming a monitor.
MORE = [("screen", "screen", "r017"), ("phone", "phone", "r063")]

# (module, attribute, stage), in the order of the table. Functions imported by name into
# detect are wrapped there (its own namespace is what it calls).
STAGES = [
    ("leaktrace.media.video.detect", "read_leak", "decode leak, sampling"),
    ("leaktrace.media.video.detect", "original_lumas", "decode original frames"),
    ("leaktrace.media.video.detect", "frame_signature", "fingerprint lookup: hashes"),
    ("leaktrace.engine.match.registration", "compute_features", "SIFT features"),
    ("leaktrace.media.video.detect", "match_features", "fingerprint lookup: key frames"),
    ("leaktrace.media.video.detect", "thumbnail_scores", "time alignment"),
    ("leaktrace.media.video.detect", "align_frames", "time alignment"),
    ("leaktrace.media.video.detect", "register", "frame registration"),
    ("leaktrace.media.video.detect", "register_from", "frame registration"),
    ("leaktrace.media.video.detect", "frame_mask", "mask of the original frame"),
    ("leaktrace.media.video.detect", "prepare", "residual (warp, tone fit, filter)"),
    ("leaktrace.engine.match.residual", "WeightedResidual.project", "segment-layout projection"),
    ("leaktrace.engine.watermark.pattern", "CellSampler.__init__", "segment-layout projection"),
    ("leaktrace.engine.watermark.pattern", "CellSampler.cell_sums", "segment-layout projection"),
    ("leaktrace.media.video.detect", "project_cells", "segment-layout projection"),
    ("leaktrace.engine.watermark.pattern", "cell_groups", "keyed layouts, codes"),
    ("leaktrace.engine.watermark.pattern", "cell_signs", "keyed layouts, codes"),
    ("leaktrace.media.video.schedule", "VideoKeying.recipient_code", "keyed layouts, codes"),
    ("leaktrace.media.video.schedule", "VideoKeying.decoy_codes", "keyed layouts, codes"),
    ("leaktrace.media.video.detect", "attribute", "decision"),
    ("leaktrace.media.video.detect", "Measurement.score_frames", "decision"),
]


def one_core() -> None:
    import cv2
    from threadpoolctl import threadpool_limits

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    threadpool_limits(limits=1)
    cv2.setNumThreads(1)


def prepare(work: Path, seconds: float, height: int) -> Path:
    """The clip, its asset data (params.json, blobs) and the two marked copies in ``work``."""
    from make_videos import build

    from leaktrace.media.video.analysis import analyse_video
    from leaktrace.media.video.mark import VideoMarker

    clip = work / "clip.mp4"
    if not clip.exists():
        build(clip, seconds=seconds, height=height)
    if all((work / f"{rid}.mp4").exists() for rid in MARKED) and (work / "params.json").exists():
        return clip
    with analyse_video(clip, work_dir=str(work)) as analysis:
        (work / "params.json").write_text(
            json.dumps({"params": analysis.params(), "sha256": analysis.sha256})
        )
        for name, blob in analysis.fingerprint.blobs().items():
            (work / name).write_bytes(blob)
        for rid in MARKED:
            VideoMarker(analysis, KEY).mark(rid, work / f"{rid}.mp4")
    return clip


def make_leaks(work: Path, names: list[str] | None = None) -> list[tuple[str, Path, str]]:
    from leaktrace.simulate import video as sim

    made = []
    for seed, (name, simulation, rid) in enumerate(LEAKS + MORE):
        if name not in (names or [n for n, _, _ in LEAKS]):
            continue
        leak = work / f"leak-{name}{'.jpg' if simulation == 'frame_jpeg' else '.mp4'}"
        if not leak.exists():
            sim.simulate(simulation, work / f"{rid}.mp4", leak, seed=300 + seed)
        made.append((name, leak, rid))
    return made


def reference_for(work: Path, clip: Path):
    """A fresh reference, as the pipeline builds it from the registered asset."""
    from leaktrace.media.video.detect import VideoReference

    stored = json.loads((work / "params.json").read_text())
    blobs = {name: (work / name).read_bytes() for name in ("frames.npz", "keyframe-features.npz")}
    return VideoReference.from_params(stored["params"], blobs, str(clip), stored["sha256"])


def run(args) -> list[dict]:
    from leaktrace.media.video.detect import detect_file

    work = args.work or Path(tempfile.mkdtemp(prefix="leaktrace-video-profile-"))
    work.mkdir(parents=True, exist_ok=True)
    clip = prepare(work, args.seconds, args.height)
    leaks = make_leaks(work, args.leaks.split(",") if args.leaks else None)
    one_core()
    stages = Stages(STAGES, clock=time.process_time)
    stages.install()
    detect_file(reference_for(work, clip), leaks[0][1], KEY, RECIPIENTS)  # imports, once
    stages.take()
    rows = []
    for name, leak, rid in leaks:
        reference = reference_for(work, clip)
        start = time.process_time()
        found = detect_file(reference, leak, KEY, RECIPIENTS)
        cpu = time.process_time() - start
        used = sum(1 for f in found.frames if f.pixels_used)
        rows.append(
            {
                "leak": name,
                "cpu_s": cpu,
                "verdict": found.verdict,
                "best": found.best,
                "right": found.verdict == "attributed" and found.best == rid,
                "z": found.z,
                "frames": f"{used}/{len(found.frames)}",
                "stages": stages.take(),
            }
        )
        print(f"  {name}: {cpu:.2f} CPU s, {found.verdict} {found.best}", file=sys.stderr)
    return rows


def render(rows: list[dict], command: str) -> list[str]:
    order = list(dict.fromkeys(stage for _, _, stage in STAGES)) + ["other"]
    for row in rows:
        row["stages"]["other"] = row["cpu_s"] - sum(row["stages"].values())
    lines = [
        f"Command: `{command}`. CPU seconds on one core; 100 recipients, bound 1e-9.",
        "",
        "| leak | CPU s | verdict | recipient | z | frames used |",
        "|---|---:|---|---|---:|---:|",
    ]
    for row in rows:
        z = f"{row['z']:.2f}" if row["z"] is not None else "-"
        right = "" if row["right"] else " (wrong)"
        lines.append(
            f"| {row['leak']} | {row['cpu_s']:.2f} | {row['verdict']} | {row['best']}{right} "
            f"| {z} | {row['frames']} |"
        )
    lines += ["", "| stage | " + " | ".join(r["leak"] for r in rows) + " |"]
    lines.append("|---|" + "---:|" * len(rows))
    for stage in order:
        cells = " | ".join(f"{r['stages'].get(stage, 0.0):.2f}" for r in rows)
        lines.append(f"| {stage} | {cells} |")
    lines.append("| **total** | " + " | ".join(f"**{r['cpu_s']:.2f}**" for r in rows) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, help="keep and reuse the clip, copies and leaks")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--leaks", help="comma-separated, of " + ",".join(n for n, _, _ in LEAKS + MORE)
    )
    args = parser.parse_args()
    rows = run(args)
    command = " ".join(["python benchmarks/video_identify_profile.py", *sys.argv[1:]])
    print("\n".join(render(rows, command)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
