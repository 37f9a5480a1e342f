"""Batch speed before and after a change, side by side in one run (issue 15).

    python benchmarks/batch_speed.py --before d4a860f              # every section
    python benchmarks/batch_speed.py --before d4a860f --only split --recipients 20
    python benchmarks/batch_speed.py --before d4a860f --write docs/performance.md

Sections:

png    Pillow's PNG compress levels on a marked 4-megapixel photo and a marked 6.4-megapixel
       line drawing: encode time and size against level 6 (Pillow's default), and the decoded
       pixels compared with the marked ones.
split  one 4-megapixel PNG marked for N recipients with ``mark_files(workers=1)`` and
       ``workers=2``, with the code at ``--before`` (a git revision, extracted with
       ``git archive``) and with this tree; every copy's SHA-256 is compared between 1 and 2
       workers.
scan   ``scan_folder`` of 24 ``social1080`` leaks with 1 and 2 workers, before and after.

Every measurement runs in a fresh process with ``PYTHONPATH`` set to the tree measured, one
after the other, so that both trees meet the same machine load; the ratios are what counts.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _docs import write_block

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(90, 122))
PHOTO = ROOT / "fixtures" / "photos-large" / "sunset_hills.jpg"
DRAFT = ROOT / "fixtures" / "drafts-large" / "cad_bumper.png"
LEVELS = (1, 2, 3, 6)


def four_megapixel_png(path: Path) -> Path:
    """A 2450 x 1633 crop of a large photo, as PNG: the issue's 4-MP PNG."""
    from PIL import Image

    if not path.exists():
        with Image.open(PHOTO) as im:
            im.convert("RGB").crop((300, 200, 2750, 1833)).save(path, compress_level=6)
    return path


# -- the children: one measurement each, in the tree on PYTHONPATH ---------------------------


def child_split(spec: dict) -> dict:
    from leaktrace import api

    tmp = Path(spec["tmp"])
    registry = api.init_registry(str(tmp / "registry"), key=KEY)
    ids = [f"r{k:03d}" for k in range(spec["recipients"])]
    from leaktrace.registry.models import Recipient

    registry.add_recipients([Recipient(rid, rid.upper()) for rid in ids])
    start = time.perf_counter()
    report = api.mark_files(registry, [spec["source"]], tmp / "out", workers=spec["workers"])
    seconds = time.perf_counter() - start
    registry.close()
    assert len(report.marked) == len(ids) and not report.failures, report.failures
    digest = hashlib.sha256()
    for copy in report.copies:
        digest.update(Path(copy.output).read_bytes())
    return {"seconds": seconds, "digest": digest.hexdigest(), "bytes": _size(report.copies)}


def _size(copies) -> int:
    return sum(Path(c.output).stat().st_size for c in copies)


def child_scan(spec: dict) -> dict:
    from leaktrace.batch.scan import scan_folder

    start = time.perf_counter()
    if spec["workers"] == "pool of 1":  # one spawned worker: start-up and all, like 2 workers
        from leaktrace.batch.executors import make_executor

        with make_executor(1) as pool:
            results = list(scan_folder(spec["location"], KEY, spec["leaks"], executor=pool))
    else:
        results = list(scan_folder(spec["location"], KEY, spec["leaks"], workers=spec["workers"]))
    seconds = time.perf_counter() - start
    verdicts = sorted(
        f"{Path(r.file).name}:{r.verdict}:{(r.recipient or {}).get('id', '')}" for r in results
    )
    return {"seconds": seconds, "verdicts": hashlib.sha256("|".join(verdicts).encode()).hexdigest()}


def child_prepare_scan(spec: dict) -> dict:
    from leaktrace import api
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.simulate import run_attack

    tmp = Path(spec["tmp"])
    registry = api.init_registry(str(tmp / "registry"), key=KEY)
    for rid in ("a", "b", "c", "d"):
        api.add_recipient(registry, rid, recipient_id=rid)
    photos = sorted((ROOT / "fixtures" / "photos-large").glob("*.jpg"))[:6]
    sources = []
    from PIL import Image

    for i, photo in enumerate(photos):
        with Image.open(photo) as im:
            im = im.convert("RGB")
            im.thumbnail((1600, 1600))
            sources.append(tmp / f"src-{i}.jpg")
            im.save(sources[-1], quality=90)
    api.mark_files(registry, sources, tmp / "out")
    leaks = tmp / "leaks"
    leaks.mkdir()
    for i in range(spec["count"]):
        copy = tmp / "out" / "abcd"[i % 4] / sources[i % len(sources)].name
        data, ext = run_attack("social1080", load_display_rgb(copy), seed=i)
        (leaks / f"leak-{i:03d}{ext}").write_bytes(data)
    location = registry.location
    registry.close()
    return {"location": location, "leaks": str(leaks)}


CHILDREN = {"split": child_split, "scan": child_scan, "prepare_scan": child_prepare_scan}


def in_tree(src: Path, name: str, spec: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    result = subprocess.run(
        [sys.executable, __file__, "--child", name, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{name} in {src} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the sections --------------------------------------------------------------------------


def bench_png(tmp: Path, trees: dict, args) -> list[dict]:
    """Encode time and size per compress level, of marked pixels (the copy a recipient gets)."""
    from PIL import Image

    from leaktrace import api
    from leaktrace.media.image.files import load_image

    registry = api.init_registry(str(tmp / "registry"), key=KEY)
    api.add_recipient(registry, "r", recipient_id="r")
    cases = [
        ("4.0 MP photo (PNG)", four_megapixel_png(tmp / "photo4mp.png")),
        ("6.4 MP draft", DRAFT),
    ]
    api.mark_files(registry, [path for _, path in cases], tmp / "out", workers=1)
    registry.close()
    rows = []
    for label, path in cases:
        with Image.open(tmp / "out" / "r" / path.name) as im:
            image = im.convert("RGB")
        pixels = np.asarray(image)
        for level in LEVELS:
            times = []
            for _ in range(args.repeat):
                buffer = io.BytesIO()
                start = time.perf_counter()
                image.save(buffer, format="PNG", compress_level=level)
                times.append(time.perf_counter() - start)
            data = buffer.getvalue()
            same = np.array_equal(load_image(data).pixels, pixels)
            rows.append({"case": label, "level": level, "seconds": min(times),
                         "mb": len(data) / 1e6, "same_pixels": same})  # fmt: skip
    return rows


def bench_split(tmp: Path, trees: dict, args) -> list[dict]:
    source = four_megapixel_png(tmp / "photo4mp.png")
    rows = []
    for n in args.recipients:
        for tree, src in trees.items():
            row = {"tree": tree, "recipients": n}
            for workers in (1, 2):
                work = tmp / f"split-{tree}-{n}-{workers}"
                work.mkdir()
                spec = {"tmp": str(work), "source": str(source), "recipients": n,
                        "workers": workers}  # fmt: skip
                row[workers] = in_tree(src, "split", spec)
                print(f"  split {tree} {n} x{workers}: {row[workers]['seconds']:.1f} s",
                      file=sys.stderr)  # fmt: skip
            rows.append(row)
    return rows


def bench_scan(tmp: Path, trees: dict, args) -> list[dict]:
    first = next(iter(trees.values()))
    prepared = in_tree(first, "prepare_scan", {"tmp": str(tmp), "count": args.leaks})
    rows = []
    for tree, src in trees.items():
        row = {"tree": tree, "files": args.leaks}
        for workers in (1, "pool of 1", 2):
            runs = [in_tree(src, "scan", dict(prepared, workers=workers)) for _ in range(2)]
            row[workers] = min(runs, key=lambda r: r["seconds"])
            print(f"  scan {tree} x{workers}: {row[workers]['seconds']:.1f} s", file=sys.stderr)
        rows.append(row)
    return rows


BENCHES = {"png": bench_png, "split": bench_split, "scan": bench_scan}


def render(results: dict, command: str, load: tuple[float, float]) -> list[str]:
    lines = [f"Command: `{command}`. Load average (1 min) {load[0]:.1f} before, {load[1]:.1f} "
             "after, on 2 CPUs shared with other jobs: the ratios, measured side by side, are "
             "what counts."]  # fmt: skip
    if "png" in results:
        lines += ["", "### PNG encode: Pillow compress levels (marked pixels, zlib-ng)", "",
                  "| image | level | encode s | MB | time vs level 6 | size vs level 6 | "
                  "decoded pixels equal |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        six = {r["case"]: r for r in results["png"] if r["level"] == 6}
        for r in results["png"]:
            base = six[r["case"]]
            lines.append(
                f"| {r['case']} | {r['level']} | {r['seconds']:.2f} | {r['mb']:.2f} | "
                f"{r['seconds'] / base['seconds']:.2f} | {r['mb'] / base['mb']:.2f} | "
                f"{'yes' if r['same_pixels'] else '**no**'} |"
            )
    if "split" in results:
        lines += ["", "### One 4-MP PNG for N recipients: 2 workers against 1", "",
                  "| code | recipients | 1 worker s | 2 workers s | speed-up | s per copy (1) | "
                  "copies, MB | same bytes 1 vs 2 |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in results["split"]:
            one, two = r[1], r[2]
            lines.append(
                f"| {r['tree']} | {r['recipients']} | {one['seconds']:.1f} | "
                f"{two['seconds']:.1f} | {one['seconds'] / two['seconds']:.2f}x | "
                f"{one['seconds'] / r['recipients']:.2f} | {one['bytes'] / 1e6:.0f} | "
                f"{'yes' if one['digest'] == two['digest'] else '**no**'} |"
            )
    if "scan" in results:
        lines += ["", "### Scan: 2 workers against 1", "",
                  "| code | leaks | 1 worker (in process) s | 1 spawned worker s | 2 workers s | "
                  "speed-up | >= 1.7x | 2 workers / 1 spawned | same verdicts |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        first = results["scan"][0][1]["verdicts"]
        for r in results["scan"]:
            one, pool, two = r[1], r["pool of 1"], r[2]
            ratio = one["seconds"] / two["seconds"]
            same = one["verdicts"] == two["verdicts"] == pool["verdicts"] == first
            lines.append(
                f"| {r['tree']} | {r['files']} | {one['seconds']:.1f} | {pool['seconds']:.1f} | "
                f"{two['seconds']:.1f} | {ratio:.2f}x | {'yes' if ratio >= 1.7 else '**no**'} | "
                f"{pool['seconds'] / two['seconds']:.2f}x | {'yes' if same else '**no**'} |"
            )
    return lines


def extract(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {revision}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", help="git revision to compare with (default: none)")
    parser.add_argument("--only", help=f"comma-separated sections (default: {','.join(BENCHES)})")
    parser.add_argument("--recipients", default="20,100", help="split: recipient counts")
    parser.add_argument("--leaks", type=int, default=24, help="scan: leaks")
    parser.add_argument("--repeat", type=int, default=3, help="png: best of")
    parser.add_argument("--write", type=Path, help="put the tables into this page's block")
    args = parser.parse_args()
    args.recipients = [int(v) for v in args.recipients.split(",")]
    sections = args.only.split(",") if args.only else list(BENCHES)
    load_before = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory(prefix="leaktrace-batch-speed-") as folder:
        tmp = Path(folder)
        trees = {"this tree": ROOT / "src"}
        if args.before:
            before = tmp / "before"
            before.mkdir()
            trees = {f"before ({args.before})": extract(args.before, before), **trees}
        for section in sections:
            print(f"batch_speed: {section} ...", file=sys.stderr, flush=True)
            work = tmp / section
            work.mkdir()
            results[section] = BENCHES[section](work, trees, args)
    command = " ".join(["python benchmarks/batch_speed.py", *sys.argv[1:]])
    lines = render(results, command, (load_before, os.getloadavg()[0]))
    print("\n".join(lines))
    if args.write:
        write_block(args.write, "batch_speed", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
