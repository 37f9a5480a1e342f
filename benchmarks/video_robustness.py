"""Video attribution under simulated leaks: the correct recipient among 100, and innocents.

    python benchmarks/video_robustness.py [--seconds 30] [--height 1080] [--trials 3]
                                         [--attacks crf23,trim10,...] [--clip PATH]

Builds a clip from the fixture photographs (fixtures/make_videos.py), registers it (one
analysis), marks copies for two of 100 recipients (and one under another registry key), runs
every simulated leak (leaktrace.simulate.video) with ``--trials`` seeds on the marked
copies, and once each on the unmarked original and on the other key's copy (innocents), and
identifies every leak against the original with the default bound (1e-9, Bonferroni over the
100 recipients). Prints one table row per attack. The detection time of each leak is measured on
one core (the process is pinned to CPU 0 while it identifies).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from make_videos import build  # noqa: E402

from leaktrace.media.video.analysis import analyse_video  # noqa: E402
from leaktrace.media.video.detect import VideoReference, detect_file  # noqa: E402
from leaktrace.media.video.mark import VideoMarker  # noqa: E402
from leaktrace.simulate import video as sim  # noqa: E402

KEY = b"robustness-key-0123456789abcdef!"
OTHER_KEY = b"a-different-registry-key-4567890"
RECIPIENTS = [f"r{i:03d}" for i in range(100)]
MARKED = ["r017", "r063"]


def trim_720p(source, leak, seed=0):
    """A 10 s excerpt downscaled to 720p: the identify-speed target's clip."""
    total = sim._duration(source)
    start = float(np.random.default_rng(seed).uniform(0, max(0.0, total - 10)))
    sim.transcode(
        source, leak, start_s=start, duration_s=10, transform=sim._resize_to_height(720), seed=seed
    )


ATTACKS = {
    **{name: sim.SIMULATIONS[name] for name in sim.SIMULATIONS},
    "trim10_720p": trim_720p,
    "frame_jpeg": sim.frame_jpeg,
}
DEFAULT = [
    "crf23", "crf28", "crf35", "720p", "480p", "trim10", "trim5", "trim2", "fps24", "crop50",
    "story", "stickers", "speed125", "stutter", "screen", "trim10_720p", "frame_jpeg", "phone",
]  # fmt: skip


def run(attack, source, leak, seed):
    if attack in ("frame_jpeg", "trim10_720p"):
        ATTACKS[attack](source, leak, seed=seed)
    else:
        sim.simulate(attack, source, leak, seed=seed)


def identify_on_one_core(reference, leak):
    """Identify pinned to one CPU; returns the result and the CPU seconds it used (on a shared
    machine the wall time says more about the neighbours than about identify)."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        start = time.process_time()
        found = detect_file(reference, leak, KEY, RECIPIENTS)
        return found, time.process_time() - start
    finally:
        os.sched_setaffinity(0, allowed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", type=Path)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--phone-trials", type=int, default=2)
    parser.add_argument("--attacks", default=",".join(DEFAULT))
    parser.add_argument(
        "--phone-innocents",
        type=int,
        default=2,
        help="innocent phone recordings (1: unmarked only)",
    )
    parser.add_argument(
        "--one-innocent",
        action="store_true",
        help="one innocent per attack, the unmarked original and the other key's copy in turn",
    )
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="leaktrace-video-robust-"))
    work.mkdir(parents=True, exist_ok=True)
    clip = args.clip or work / "clip.mp4"
    if not clip.exists():
        build(clip, seconds=args.seconds, height=args.height)
    with analyse_video(clip, work_dir=str(work)) as analysis:
        reference = VideoReference.from_analysis(analysis)
        copies = {}
        for rid in MARKED:
            copies[rid] = work / f"{rid}.mp4"
            if not copies[rid].exists():
                VideoMarker(analysis, KEY).mark(rid, copies[rid])
        other = work / "other-key.mp4"
        if not other.exists():
            VideoMarker(analysis, OTHER_KEY).mark(MARKED[0], other)
    print(
        f"clip: {clip.name}, {args.seconds:.0f} s at {args.height}p; {len(RECIPIENTS)} recipients; bound 1e-9",
        flush=True,
    )
    print()
    print(
        "| attack | marked trials | correct | wrong | z (median, min) | innocent trials | innocents attributed | identify CPU s (median, one core) |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|", flush=True)
    totals = {"correct": 0, "marked": 0, "innocent": 0, "false": 0}
    for row, attack in enumerate(args.attacks.split(",")):
        trials = args.phone_trials if attack == "phone" else args.trials
        ext = ".jpg" if attack == "frame_jpeg" else ".mp4"
        zs, correct, wrong, seconds = [], 0, 0, []
        for trial in range(trials):
            rid = MARKED[trial % len(MARKED)]
            leak = work / f"leak-{attack}-{trial}{ext}"
            run(attack, copies[rid], leak, seed=100 + trial)
            found, took = identify_on_one_core(reference, leak)
            seconds.append(took)
            zs.append(found.z if found.z is not None else float("nan"))
            correct += found.verdict == "attributed" and found.best == rid
            wrong += found.verdict == "attributed" and found.best != rid
            leak.unlink()
        innocent, false = 0, 0
        innocents = (("unmarked", clip), ("other-key", other))
        if attack == "phone":
            innocents = innocents[: args.phone_innocents]
        elif args.one_innocent:
            innocents = innocents[row % 2 : row % 2 + 1]
        for name, source in innocents:
            leak = work / f"innocent-{attack}-{name}{ext}"
            run(attack, source, leak, seed=200)
            found, took = identify_on_one_core(reference, leak)
            seconds.append(took)
            innocent += 1
            false += found.verdict == "attributed"
            leak.unlink()
        totals["correct"] += correct
        totals["marked"] += trials
        totals["innocent"] += innocent
        totals["false"] += false
        finite = [z for z in zs if np.isfinite(z)]
        z_text = f"{np.median(finite):.1f}, {min(finite):.1f}" if finite else "-"
        print(
            f"| {attack} | {trials} | {correct} | {wrong} | {z_text} | {innocent} | {false} | {np.median(seconds):.1f} |",
            flush=True,
        )
    print()
    print(
        f"total: {totals['correct']}/{totals['marked']} correct, {totals['false']}/{totals['innocent']} innocents attributed"
    )


if __name__ == "__main__":
    main()
