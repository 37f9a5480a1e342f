"""Never accuse an innocent: the false-accusation trial.

Innocent leaks of five kinds are made from every fixture image under a dozen attacks:

* ``unmarked``  the attacked original, which carries no mark at all;
* ``outsider``  a copy marked (with the registry's own key) for a recipient who is not among the
  candidates tested;
* ``other-key`` a copy marked under another registry's key, for a recipient id that *is* among
  the candidates;
* ``other-asset`` a copy of *another* registered asset (the next fixture), marked with the
  registry's own key for a recipient id that is among the candidates, aligned onto this asset;
* ``unrelated`` a photograph that was never registered (``fixtures/unrelated``), aligned onto
  this asset.

The last two are innocent only if the registration gate refuses them or, where it lets one
through, if the scores of this asset's codes stay at chance.

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
    from leaktrace.engine.match.registration import register
    from leaktrace.engine.match.residual import prepare
    from leaktrace.engine.watermark.detect import DEFAULT_DECOYS, attribute
    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.media.image.asset import analyse
    from leaktrace.media.image.files import load_display_rgb, load_image
    from leaktrace.simulate import run_attack

    key = hashlib.sha256(b"innocence benchmark: registry key").digest()
    other_key = hashlib.sha256(b"innocence benchmark: another registry's key").digest()
    images = sorted(
        p
        for d in ("photos", "drafts")
        for p in (ROOT / "fixtures" / d).iterdir()
        if p.suffix in (".jpg", ".png")
    )
    unrelated = sorted((ROOT / "fixtures" / "unrelated").glob("*.jpg"))
    kinds = ["unmarked", "outsider", "other-key", "other-asset", "unrelated"]
    # The kinds that always align carry the trials; the others mostly stop at the gate.
    sets_per_leak = math.ceil(args.trials / (len(images) * len(ATTACKS) * 3))
    min_p: dict[str, list[float]] = defaultdict(list)
    unverified: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ours = api.init_registry(str(Path(tmp) / "ours"), key=key)
        theirs = api.init_registry(str(Path(tmp) / "theirs"), key=other_key)
        api.add_recipient(ours, "Outsider", recipient_id="outsider")
        api.add_recipient(ours, "R0", recipient_id="r0")
        api.add_recipient(theirs, "R0", recipient_id="r0")
        api.mark_files(ours, images, Path(tmp) / "ours-out", recipient_ids=["outsider", "r0"])
        for image_index, source in enumerate(images):
            api.mark_files(theirs, [source], Path(tmp) / "theirs-out", recipient_ids=["r0"])
            neighbour = images[(image_index + 1) % len(images)]
            asset = ours.find_asset_by_sha256(hashlib.sha256(source.read_bytes()).hexdigest())
            analysis = analyse(asset, load_image(source.read_bytes()), key)
            decoys = analysis.keying.decoy_codes(DEFAULT_DECOYS)
            pictures = {
                "unmarked": load_display_rgb(source),
                "outsider": load_display_rgb(Path(tmp) / "ours-out" / "outsider" / source.name),
                "other-key": load_display_rgb(Path(tmp) / "theirs-out" / "r0" / source.name),
                "other-asset": load_display_rgb(Path(tmp) / "ours-out" / "r0" / neighbour.name),
            }
            for attack_index, attack in enumerate(ATTACKS):
                pictures["unrelated"] = load_display_rgb(unrelated[attack_index % len(unrelated)])
                for kind in kinds:
                    data, _ = run_attack(attack, pictures[kind], seed=attack_index)
                    leak = luminance(load_display_rgb(data))
                    alignment = register(analysis.reference_luma, leak)
                    if not alignment.verified:
                        unverified[kind] += 1
                        continue
                    prepared = prepare(
                        analysis.reference_luma,
                        analysis.detection_mask,
                        leak,
                        alignment.homography,
                        analysis.keying.layout.layers[0].cols,
                        local_warp=alignment.local_warp,
                    )
                    y = prepared.project(analysis.keying).y
                    for trial in range(sets_per_leak):
                        ids = [
                            f"c{image_index}-{attack_index}-{trial}-{i}"
                            for i in range(args.recipients)
                        ]
                        if kind in ("other-key", "other-asset"):
                            ids[0] = "r0"  # the same recipient id, under another key or asset
                        codes = np.stack([analysis.keying.recipient_code(rid) for rid in ids])
                        result = attribute(y, codes, ids, decoys, bound=BOUNDS[0])
                        min_p[kind].append(float(result.p_family[0]))
            print(
                f"  {source.name}: {sum(len(v) for v in min_p.values())} trials scored "
                f"({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
    args.images, args.sets_per_leak = len(images), sets_per_leak
    args.minutes = (time.perf_counter() - started) / 60
    lines = render(min_p, unverified, args)
    print("\n".join(lines))
    if args.write:
        write_docs(args.write, lines)
    return 0


def render(min_p, unverified, args) -> list[str]:
    every = [p for values in min_p.values() for p in values]
    header = (
        "| innocent leaks | trials scored | leaks not aligned (inconclusive or unknown) | "
        + " | ".join(f"attributed at {b:g}" for b in BOUNDS)
        + " |"
    )
    lines = [
        "Command (the machine's 2 cores; minutes in the last line):",
        "",
        "```sh",
        f".venv/bin/python benchmarks/innocence.py --trials {args.trials} --write docs/robustness.md",
        "```",
        "",
        f"Innocent leaks: every fixture image ({args.images}) under {len(ATTACKS)} attacks, as "
        "the attacked unmarked original (`unmarked`), as a copy marked for a recipient outside "
        "the candidate set (`outsider`), as a copy marked under another registry's key for a "
        "recipient id among the candidates (`other-key`), as a copy of another registered "
        "asset for a recipient id among the candidates (`other-asset`), and as a never "
        "registered photograph (`unrelated`). Each leak is aligned once onto the asset, as "
        "`identify` does, and every leak that aligns is scored against "
        f"{args.sets_per_leak} independent candidate sets of {args.recipients} recipients "
        "(one identification each: same decoy null, Bonferroni correction and bound as "
        "`leaktrace identify`). A leak that does not align gives `inconclusive` or `unknown` "
        "and cannot accuse anyone; it counts once, in its own column.",
        "",
        header,
        "|---|---|---|" + "---|" * len(BOUNDS),
    ]
    for kind in [*dict.fromkeys([*min_p, *unverified]), "all"]:
        values = np.array(every if kind == "all" else min_p.get(kind, []))
        skipped = sum(unverified.values()) if kind == "all" else unverified[kind]
        cells = [
            f"{int((values <= b).sum())} ({(values <= b).mean():.2%})" if values.size else "0 (-)"
            for b in BOUNDS
        ]
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
        f"Run time: {args.minutes:.0f} minutes.",
    ]
    return lines


def write_docs(path: Path, lines: list[str]) -> None:
    write_block(path, "innocence", lines, heading="## Never accuse an innocent\n\n")


if __name__ == "__main__":
    raise SystemExit(main())
