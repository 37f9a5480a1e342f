"""Speed of leaktrace, measured as ratios in one run, so the machine's speed mostly cancels out.

    python benchmarks/speed.py                              # every section, print the table
    python benchmarks/speed.py --write docs/performance.md  # and write the page
    python benchmarks/speed.py --only mark,identify --quick # fewer, smaller cases

Sections (see docs/performance.md for the targets):

mark      12-megapixel JPEG marked for 50 recipients: the cost of each additional recipient
          divided by a plain Pillow decode + encode of the same file at the same quality.
identify  a 1080-px leak of a 3.8-megapixel photo with 10, 1,000 and 100,000 recipients on the
          asset (the extra recipients and copies go in through the registry's batch API, with
          their real keyed codes).
lookup    which asset? with 1,000 and 1,000,000 registered assets (synthetic hashes): loading
          the hash table, the cached re-check, and the vectorised popcount search.
scan      scan throughput with 2 local worker processes against 1.
cluster   marking on a 2-worker Dask LocalCluster against 2 local processes (PostgreSQL when
          --pg URL or $LEAKTRACE_TEST_PG_URL names a server, else SQLite).
iwm       per-image embed and decode time against invisible-watermark's dwtDct, run in a
          separate venv (.bench-venv, created on first use): never a leaktrace dependency.

Times are the best of a few runs (wall clock, one process unless stated). Other work on the
machine makes them noisy; the ratios are what the targets are about.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _peers import ensure_bench_venv

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(200, 232))


def timed(fn: Callable[..., Any], *args: Any, repeat: int = 3) -> tuple[float, Any]:
    """The best wall-clock time of ``fn(*args)`` over ``repeat`` runs, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def best(fn: Callable[..., Any], *args: Any, repeat: int = 3) -> float:
    return timed(fn, *args, repeat=repeat)[0]


def tiled_photo(width: int, height: int, seed: int, grain: float = 0.0) -> np.ndarray:
    """A photo of any size from the fixture photos at their native resolution (mirrored at
    random), optionally with Gaussian grain like a camera sensor's."""
    from PIL import Image, ImageOps

    rng = np.random.default_rng(seed)
    names = ["astronaut.jpg", "rocket.jpg", "chelsea.jpg", "retina.jpg", "coffee.png"]
    tiles = [Image.open(ROOT / "fixtures" / "photos" / n).convert("RGB") for n in names]
    canvas = Image.new("RGB", (width, height))
    y = 0
    while y < height:
        x, row_height = 0, 0
        while x < width:
            tile = tiles[int(rng.integers(len(tiles)))]
            if rng.random() < 0.5:
                tile = ImageOps.mirror(tile)
            canvas.paste(tile, (x, y))
            x, row_height = x + tile.width, max(row_height, tile.height)
        y += row_height
    pixels = np.asarray(canvas).astype(np.float32)
    if grain:
        pixels += rng.normal(0.0, grain, pixels.shape).astype(np.float32)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def save_jpeg(pixels: np.ndarray, path: Path, quality: int = 90) -> Path:
    from PIL import Image

    Image.fromarray(pixels).save(path, "JPEG", quality=quality)
    return path


def new_registry(root: Path, name: str, location: str | None = None):
    from leaktrace import api

    if location is None:
        return api.init_registry(str(root / name), key=KEY)
    return api.init_registry(location, key=KEY, originals_dir=str(root / f"{name}-originals"))


# ----------------------------------------------------------------------------------- mark


def bench_mark(tmp: Path, quick: bool) -> list[dict]:
    from PIL import Image

    from leaktrace import api

    n = 10 if quick else 50
    rows = []
    for label, grain in (("clean tiles", 0.0), ("with sensor grain", 2.0)):
        photo = save_jpeg(tiled_photo(4032, 3024, seed=1, grain=grain), tmp / f"p12-{grain}.jpg")
        data = photo.read_bytes()

        def floor(data: bytes = data) -> None:
            image = Image.open(io.BytesIO(data))
            image.load()
            image.save(io.BytesIO(), "JPEG", quality="keep")  # same tables and subsampling

        floor_s = best(floor, repeat=5)
        totals = {}
        # Best of three fresh runs each: the file's one-off work (decode, registration, mask)
        # varies by a few tenths of a second from run to run here (first touch of 12 MP
        # arrays), which the difference below would otherwise spread over the recipients.
        for count in (1, n):
            times = []
            for attempt in range(3):
                registry = new_registry(tmp, f"mark-{grain}-{count}-{attempt}")
                ids = [f"r{i:03d}" for i in range(count)]
                for rid in ids:
                    api.add_recipient(registry, rid, recipient_id=rid)
                out = tmp / f"out-{grain}-{count}-{attempt}"
                start = time.perf_counter()
                report = api.mark_files(registry, [photo], out, recipient_ids=ids)
                times.append(time.perf_counter() - start)
                assert len(report.marked) == count and not report.failures
                registry.close()
            totals[count] = min(times)
        per = (totals[n] - totals[1]) / (n - 1)
        rows.append(
            {
                "case": f"12.2 MP JPEG q90, {label} ({len(data) / 1e6:.1f} MB)",
                "floor_s": floor_s,
                "first_s": totals[1],
                "total_s": totals[n],
                "recipients": n,
                "per_recipient_s": per,
                "ratio": per / floor_s,
            }
        )
    return rows


def mark_breakdown(tmp: Path) -> dict:
    """Where one recipient's time goes on the grainy 12 MP photo (each stage best of 3)."""
    from PIL import Image

    from leaktrace import api
    from leaktrace.engine.watermark.embed import add_luma_delta, luma_delta
    from leaktrace.engine.watermark.pattern import synthesize
    from leaktrace.fsutil import write_atomic
    from leaktrace.media.image import files as images
    from leaktrace.media.image.asset import analyse, register_image
    from leaktrace.media.image.marking import PreparedImage, imprinter_for
    from leaktrace.registry import Copy

    photo = save_jpeg(tiled_photo(4032, 3024, seed=1, grain=2.0), tmp / "p12-breakdown.jpg")
    registry = new_registry(tmp, "breakdown")
    api.add_recipient(registry, "r", recipient_id="r")
    data = photo.read_bytes()
    loaded = images.load_image(data)
    asset = register_image(registry, photo, data, loaded)
    analysis = analyse(asset, loaded, registry.key)
    imprinter = imprinter_for(analysis, loaded)
    prepared = PreparedImage(analysis, loaded, imprinter)
    code = analysis.keying.recipient_code("r")
    encoded, [(_, packed)] = prepared.copy_for("r")
    marked = images.load_image(encoded).pixels
    counter = iter(range(1_000_000))

    def record() -> None:
        sha = f"{next(counter):064x}"
        registry.record_copies([Copy(asset.id, "r", sha, "x.jpg", code=packed)])

    def reference() -> np.ndarray:
        field = synthesize(analysis.keying, code)
        return add_luma_delta(loaded.pixels, luma_delta(analysis.mask, field))

    def floor() -> None:
        image = Image.open(io.BytesIO(data))
        image.load()
        image.save(io.BytesIO(), "JPEG", quality="keep")

    stages = {
        "floor: Pillow decode + encode at the same quality": best(floor),
        "per file: analysis (luma, perceptual mask, keying)": best(
            lambda: analyse(asset, loaded, registry.key)
        ),
        "per file: imprinter set-up (dither, amplitude, table)": best(
            lambda: imprinter_for(analysis, loaded)
        ),
        "per copy: the mark (exact resize, table, dither, add; imprinter.mark)": best(
            lambda: imprinter.mark(code)
        ),
        "per copy: encode like the source": best(lambda: images.encode_like(loaded, marked)),
        "per copy: whole copy in mark_files (mark + encode)": best(lambda: prepared.copy_for("r")),
        "per copy: sha256 + atomic write (fsync)": best(
            lambda: (images.sha256_bytes(encoded), write_atomic(tmp / "w.jpg", encoded))
        ),
        "per copy: record one copy (its own transaction)": best(record),
        "numpy reference mark (synthesize, luma_delta, add_luma_delta), for comparison": best(
            reference
        ),
    }
    registry.close()
    return stages


# ------------------------------------------------------------------------------- identify


def bench_identify(tmp: Path, quick: bool) -> list[dict]:
    from leaktrace import api
    from leaktrace.engine.watermark.pattern import AssetKeying, Layout
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.registry import Copy, Recipient
    from leaktrace.simulate import run_attack

    sizes = (10, 1_000, 10_000) if quick else (10, 1_000, 100_000)
    photo = save_jpeg(tiled_photo(2400, 1600, seed=2, grain=2.0), tmp / "press.jpg", 92)
    registry = new_registry(tmp, "identify")
    ids = [f"outlet-{i:06d}" for i in range(sizes[0])]
    registry.add_recipients([Recipient(rid, rid) for rid in ids])
    api.mark_files(registry, [photo], tmp / "id-out", recipient_ids=ids)
    leak = tmp / "leak.jpg"
    data, _ = run_attack("social1080", load_display_rgb(tmp / "id-out" / ids[3] / photo.name))
    leak.write_bytes(data)
    asset = registry.list_assets()[0]
    keying = AssetKeying(KEY, asset.sha256, Layout.from_params(asset.params["pattern"]))
    rows, have = [], sizes[0]
    for size in sizes:
        if size > have:
            start = time.perf_counter()
            new = [f"outlet-{i:06d}" for i in range(have, size)]
            registry.add_recipients([Recipient(rid, rid) for rid in new])
            registry.record_copies(
                [
                    Copy(
                        asset.id,
                        rid,
                        uuid.uuid5(uuid.NAMESPACE_OID, rid).hex * 2,
                        photo.name,
                        code=np.packbits(keying.recipient_code(rid) > 0).tobytes(),
                    )
                    for rid in new
                ]
            )
            setup = time.perf_counter() - start
            have = size
        else:
            setup = 0.0
        seconds, result = timed(api.identify, registry, leak, repeat=5)
        rows.append(
            {
                "recipients": size,
                "seconds": seconds,
                "verdict": result.verdict,
                "recipient": result.recipient.id if result.recipient else None,
                "p_value": result.p_value,
                "setup_s": setup,
            }
        )
    registry.close()
    return rows


# --------------------------------------------------------------------------------- lookup


def bench_lookup(tmp: Path, quick: bool) -> list[dict]:
    from leaktrace import api
    from leaktrace.engine.match.hashing import nearest_assets
    from leaktrace.registry import Asset

    sizes = (1_000, 100_000) if quick else (1_000, 1_000_000)
    rng = np.random.default_rng(3)
    location = str(tmp / "lookup")
    registry = new_registry(tmp, "lookup")
    params = {"pattern": {}, "synthetic": True}
    rows, have = [], 0
    for size in sizes:
        start = time.perf_counter()
        for first in range(have, size, 50_000):
            batch = []
            for i in range(first, min(size, first + 50_000)):
                sha = f"{i:064x}"
                phash, dhash = (int(v) for v in rng.integers(0, 2**63, 2))
                batch.append(
                    Asset(sha[-16:], sha, f"{i}.jpg", "image", 10, 10, phash, dhash, params)
                )
            registry.add_assets(batch)
        setup = time.perf_counter() - start
        have = size
        fresh = api.open_registry(location, key=KEY)  # a new process's first query
        cold = best(fresh.hash_table, repeat=1)
        warm = best(fresh.hash_table, repeat=5)
        ids, phashes, dhashes = fresh.hash_table()
        target = len(ids) // 2
        query = int(phashes[target]) ^ 0b101, int(dhashes[target]) ^ 0b11
        found = nearest_assets(*query, ids, phashes, dhashes)
        assert found and found[0].asset_id == ids[target]
        search = best(nearest_assets, *query, ids, phashes, dhashes, repeat=5)
        popcount = best(_bitwise_distances, query, phashes, dhashes, repeat=5)
        fresh.close()
        rows.append(
            {
                "assets": size,
                "cold_load_s": cold,
                "cached_check_s": warm,
                "search_s": search,
                "query_s": warm + search,
                "bitwise_count_s": popcount,
                "setup_s": setup,
            }
        )
    registry.close()
    return rows


def _bitwise_distances(query: tuple[int, int], phashes: np.ndarray, dhashes: np.ndarray):
    # What nearest_assets would cost with numpy's native popcount (numpy >= 2.0).
    p, d = np.uint64(query[0]), np.uint64(query[1])
    return np.bitwise_count(phashes ^ p) + np.bitwise_count(dhashes ^ d)


# ------------------------------------------------------------------------- scan, cluster


def _marked_leaks(tmp: Path, count: int) -> tuple[str, Path]:
    from leaktrace import api
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.simulate import run_attack

    registry = new_registry(tmp, "scan")
    for rid in ("a", "b", "c", "d"):
        api.add_recipient(registry, rid, recipient_id=rid)
    sources = []
    for i in range(6):
        sources.append(save_jpeg(tiled_photo(1600, 1200, seed=10 + i), tmp / f"scan-src-{i}.jpg"))
    api.mark_files(registry, sources, tmp / "scan-out")
    leaks = tmp / "leaks"
    leaks.mkdir()
    for i in range(count):
        copy = tmp / "scan-out" / "abcd"[i % 4] / sources[i % len(sources)].name
        data, ext = run_attack("social1080", load_display_rgb(copy), seed=i)
        (leaks / f"leak-{i:03d}{ext}").write_bytes(data)
    location = registry.location
    registry.close()
    return location, leaks


def bench_scan(tmp: Path, quick: bool) -> list[dict] | None:
    """Scan as built, then with OpenCV held to one thread per process in both runs (OpenCV
    otherwise spreads the single process over both CPUs, and oversubscribes them with two)."""
    import cv2

    try:
        from leaktrace.batch.scan import scan_folder
    except ImportError:
        return None
    location, leaks = _marked_leaks(tmp, 8 if quick else 24)
    rows, threads = [], cv2.getNumThreads()
    for label, limit in (("as built", False), ("OpenCV: 1 thread per process", True)):
        if limit:  # spawned workers read it at import; this process is set directly
            os.environ["OPENCV_FOR_THREADS_NUM"] = "1"
        cv2.setNumThreads(1 if limit else threads)
        times = {}
        try:
            for workers in (1, 2):
                runs = []
                for _ in range(2):  # best of two: other processes come and go on 2 CPUs
                    start = time.perf_counter()
                    results = list(scan_folder(location, KEY, leaks, workers=workers))
                    runs.append(time.perf_counter() - start)
                    assert sum(r.verdict == "attributed" for r in results) >= len(results) - 2
                times[workers] = min(runs)
        finally:
            os.environ.pop("OPENCV_FOR_THREADS_NUM", None)
            cv2.setNumThreads(threads)
        rows.append({"case": label, "files": len(results), "one_s": times[1], "two_s": times[2]})
    return rows


def _pg_database(server: str) -> tuple[str, Callable[[], None]]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"leaktrace_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


def bench_cluster(tmp: Path, quick: bool, pg: str | None) -> dict:
    from distributed import Client, LocalCluster

    from leaktrace import api
    from leaktrace.batch.executors import DaskExecutor

    files = [
        save_jpeg(tiled_photo(1600, 1200, seed=30 + i), tmp / f"batch-{i}.jpg")
        for i in range(4 if quick else 8)
    ]
    recipients = [f"s{i}" for i in range(4 if quick else 8)]
    times, cleanups, outputs = {}, [], {}
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    try:
        for path in ("local processes", "LocalCluster"):
            location = None
            if pg:
                location, drop = _pg_database(pg)
                cleanups.append(drop)
            registry = new_registry(tmp, f"cluster-{len(times)}", location)
            for rid in recipients:
                api.add_recipient(registry, rid, recipient_id=rid)
            out = tmp / f"cluster-out-{len(times)}"
            start = time.perf_counter()
            if path == "LocalCluster":
                executor = DaskExecutor(Client(cluster, set_as_default=False))
                report = api.mark_files(registry, files, out, executor=executor)
                executor.shutdown()
            else:
                report = api.mark_files(registry, files, out, workers=2)
            times[path] = time.perf_counter() - start
            outputs[path] = [c.sha256 for c in report.copies]
            registry.close()
    finally:
        cluster.close()
        for cleanup in cleanups:
            cleanup()
    assert outputs["local processes"] == outputs["LocalCluster"]
    return {
        "backend": "PostgreSQL" if pg else "SQLite",
        "copies": len(files) * len(recipients),
        "files": len(files),
        **times,
    }


# ------------------------------------------------------------------------ invisible-watermark

_IWM_SCRIPT = r"""
import json, sys, time, types
# imwatermark imports torch and onnxruntime at import time for its rivaGan method only; dwtDct
# needs neither, so stand-ins keep a multi-gigabyte install out of the benchmark venv.
for name in ("torch", "onnx", "onnxruntime"):
    sys.modules.setdefault(name, types.ModuleType(name))
import cv2
from imwatermark import WatermarkDecoder, WatermarkEncoder
out = {}
for path in sys.argv[1:]:
    image = cv2.imread(path)
    encoder = WatermarkEncoder()
    encoder.set_watermark("bytes", b"leaktrace")
    times = []
    for _ in range(2):
        start = time.perf_counter(); marked = encoder.encode(image, "dwtDct")
        times.append(time.perf_counter() - start)
    decoder = WatermarkDecoder("bytes", 72)
    dtimes = []
    for _ in range(2):
        start = time.perf_counter(); payload = decoder.decode(marked, "dwtDct")
        dtimes.append(time.perf_counter() - start)
    out[path] = {"embed": min(times), "decode": min(dtimes), "ok": payload == b"leaktrace"}
print(json.dumps(out))
"""


def _embed_pixels(asset, loaded, key: bytes) -> np.ndarray:
    """Pixels in, pixels out, like dwtDct's encode: the analysis (mask) and one code's mark."""
    from leaktrace.media.image.asset import analyse
    from leaktrace.media.image.marking import imprinter_for

    analysis = analyse(asset, loaded, key)
    return imprinter_for(analysis, loaded).mark(analysis.keying.recipient_code("r"))


def bench_iwm(tmp: Path, quick: bool) -> list[dict]:
    from leaktrace import api
    from leaktrace.media.image import files as images
    from leaktrace.media.image.asset import register_image

    python = ensure_bench_venv()
    cases = [("1.7 MP (1620x1080)", 1620, 1080), ("12.2 MP (4032x3024)", 4032, 3024)]
    if quick:
        cases = cases[:1]
    paths = [
        save_jpeg(tiled_photo(w, h, seed=40 + i, grain=2.0), tmp / f"iwm-{i}.jpg")
        for i, (_, w, h) in enumerate(cases)
    ]
    theirs = json.loads(
        subprocess.run(
            [str(python), "-c", _IWM_SCRIPT, *map(str, paths)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rows = []
    for (label, _, _), path in zip(cases, paths, strict=True):
        registry = new_registry(tmp, f"iwm-{path.stem}")
        api.add_recipient(registry, "r", recipient_id="r")
        data = path.read_bytes()
        loaded = images.load_image(data)
        asset = register_image(registry, path, data, loaded)

        ours_embed = best(_embed_pixels, asset, loaded, registry.key, repeat=4)
        api.mark_files(registry, [path], tmp / f"iwm-out-{path.stem}", recipient_ids=["r"])
        marked = tmp / f"iwm-out-{path.stem}" / "r" / path.name
        ours_decode, verdict = timed(api.identify, registry, marked, repeat=3)
        registry.close()
        rows.append(
            {
                "image": label,
                "ours_embed": ours_embed,
                "ours_decode": ours_decode,
                "ours_ok": verdict.verdict == "attributed",
                "iwm_embed": theirs[str(path)]["embed"],
                "iwm_decode": theirs[str(path)]["decode"],
                "iwm_ok": theirs[str(path)]["ok"],
            }
        )
    return rows


# ------------------------------------------------------------------------------- the page


def _ok(flag: bool) -> str:
    return "yes" if flag else "**no**"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows] + [""]


def render(results: dict, command: str, load: tuple[float, float]) -> str:
    """The measured tables (markdown), for the generated block of docs/performance.md."""
    lines = [
        f"Command: `{command}`. Load average (1 min) {load[0]:.1f} before, {load[1]:.1f} after"
        f" ({os.cpu_count()} CPUs). Seconds, best of a few runs.",
        "",
    ]
    if "mark" in results:
        lines += ["### Marking: per additional recipient / Pillow decode + encode", ""]
        lines += _table(
            ["photo", "floor", "1 recipient", "N", "N recipients", "per extra", "ratio", "<= 1.5"],
            [
                [r["case"], f"{r['floor_s']:.3f}", f"{r['first_s']:.2f}", r["recipients"]]
                + [f"{r['total_s']:.2f}", f"{r['per_recipient_s']:.3f}", f"{r['ratio']:.2f}"]
                + [_ok(r["ratio"] <= 1.5)]
                for r in results["mark"]
            ],
        )
        stages = results.get("mark_breakdown", {})
        lines += _table(["one copy of the grainy photo, by stage", "seconds"], [
            [stage, f"{seconds:.3f}"] for stage, seconds in stages.items()
        ])  # fmt: skip
    if "identify" in results:
        rows, base = results["identify"], results["identify"][0]["seconds"]
        lines += ["### Identify: 1080-px leak, recipients on the asset", ""]
        lines += _table(
            ["recipients", "identify", "vs 10", "verdict", "p-value", "<= 1.5x"],
            [
                [f"{r['recipients']:,}", f"{r['seconds']:.3f}", f"{r['seconds'] / base:.2f}x"]
                + [f"{r['verdict']} ({r['recipient']})", f"{r['p_value']:.1e}"]
                + [_ok(r["seconds"] / base <= 1.5) if r["recipients"] > 10 else ""]
                for r in rows
            ],
        )
        setup = sum(r["setup_s"] for r in rows)
        lines += [f"Registering the extra recipients and copies: {setup:.1f} s.", ""]
    if "lookup" in results:
        lines += ["### Which asset? Lookup among registered assets", ""]
        lines += _table(
            ["assets", "cold load", "cached check", "search", "query", "<= 0.050"]
            + ["search with np.bitwise_count", "registering them"],
            [
                [f"{r['assets']:,}", f"{r['cold_load_s']:.3f}", f"{r['cached_check_s']:.4f}"]
                + [f"{r['search_s']:.4f}", f"{r['query_s']:.4f}", _ok(r["query_s"] <= 0.05)]
                + [f"{r['bitwise_count_s']:.4f}", f"{r['setup_s']:.1f}"]
                for r in results["lookup"]
            ],
        )
    if "scan" in results:
        lines += ["### Scan: 2 local worker processes against 1", ""]
        if results["scan"] is None:
            lines += ["`leaktrace.batch.scan` is not available in this build: not measured.", ""]
        else:
            lines += _table(
                ["threads", "files", "1 worker", "2 workers", "speed-up", ">= 1.7x"],
                [
                    [r["case"], r["files"], f"{r['one_s']:.2f}", f"{r['two_s']:.2f}"]
                    + [f"{r['one_s'] / r['two_s']:.3f}x", _ok(r["one_s"] / r["two_s"] >= 1.7)]
                    for r in results["scan"]
                ],
            )
    if "cluster" in results:
        r = results["cluster"]
        lines += ["### Marking: 2-worker Dask LocalCluster against 2 local processes", ""]
        lines += _table(
            ["registry", "files", "copies", "local processes", "LocalCluster", "cluster / local"],
            [[r["backend"], r["files"], r["copies"], f"{r['local processes']:.2f}"]
             + [f"{r['LocalCluster']:.2f}", f"{r['LocalCluster'] / r['local processes']:.2f}"]],
        )  # fmt: skip
    if "iwm" in results:
        lines += ["### Per image: leaktrace against invisible-watermark dwtDct", ""]
        lines += _table(
            ["image", "leaktrace embed", "dwtDct embed", "leaktrace decode (identify)"]
            + ["dwtDct decode", "both read back"],
            [
                [r["image"], f"{r['ours_embed']:.3f}", f"{r['iwm_embed']:.3f}"]
                + [f"{r['ours_decode']:.3f}", f"{r['iwm_decode']:.3f}"]
                + ["yes" if r["ours_ok"] and r["iwm_ok"] else "no"]
                for r in results["iwm"]
            ],
        )
    return "\n".join(lines)


BEGIN, END = "<!-- speed.py: begin -->", "<!-- speed.py: end -->"


def write_page(path: Path, tables: str) -> None:
    """Replace the generated block of ``path`` (between the markers), keeping the prose."""
    text = path.read_text() if path.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{tables.rstrip()}\n{END}{tail}")


BENCHES: dict[str, Callable[..., Any]] = {
    "mark": bench_mark,
    "identify": bench_identify,
    "lookup": bench_lookup,
    "scan": bench_scan,
    "cluster": bench_cluster,
    "iwm": bench_iwm,
}


def settle(limit: float = 0.5, longest: float = 90.0) -> None:
    """Wait (up to ``longest`` seconds) for the machine to quieten before a section that uses
    both CPUs: the lookup section leaves the disk flushing a million rows behind it, and a
    scan's two workers then measure that rather than themselves."""
    deadline = time.monotonic() + longest
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help=f"comma-separated sections (default: {','.join(BENCHES)})")
    parser.add_argument("--quick", action="store_true", help="fewer and smaller cases")
    parser.add_argument("--pg", help="PostgreSQL server URL for the cluster section")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    parser.add_argument(
        "--write", type=Path, help="put the tables into this page's generated block"
    )
    args = parser.parse_args(argv)
    sections = args.only.split(",") if args.only else list(BENCHES)
    unknown = sorted(set(sections) - set(BENCHES))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")
    pg = args.pg or os.environ.get("LEAKTRACE_TEST_PG_URL")
    results: dict = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="leaktrace-speed-") as folder:
        tmp = Path(folder)
        for section in sections:
            if section == "scan":
                settle()
            started = time.perf_counter()
            print(f"speed: {section} ...", file=sys.stderr, flush=True)
            work = tmp / section
            work.mkdir()
            if section == "mark":
                results["mark_breakdown"] = mark_breakdown(work)
            extra = (pg,) if section == "cluster" else ()
            results[section] = BENCHES[section](work, args.quick, *extra)
            print(f"speed: {section} took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    command = " ".join(["python benchmarks/speed.py", *(sys.argv[1:] if argv is None else argv)])
    tables = render(results, command, (load_before, os.getloadavg()[0]))
    print(tables)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    if args.write:
        write_page(args.write, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
