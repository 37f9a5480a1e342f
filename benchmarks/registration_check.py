"""Registration under the attacks identify still misses: z-scores with and without the local warp.

Marks every fixture for ``--recipients`` recipients in a throwaway registry, attacks one
recipient's copy (and the unmarked original) with each named attack, then runs the library
pieces the way ``identify_file`` does for the known asset: ``register`` -> ``extract`` ->
``attribute``. The projection is made twice, with the homography alone and with the
registration's tile-by-tile local warp, so the table shows what the refinement buys.

    python benchmarks/registration_check.py
    python benchmarks/registration_check.py --attacks flip_h,barrel --kinds draft
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"photo": ROOT / "fixtures" / "photos", "draft": ROOT / "fixtures" / "drafts"}
MISSED = (
    "flip_h,mirror_crop_webp,phone_screen_hard,phone_screen,barrel,jpeg20,chat_forward,"
    "meme_text,stickers,crop10,crop25,crop10_corner"
)


def score(registry, analysis, leak_rgb, ids, bound=1e-9):
    """Registration, then z of every recipient with the homography alone and with the warp."""
    from leaktrace.engine.match.registration import register
    from leaktrace.engine.match.residual import extract
    from leaktrace.engine.watermark.detect import attribute
    from leaktrace.engine.watermark.mask import luminance

    leak_luma = luminance(leak_rgb)
    started = time.perf_counter()
    result = register(analysis.reference_luma, leak_luma)
    took = time.perf_counter() - started
    codes = np.stack([analysis.keying.recipient_code(rid) for rid in ids])
    decoys = analysis.keying.decoy_codes(2048)
    out = {"reg": result, "seconds": took, "z": {}}
    if not result.verified:
        return out
    warps = {"H": None}
    if result.local_warp is not None:
        warps["H+warp"] = result.local_warp
    for label, warp in warps.items():
        projection = extract(
            analysis.keying,
            analysis.reference_luma,
            analysis.detection_mask,
            leak_luma,
            result.homography,
            local_warp=warp,
        )
        out["z"][label] = attribute(projection.y, codes, ids, decoys, bound=bound)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attacks", default=MISSED)
    parser.add_argument("--recipients", type=int, default=10)
    parser.add_argument("--kinds", default="photo,draft")
    parser.add_argument("--seeds", type=int, default=1, help="attack seeds per image")
    args = parser.parse_args(argv)

    from leaktrace import api
    from leaktrace.media.image import files as images
    from leaktrace.media.image.asset import analyse
    from leaktrace.simulate import run_attack

    names = args.attacks.split(",")
    lines = [
        "| kind | image | attack | seed | method | ncc | edge | warp | z true (H) | z true (H+warp)"
        " | max z innocent | unmarked max z | register s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        registry = api.init_registry(str(Path(tmp) / "registry"))
        ids = [f"r{i:02d}" for i in range(args.recipients)]
        for rid in ids:
            api.add_recipient(registry, rid, recipient_id=rid)
        for kind in args.kinds.split(","):
            files = sorted(
                p for p in KINDS[kind].iterdir() if p.suffix.lower() in api.IMAGE_SUFFIXES
            )
            for image_index, source in enumerate(files):
                out_dir = Path(tmp) / "dist" / kind
                report = api.mark_files(registry, [source], out_dir, recipient_ids=ids)
                if report.failures or not report.copies:
                    continue
                asset = registry.get_asset(report.copies[0].asset_id)
                analysis = analyse(
                    asset, images.load_image(registry.store.get(asset.sha256)), registry.key
                )
                original = images.load_display_rgb(source)
                for attack_index, name in enumerate(names):
                    for seed in range(args.seeds):
                        rid = ids[(image_index * 7 + attack_index + seed) % len(ids)]
                        marked = images.load_display_rgb(out_dir / rid / source.name)
                        runs = {}
                        for label, pixels in (("marked", marked), ("unmarked", original)):
                            data, _ = run_attack(name, pixels, seed=attack_index + 100 * seed)
                            leak = images.load_display_rgb(data)
                            runs[label] = score(registry, analysis, leak, ids)
                        lines.append(row(kind, source.name, name, seed, rid, runs))
                        print(lines[-1], file=sys.stderr)
    print("\n".join(lines))
    return 0


def row(kind, image, attack, seed, rid, runs) -> str:
    marked, unmarked = runs["marked"], runs["unmarked"]
    reg = marked["reg"]
    cells = [kind, image, attack, str(seed), reg.method, f"{reg.ncc:.2f}", f"{reg.edge_ncc:.2f}"]
    cells.append("yes" if reg.local_warp is not None else "-")
    for label in ("H", "H+warp"):
        scores = marked["z"].get(label)
        if scores is None:
            cells.append("-")
            continue
        z = float(scores.z[scores.recipient_ids.index(rid)])
        proved = "**" if rid in scores.significant else ""
        cells.append(f"{proved}{z:.1f}{proved}")
    innocent = [
        float(z)
        for scores in marked["z"].values()
        for r, z in zip(scores.recipient_ids, scores.z, strict=True)
        if r != rid
    ]
    cells.append(f"{max(innocent):.1f}" if innocent else "-")
    unmarked_z = [float(s.z[0]) for s in unmarked["z"].values()]
    cells.append(f"{max(unmarked_z):.1f}" if unmarked_z else "unverified")
    cells.append(f"{marked['seconds']:.2f}")
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    raise SystemExit(main())
