"""Where identify spends its time: 1080-px leaks of 4-12 MP originals on one core, with 100
recipients per asset and 10^4 registered assets (issue 15).

    python benchmarks/identify_profile.py                    # 8 originals x 8 attacks
    python benchmarks/identify_profile.py --quick            # 3 x 4
    python benchmarks/identify_profile.py --write docs/performance.md --json /tmp/p.json

Originals: the large fixture photos and line drawings (4.5-10.7 MP). Each is marked for 2
recipients and 98 more copies are recorded with their keyed codes (100 holders), among 10^4
assets (the others are rows with random perceptual hashes, as in identify_scale.py). Leaks: an
attack of a copy, then scaled to 1080 px on the long side and re-encoded as JPEG 85 when larger.
Every identify starts with the originals' analysis cache empty, as a command-line ``identify``
does (the interpreter's start-up is not counted). OpenCV and BLAS are held to one thread.

Stages are timed by wrapping the functions that do them; time inside a nested stage counts
only for that stage, and the rest of identify is "other".
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np

from _docs import write_block
from _stages import Stages

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(140, 172))
ORIGINALS = [
    "photos-large/fig_bowl.jpg",
    "photos-large/forest_stream.jpg",
    "photos-large/wall_clock.jpg",
    "photos-large/dogs_doorway.jpg",
    "photos-large/wine_interior.jpg",
    "photos-large/sunset_hills.jpg",
    "drafts-large/cad_bumper.png",
    "drafts-large/blueprint_grid.png",
]
ATTACKS = ["social1080", "crop25", "rotate5_crop", "screenshot75", "phone_screen",
           "filter_caption_social1080", "crop25_offcentre", "reshare2"]  # fmt: skip
QUICK = (ORIGINALS[:2] + ORIGINALS[6:7], ["social1080", "crop25", "screenshot75", "phone_screen"])
FILLERS = 10_000
HOLDERS = 100

# (module, attribute, stage): stages in the order of the table.
STAGES = [
    ("leaktrace.media.image.files", "load_display_rgb", "decode the leak"),
    ("leaktrace.engine.match.hashing", "perceptual_hashes", "hash lookup"),
    ("leaktrace.engine.match.hashing", "nearest_assets", "hash lookup"),
    ("leaktrace.registry.sql", "SqlRegistry.hash_table", "hash lookup"),
    ("leaktrace.registry.sql", "SqlRegistry.get_assets", "hash lookup"),
    ("leaktrace.media.image.locate", "load_original", "original: read, decode, analyse"),
    ("leaktrace.media.image.locate", "cached_features", "features: stored ones read"),
    ("leaktrace.registry.sql", "SqlRegistry.list_assets", "features: every asset listed"),
    ("leaktrace.engine.match.registration", "compute_features", "features: leak's SIFT"),
    ("leaktrace.engine.match.registration", "feature_hypotheses", "features: matching, fits"),
    ("leaktrace.engine.match.templates", "hypotheses", "template search"),
    ("leaktrace.engine.match.registration", "_refine_ecc", "refinement: ECC"),
    ("leaktrace.engine.match.registration", "_with_local_warp", "refinement: local warp"),
    ("leaktrace.engine.match.registration", "verify_alignment", "verification"),
    ("leaktrace.engine.match.registration", "_resize_to", "work-scale resizes"),
    ("leaktrace.engine.match.residual", "extract", "residual and projection"),
    ("leaktrace.pipeline.session", "Session.holders", "holders' codes (wait)"),
    ("leaktrace.pipeline.identify", "_settle", "decision"),
    ("leaktrace.pipeline.identify", "_record", "recording the result"),
]


def one_core() -> None:
    import cv2
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    cv2.setNumThreads(1)


def build(tmp: Path, originals: list[str]):
    from leaktrace import api
    from leaktrace.engine.watermark.pattern import AssetKeying, Layout
    from leaktrace.registry import Asset, Copy, Recipient

    registry = api.init_registry(str(tmp / "registry"), key=KEY)
    ids = [f"outlet-{k:03d}" for k in range(HOLDERS)]
    registry.add_recipients([Recipient(rid, rid) for rid in ids])
    sources = [ROOT / "fixtures" / name for name in originals]
    api.mark_files(registry, sources, tmp / "dist", recipient_ids=ids[:2])
    extra = []
    for asset in registry.list_assets():
        keying = AssetKeying(KEY, asset.sha256, Layout.from_params(asset.params["pattern"]))
        extra += [
            Copy(asset.id, rid, uuid.uuid5(uuid.NAMESPACE_OID, asset.id + rid).hex * 2,
                 asset.file_name, code=np.packbits(keying.recipient_code(rid) > 0).tobytes())
            for rid in ids[2:]
        ]  # fmt: skip
    registry.record_copies(extra)
    # Real (tiny) originals, so that a filler whose random hash falls near a leak's is tried
    # like any other asset; their random hashes keep almost all of them out of the way.
    from PIL import Image

    from leaktrace.engine.watermark.pattern import layout_for
    from leaktrace.media.image.asset import MASK_VERSION

    rng = np.random.default_rng(15)
    params = {"pattern": layout_for(48, 64).to_params(), "mask": MASK_VERSION}
    fillers = []
    for i in range(FILLERS - len(sources)):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (48, 64), dtype=np.uint8)).save(buffer, "PNG")
        data = buffer.getvalue()
        sha = registry.store.put(data)
        phash, dhash = (int(v) for v in rng.integers(0, 2**63, size=2, dtype=np.int64))
        fillers.append(Asset(sha[:16], sha, f"f-{i}.png", "image", 64, 48, phash, dhash, params))
    registry.add_assets(fillers)
    return registry, sources, ids


def leaks(tmp: Path, sources: list[Path], attacks: list[str], ids: list[str]) -> list[Path]:
    from PIL import Image

    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.simulate import run_attack

    out = tmp / "leaks"
    out.mkdir()
    made = []
    for n, source in enumerate(sources):
        copy = tmp / "dist" / ids[1] / source.name
        for attack in attacks:
            data, ext = run_attack(attack, load_display_rgb(copy), seed=n)
            with Image.open(io.BytesIO(data)) as im:
                if max(im.size) > 1080:
                    im = im.convert("RGB")
                    im.thumbnail((1080, 1080), Image.Resampling.LANCZOS)
                    buffer = io.BytesIO()
                    im.save(buffer, "JPEG", quality=85)
                    data, ext = buffer.getvalue(), ".jpg"
            made.append(out / f"{source.stem}-{attack}{ext}")
            made[-1].write_bytes(data)
    return made


def run(args) -> dict:
    from leaktrace import api
    from leaktrace.media.image import locate

    one_core()
    originals, attacks = QUICK if args.quick else (ORIGINALS, ATTACKS)
    with tempfile.TemporaryDirectory(prefix="leaktrace-id-profile-") as folder:
        tmp = Path(folder)
        started = time.perf_counter()
        registry, sources, ids = build(tmp, originals)
        made = leaks(tmp, sources, attacks, ids)
        print(f"setup {time.perf_counter() - started:.0f} s", file=sys.stderr)
        stages = Stages(STAGES)
        stages.install()
        api.identify(registry, made[0])  # imports and the registry's hash table, once
        stages.take()
        rows = []
        for leak in made:
            locate._ANALYSES.clear()  # as a fresh command-line identify: no cached analysis
            start = time.perf_counter()
            result = api.identify(registry, leak)
            seconds = time.perf_counter() - start
            rows.append({"leak": leak.name, "seconds": seconds, "verdict": result.verdict,
                         "right": result.recipient is not None and result.recipient.id == ids[1],
                         "stages": stages.take()})  # fmt: skip
            print(f"  {leak.name}: {seconds:.2f} s {result.verdict}", file=sys.stderr)
        registry.close()
    return {"rows": rows, "originals": originals, "attacks": attacks}


def render(results: dict, command: str) -> list[str]:
    rows = results["rows"]
    times = sorted(r["seconds"] for r in rows)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    total = sum(times)
    lines = [
        f"Command: `{command}` (one core; the machine was shared with other jobs). "
        f"{len(rows)} leaks ({len(results['originals'])} originals x "
        f"{len(results['attacks'])} attacks), {HOLDERS} holders per asset, {FILLERS:,} assets.",
        "",
        f"Median {statistics.median(times):.2f} s, 95th percentile {p95:.2f} s, "
        f"slowest {times[-1]:.2f} s; attributed to the right recipient: "
        f"{sum(r['right'] for r in rows)} of {len(rows)}.",
        "",
        "| stage | share of all identify time | seconds per leak (mean) |",
        "|---|---|---|",
    ]
    per_stage: dict[str, float] = defaultdict(float)
    for r in rows:
        for stage, seconds in r["stages"].items():
            per_stage[stage] += seconds
    per_stage["other"] = total - sum(per_stage.values())
    order = list(dict.fromkeys(stage for _, _, stage in STAGES)) + ["other"]
    for stage in order:
        seconds = per_stage.get(stage, 0.0)
        lines.append(f"| {stage} | {seconds / total:.1%} | {seconds / len(rows):.3f} |")
    lines += ["", "| attack | median s | slowest s | right |", "|---|---|---|---|"]
    for attack in results["attacks"]:
        mine = [r for r in rows if r["leak"].split("-", 1)[1].rsplit(".", 1)[0] == attack]
        lines.append(
            f"| {attack} | {statistics.median(r['seconds'] for r in mine):.2f} | "
            f"{max(r['seconds'] for r in mine):.2f} | {sum(r['right'] for r in mine)}/{len(mine)} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write", type=Path, help="put the tables into this page's block")
    parser.add_argument("--block", default="identify_profile", help="the page's block name")
    args = parser.parse_args()
    results = run(args)
    command = " ".join(["python benchmarks/identify_profile.py", *sys.argv[1:]])
    lines = render(results, command)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.write:
        write_block(args.write, args.block, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
