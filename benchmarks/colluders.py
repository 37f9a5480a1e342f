"""Colluders: copies of several recipients averaged, or cut in halves and pasted together.

For every fixture image it creates a registry with ``--recipients`` recipients, marks the image
for all of them, then for each trial draws a set of colluders and builds their joint leak with
numpy (the mean of 2 or 3 copies, or the left half of one copy beside the right half of
another), posts it through the ``social1080`` attack (long side at most 1080 px, JPEG 80) and
runs the real ``identify``. A colluder counts as proved when ``Identification.significant``
lists it with a p-value at or below the bound; any other recipient listed is an innocent accused.

    python benchmarks/colluders.py                          # photos and drafts, print the table
    python benchmarks/colluders.py --kinds photo,draft,photo-large,draft-large --trials 2
    python benchmarks/colluders.py --write docs/colluders.md
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from _docs import write_block

ROOT = Path(__file__).resolve().parents[1]
KINDS = {
    "photo": ROOT / "fixtures" / "photos",
    "draft": ROOT / "fixtures" / "drafts",
    "photo-large": ROOT / "fixtures" / "photos-large",
    "draft-large": ROOT / "fixtures" / "drafts-large",
}
CASES = ("average2", "average3", "halves2")
BOUND = 1e-9


def collude(case: str, copies: list[np.ndarray]) -> np.ndarray:
    """The colluders' joint image from their (same-sized, upright RGB) copies."""
    if case.startswith("average"):
        mean = np.mean([c.astype(np.float64) for c in copies], axis=0)
        return np.clip(np.rint(mean), 0, 255).astype(np.uint8)
    if case == "halves2":
        joined = copies[0].copy()
        middle = joined.shape[1] // 2
        joined[:, middle:] = copies[1][:, middle:]
        return joined
    raise ValueError(case)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument("--trials", type=int, default=3, help="colluder sets per image and case")
    parser.add_argument("--kinds", default="photo,draft")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--write", type=Path, help="write the table into this markdown file")
    args = parser.parse_args(argv)

    from leaktrace import api
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.simulate import run_attack

    kinds = [k for k in args.kinds.split(",") if KINDS[k].is_dir()]
    # (kind, case) -> [colluders, proved, trials, all proved, innocents accused, innocent tests]
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    weakest: dict[tuple[str, str], list[float]] = defaultdict(list)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        registry = api.init_registry(str(Path(tmp) / "registry"))
        ids = [f"r{i:02d}" for i in range(args.recipients)]
        for rid in ids:
            api.add_recipient(registry, rid, recipient_id=rid)
        for kind in kinds:
            files = sorted(
                p for p in KINDS[kind].iterdir() if p.suffix.lower() in api.IMAGE_SUFFIXES
            )
            for image_index, source in enumerate(files):
                out_dir = Path(tmp) / "dist" / kind
                report = api.mark_files(registry, [source], out_dir, recipient_ids=ids)
                if report.failures:
                    print(f"cannot mark {source}: {report.failures}", file=sys.stderr)
                    continue
                for case_index, case in enumerate(CASES):
                    if case not in args.cases.split(","):
                        continue
                    size = int(case[-1])
                    for trial in range(args.trials):
                        seed = 1000 * image_index + 100 * case_index + trial
                        rng = np.random.default_rng(seed)
                        colluders = [ids[i] for i in rng.choice(len(ids), size, replace=False)]
                        copies = [
                            load_display_rgb(out_dir / rid / source.name) for rid in colluders
                        ]
                        data, extension = run_attack("social1080", collude(case, copies), seed=seed)
                        leak = Path(tmp) / f"leak{extension}"
                        leak.write_bytes(data)
                        found = api.identify(registry, leak, bound=BOUND)
                        proved = {c["id"] for c in found.significant if c["p_value"] <= BOUND}
                        scores = {c["id"]: c["score"] for c in found.candidates}
                        cell = cells[(kind, case)]
                        cell[0] += size
                        cell[1] += len(proved & set(colluders))
                        cell[2] += 1
                        cell[3] += proved >= set(colluders)
                        cell[4] += len(proved - set(colluders))
                        cell[5] += len(ids) - size
                        weakest[(kind, case)].append(
                            min(scores.get(rid, float("nan")) for rid in colluders)
                        )
                        if not proved >= set(colluders):
                            shown = ", ".join(f"{rid} z={scores.get(rid)}" for rid in colluders)
                            print(
                                f"  {source.name} {case}: not all proved ({shown})", file=sys.stderr
                            )
                print(
                    f"  {kind} {source.name} done ({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
    lines = render(cells, weakest, kinds, args)
    print("\n".join(lines))
    if args.write:
        write_block(args.write, "colluders", lines, heading="")
    return 0


def render(cells, weakest, kinds, args) -> list[str]:
    lines = [
        "| images | collusion | trials | colluders proved | all proved | weakest colluder z "
        "(median / min) | innocents accused |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in kinds:
        for case in CASES:
            colluders, proved, trials, all_proved, accused, innocents = cells[(kind, case)]
            if not trials:
                continue
            z = np.array(weakest[(kind, case)])
            lines.append(
                f"| {kind}s | {case} | {trials} | {proved}/{colluders} "
                f"({100 * proved / colluders:.0f} %) | {all_proved}/{trials} | "
                f"{np.nanmedian(z):.1f} / {np.nanmin(z):.1f} | {accused}/{innocents} |"
            )
    lines += [
        "",
        f"Recipients per asset: {args.recipients}; {args.trials} colluder sets per image and "
        f"collusion, each posted through `social1080` (long side at most 1080 px, JPEG 80). "
        f"Proved = listed in `significant` with a family-wise p-value at most {BOUND:g}. "
        "Innocents accused counts every non-colluder listed, out of all non-colluders tested.",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
