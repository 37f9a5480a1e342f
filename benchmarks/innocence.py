"""Never accuse an innocent: the false-accusation trial.

Innocent leaks of three kinds are made from every fixture image under a dozen attacks:

* ``unmarked``  the attacked original, which carries no mark at all;
* ``outsider``  a copy marked (with the registry's own key) for a recipient who is not among the
  candidates tested;
* ``other-key`` a copy marked under another registry's key, for a recipient id that *is* among
  the candidates.

Each leak goes through the identification pipeline: registration onto the original (verified),
residual extraction, projection and the decision. Registration and the residual do not depend on
the key or on the recipients, so each leak is aligned once and then scored against many
independent candidate sets of ``--recipients`` random recipient ids; every scoring is one
innocent identification, with the same decoy null, Bonferroni correction and bound as
``leaktrace identify``. A trial whose alignment does not verify would be "inconclusive" and is
counted apart (it cannot accuse anyone).

It prints the number of false attributions at the default bound (1e-9) and the measured rate at
looser bounds against the nominal one.

    python benchmarks/innocence.py                    # ~10,000 trials
    python benchmarks/innocence.py --write docs/robustness.md
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from _docs import write_block

ROOT = Path(__file__).resolve().parents[1]
ATTACKS = [
    "social1080", "social480", "social320", "jpeg50", "crop25", "rotate5_crop", "screenshot75",
    "blur1.5", "noise5", "warm_filter", "caption", "reshare3",
]  # fmt: skip
BOUNDS = [1e-9, 1e-3, 1e-2, 1e-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--trials", type=int, default=10_000, help="innocent identifications in all"
    )
    parser.add_argument("--recipients", type=int, default=20, help="candidates per identification")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args(argv)

    from leaktrace import api
    from leaktrace.assets import analyse
    from leaktrace.attacks import run_attack
    from leaktrace.formats.images import load_display_rgb, load_image
    from leaktrace.match.registration import register
    from leaktrace.match.residual import prepare
    from leaktrace.watermark.detect import DEFAULT_DECOYS, attribute
    from leaktrace.watermark.mask import luminance

    key = hashlib.sha256(b"innocence benchmark: registry key").digest()
    other_key = hashlib.sha256(b"innocence benchmark: another registry's key").digest()
    images = sorted(
        p
        for d in ("photos", "drafts")
        for p in (ROOT / "fixtures" / d).iterdir()
        if p.suffix in (".jpg", ".png")
    )
    kinds = ["unmarked", "outsider", "other-key"]
    leaks = len(images) * len(ATTACKS) * len(kinds)
    sets_per_leak = math.ceil(args.trials / leaks)
    min_p: dict[str, list[float]] = defaultdict(list)
    unverified: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ours = api.init_registry(str(Path(tmp) / "ours"), key=key)
        theirs = api.init_registry(str(Path(tmp) / "theirs"), key=other_key)
        api.add_recipient(ours, "Outsider", recipient_id="outsider")
        api.add_recipient(theirs, "R0", recipient_id="r0")
        for image_index, source in enumerate(images):
            api.mark_files(ours, [source], Path(tmp) / "ours-out", recipient_ids=["outsider"])
            api.mark_files(theirs, [source], Path(tmp) / "theirs-out", recipient_ids=["r0"])
            asset = ours.find_asset_by_sha256(hashlib.sha256(source.read_bytes()).hexdigest())
            analysis = analyse(asset, load_image(source.read_bytes()), key)
            decoys = analysis.keying.decoy_codes(DEFAULT_DECOYS)
            pictures = {
                "unmarked": load_display_rgb(source),
                "outsider": load_display_rgb(Path(tmp) / "ours-out" / "outsider" / source.name),
                "other-key": load_display_rgb(Path(tmp) / "theirs-out" / "r0" / source.name),
            }
            for attack_index, attack in enumerate(ATTACKS):
                for kind in kinds:
                    data, _ = run_attack(attack, pictures[kind], seed=attack_index)
                    leak = luminance(load_display_rgb(data))
                    alignment = register(analysis.reference_luma, leak)
                    if not alignment.verified:
                        unverified[kind] += sets_per_leak
                        continue
                    prepared = prepare(
                        analysis.reference_luma,
                        analysis.detection_mask,
                        leak,
                        alignment.homography,
                        analysis.keying.layout.layers[0].cols,
                    )
                    y = prepared.project(analysis.keying).y
                    for trial in range(sets_per_leak):
                        ids = [
                            f"c{image_index}-{attack_index}-{trial}-{i}"
                            for i in range(args.recipients)
                        ]
                        if kind == "other-key":
                            ids[0] = "r0"  # the same recipient id, but under another key
                        codes = np.stack([analysis.keying.recipient_code(rid) for rid in ids])
                        result = attribute(y, codes, ids, decoys, bound=BOUNDS[0])
                        min_p[kind].append(float(result.p_family[0]))
            print(
                f"  {source.name}: {sum(len(v) for v in min_p.values())} trials scored "
                f"({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
    lines = render(min_p, unverified, args)
    print("\n".join(lines))
    if args.write:
        write_docs(args.write, lines)
    return 0


def render(min_p, unverified, args) -> list[str]:
    every = [p for values in min_p.values() for p in values]
    header = (
        "| innocent leaks | trials scored | not aligned (inconclusive) | "
        + " | ".join(f"attributed at {b:g}" for b in BOUNDS)
        + " |"
    )
    lines = [header, "|---|---|---|" + "---|" * len(BOUNDS)]
    for kind in list(min_p) + ["all"]:
        values = np.array(every if kind == "all" else min_p[kind])
        skipped = sum(unverified.values()) if kind == "all" else unverified[kind]
        cells = [f"{int((values <= b).sum())} ({(values <= b).mean():.2%})" for b in BOUNDS]
        lines.append(f"| {kind} | {len(values)} | {skipped} | " + " | ".join(cells) + " |")
    values = np.array(every)
    lines += [
        "",
        "| bound (nominal false-accusation rate) | measured rate | ratio measured / nominal |",
        "|---|---|---|",
    ]
    for bound in BOUNDS:
        rate = float((values <= bound).mean())
        lines.append(f"| {bound:g} | {rate:.2e} | {rate / bound:.2f} |")
    lines += [
        "",
        f"Candidates per identification: {args.recipients}; attacks: {', '.join(ATTACKS)}.",
    ]
    return lines


def write_docs(path: Path, lines: list[str]) -> None:
    write_block(path, "innocence", lines, heading="## Never accuse an innocent\n\n")


if __name__ == "__main__":
    raise SystemExit(main())
