"""Robustness and invisibility of leaktrace's image marks, measured end to end.

For every fixture image (photos and design drafts) it creates a registry, marks the image for
``--recipients`` recipients, then for every named attack simulates the leak of one recipient's
copy (rotating through recipients) and of the *unmarked* original, and runs the real
``identify``. It prints, per image kind and attack, the correct-attribution rate and the number of
false attributions, plus the invisibility figures (PSNR, SSIM, CIEDE2000) of the marked copies.

    python benchmarks/robustness.py                      # large fixtures, all attacks
    python benchmarks/robustness.py --write docs/robustness.md
    python benchmarks/robustness.py --set small --attacks social480,jpeg50 --recipients 10
    python benchmarks/robustness.py --write-attacks docs/robustness.md   # catalogue table only

``--set small`` uses the 300-1411 px fixtures the tests use, ``--set large`` the 2000-4000 px
photographs and drafts (``fixtures/photos-large``, ``fixtures/drafts-large``), ``--set all``
both, counted together per kind. ``--workers`` processes share the work image by image and
attack by attack; the results do not depend on it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _docs import write_block

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
FIXTURE_SETS = {
    "small": {"photo": FIXTURES / "photos", "draft": FIXTURES / "drafts"},
    "large": {"photo": FIXTURES / "photos-large", "draft": FIXTURES / "drafts-large"},
}
#: The small set by kind, under the name older callers import.
KINDS = FIXTURE_SETS["small"]

#: Attacks per worker task. Small enough that two workers finish within a task of each other,
#: large enough that reloading the image for each task stays a few per cent of the work.
ATTACKS_PER_TASK = 8

#: Marked copies per image whose invisibility is measured (CIEDE2000 of a 4000 px image takes
#: seconds, and the spread between recipients' copies is small).
COPIES_MEASURED = 3

#: Image rows per CIEDE2000 stripe.
DELTA_E_STRIPE = 256


def invisibility(original: np.ndarray, marked: np.ndarray) -> dict:
    from skimage.color import deltaE_ciede2000, rgb2lab
    from skimage.metrics import structural_similarity

    diff = original.astype(np.float64) - marked.astype(np.float64)
    mse = float(np.mean(diff * diff))
    psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
    ssim = structural_similarity(original, marked, channel_axis=2, data_range=255)
    # CIEDE2000 is per pixel, so stripes give the same values; whole 4000 px images would hold
    # about 3 GB of float64 intermediates per worker.
    delta_e = np.concatenate(
        [
            deltaE_ciede2000(
                rgb2lab(original[top : top + DELTA_E_STRIPE]),
                rgb2lab(marked[top : top + DELTA_E_STRIPE]),
            ).ravel()
            for top in range(0, original.shape[0], DELTA_E_STRIPE)
        ]
    )
    return {
        "psnr": psnr,
        "ssim": float(ssim),
        "de_mean": float(delta_e.mean()),
        "de_p99": float(np.percentile(delta_e, 99)),
    }


def fixture_files(set_names: list[str], kind: str) -> list[Path]:
    """The images of one kind in the chosen sets, small set first, each folder sorted."""
    from leaktrace import api

    return [
        path
        for name in set_names
        for path in sorted(FIXTURE_SETS[name][kind].iterdir())
        if path.suffix.lower() in api.IMAGE_SUFFIXES
    ]


@dataclass(frozen=True)
class ImageJob:
    """A slice of the attacks on one marked image: one task for a worker process."""

    registry: str  # location, opened by each worker
    kind: str
    source: Path
    copies: Path  # the folder holding <recipient id>/<source name>
    image_index: int  # position among the images of its kind, for the recipient rotation
    attacks: tuple[tuple[int, str], ...]  # (position in the run, which is also the seed; name)
    recipients: tuple[str, ...]
    measure_looks: bool  # one task per image also measures invisibility


@dataclass
class JobResult:
    kind: str
    source: Path
    #: (attack name, recipient whose copy leaked or None for the original, recipient accused)
    outcomes: list[tuple[str, str | None, str | None]]
    looks: list[dict]


def run_job(job: ImageJob) -> JobResult:
    """Attack and identify one image's copies for a slice of the attacks (in a worker process)."""
    from leaktrace import api
    from leaktrace.batch.executors import worker_registry
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.simulate import run_attack

    registry = worker_registry(job.registry, None)
    original = load_display_rgb(job.source)

    def copy_of(rid: str) -> np.ndarray:
        return load_display_rgb(job.copies / rid / job.source.name)

    looks = (
        [invisibility(original, copy_of(rid)) for rid in job.recipients[:COPIES_MEASURED]]
        if job.measure_looks
        else []
    )
    outcomes: list[tuple[str, str | None, str | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for attack_index, name in job.attacks:
            # The same recipient rotation as ever, so a run's figures compare with older ones.
            rid = job.recipients[(job.image_index * 7 + attack_index) % len(job.recipients)]
            for leaked_for, pixels in ((rid, copy_of(rid)), (None, original)):
                data, extension = run_attack(name, pixels, seed=attack_index)
                leak = Path(tmp) / f"leak{extension}"
                leak.write_bytes(data)
                found = api.identify(registry, leak)
                accused = found.recipient.id if found.recipient else None
                outcomes.append((name, leaked_for, accused))
    return JobResult(job.kind, job.source, outcomes, looks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attacks", help="comma-separated attack names (default: all)")
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="trials per image and attack, each with its own seed and leaking recipient",
    )
    parser.add_argument(
        "--key",
        help="registry key in hex (default: a new random key). Two runs compare trial by trial "
        "only under one key: each key draws other patterns, so a borderline leak can flip",
    )
    parser.add_argument("--kinds", default="photo,draft")
    parser.add_argument(
        "--set",
        choices=("small", "large", "all"),
        default="large",
        help="fixture images: small (300-1411 px, the tests' set), large (2000-4000 px), all",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per CPU)"
    )
    parser.add_argument("--write", type=Path, help="write the tables into this markdown file")
    parser.add_argument(
        "--write-attacks",
        type=Path,
        metavar="MARKDOWN",
        help="only write the attack catalogue table into this markdown file, run nothing",
    )
    args = parser.parse_args(argv)

    if args.write_attacks:
        write_attack_table(args.write_attacks)
        return 0

    from leaktrace import api
    from leaktrace.batch.executors import make_executor
    from leaktrace.registry.keys import write_key_file
    from leaktrace.simulate import ATTACKS

    names = args.attacks.split(",") if args.attacks else list(ATTACKS)
    unknown = [name for name in names if name not in ATTACKS]
    if unknown:
        parser.error(f"unknown attacks: {', '.join(unknown)}")
    kinds = args.kinds.split(",")
    set_names = ["small", "large"] if args.set == "all" else [args.set]
    results: dict[tuple[str, str], list[int]] = defaultdict(
        lambda: [0, 0, 0, 0]
    )  # ok, n, false, neg
    looks: dict[str, list[dict]] = defaultdict(list)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, make_executor(args.workers) as executor:
        location = str(Path(tmp) / "registry")
        key = bytes.fromhex(args.key) if args.key else None
        registry = api.init_registry(location, key=key)
        if key is not None:  # the workers reopen the registry from its folder
            write_key_file(Path(location) / "key", key)
        ids = [f"outlet-{i:02d}" for i in range(args.recipients)]
        for rid in ids:
            api.add_recipient(registry, rid, recipient_id=rid)
        jobs: list[ImageJob] = []
        # Seed s of attack i is trial i + s * len(names): the first seed is the run of old.
        indexed = [
            (index + trial * len(names), name)
            for trial in range(args.seeds)
            for index, name in enumerate(names)
        ]
        for kind in kinds:
            sources = fixture_files(set_names, kind)
            failed: set[Path] = set()
            # One call per folder, so that the workers mark different files at once; small and
            # large drafts share file names, so each folder gets its own output.
            for folder in dict.fromkeys(source.parent for source in sources):
                report = api.mark_files(
                    registry,
                    [source for source in sources if source.parent == folder],
                    Path(tmp) / "dist" / kind / folder.name,
                    recipient_ids=ids,
                    executor=executor,
                )
                for path, reason in report.failures:
                    print(f"cannot mark {path}: {reason}", file=sys.stderr)
                    failed.add(Path(path).resolve())
            for image_index, source in enumerate(sources):
                if source.resolve() in failed:
                    continue
                for start in range(0, len(indexed), ATTACKS_PER_TASK):
                    jobs.append(
                        ImageJob(
                            location,
                            kind,
                            source,
                            Path(tmp) / "dist" / kind / source.parent.name,
                            image_index,
                            tuple(indexed[start : start + ATTACKS_PER_TASK]),
                            tuple(ids),
                            measure_looks=start == 0,
                        )
                    )
        print(
            f"  marked {len({job.source for job in jobs})} images "
            f"({time.perf_counter() - started:.0f} s); {len(jobs)} tasks",
            file=sys.stderr,
        )
        tasks_left = defaultdict(int)
        for job in jobs:
            tasks_left[job.source] += 1
        for future in as_completed([executor.submit(run_job, job) for job in jobs]):
            done = future.result()
            looks[done.kind] += done.looks
            for name, leaked_for, accused in done.outcomes:
                cell = results[(done.kind, name)]
                if leaked_for is not None:
                    cell[1] += 1
                    cell[0] += accused == leaked_for
                    cell[2] += accused is not None and accused != leaked_for
                else:
                    cell[3] += 1
                    cell[2] += accused is not None
            tasks_left[done.source] -= 1
            if not tasks_left[done.source]:
                print(
                    f"  {done.kind} {done.source.parent.name}/{done.source.name}: "
                    f"{len(names)} attacks done ({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
    lines = render(results, looks, names, kinds, args)
    print("\n".join(lines))
    if args.write:
        write_docs(args.write, lines)
        write_attack_table(args.write)
    return 0


def render(results, looks, names, kinds, args) -> list[str]:
    from leaktrace.simulate import ATTACKS

    lines = [
        "| attack | group | " + " | ".join(f"{k}s attributed | {k}s false" for k in kinds) + " |",
        "|---|---|" + "---|---|" * len(kinds),
    ]
    totals = {k: [0, 0, 0, 0] for k in kinds}
    for name in names:
        row = f"| {name} | {ATTACKS[name].group} |"
        for kind in kinds:
            ok, n, false, neg = results[(kind, name)]
            for i, v in enumerate((ok, n, false, neg)):
                totals[kind][i] += v
            row += f" {ok}/{n} | {false}/{n + neg} |"
        lines.append(row)
    row = "| **all** | |"
    for kind in kinds:
        ok, n, false, neg = totals[kind]
        row += f" **{ok}/{n} ({100 * ok / max(n, 1):.1f} %)** | **{false}/{n + neg}** |"
    lines.append(row)
    lines += [
        "",
        "| kind | copies | PSNR dB (min / mean) | SSIM (min) | ΔE2000 mean (max) | ΔE2000 p99 (max) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in kinds:
        rows = looks[kind]
        if not rows:
            continue
        lines.append(
            f"| {kind} | {len(rows)} | {min(r['psnr'] for r in rows):.1f} / {np.mean([r['psnr'] for r in rows]):.1f}"
            f" | {min(r['ssim'] for r in rows):.4f} | {max(r['de_mean'] for r in rows):.3f}"
            f" | {max(r['de_p99'] for r in rows):.2f} |"
        )
    # Callers that build their own ``args`` may not have the fixture-set option.
    fixture_set = getattr(args, "set", "small")
    lines += [
        "",
        f"Fixture set: {fixture_set}; recipients per asset: {args.recipients}; "
        "false = attributed to the wrong recipient, "
        "or attributed at all for the attacked unmarked original (one per attack and image).",
    ]
    return lines


def attack_table() -> list[str]:
    """The catalogue as a markdown table: every attack's name, group and parameters."""
    from leaktrace.simulate import ATTACKS

    lines = ["| attack | group | parameters |", "|---|---|---|"]
    lines += [
        f"| `{attack.name}` | {attack.group} | {attack.description} |"
        for attack in ATTACKS.values()
    ]
    return lines


def write_docs(path: Path, lines: list[str]) -> None:
    write_block(path, "robustness", lines, heading="")


def write_attack_table(path: Path) -> None:
    write_block(path, "attacks", attack_table(), heading="## The attacks\n\n")


if __name__ == "__main__":
    raise SystemExit(main())
