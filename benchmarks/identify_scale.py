"""Identify time as the registry grows: one real photo among 10^3 ... 10^5 registered assets.

    python benchmarks/identify_scale.py                 # 1e3, 1e4, 1e5 assets
    python benchmarks/identify_scale.py --assets 100000 --runs 5

The extra assets are rows with random perceptual hashes, added through the registry's batch
API (their originals are not needed: no hash comes near the leak's). The leak is a 1080-px
repost of one recipient's copy of a 3-megapixel photo; the table gives the median and best of
``--runs`` identifications in one process (the registry's hash table and the analysis of the
original are then warm, as in a scan), and the verdict, which must not change.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "fixtures" / "photos-large" / "wine_interior.jpg"


def build(tmp: Path, n_assets: int):
    from leaktrace import api
    from leaktrace.registry import Asset

    registry = api.init_registry(str(tmp / f"registry-{n_assets}"), key=bytes(range(32)))
    for k in range(20):
        api.add_recipient(registry, f"Outlet {k}", recipient_id=f"outlet-{k:02d}")
    api.mark_files(registry, [PHOTO], tmp / f"dist-{n_assets}")
    rng = np.random.default_rng(n_assets)
    batch = []
    for i in range(n_assets - 1):
        sha = hashlib.sha256(f"filler {i}".encode()).hexdigest()
        phash, dhash = (int(v) for v in rng.integers(0, 2**63, size=2, dtype=np.int64))
        batch.append(Asset(sha[:16], sha, f"filler-{i}.jpg", "image", 800, 600, phash, dhash, {}))
        if len(batch) == 20_000:
            registry.add_assets(batch)
            batch = []
    if batch:
        registry.add_assets(batch)
    return registry


def leak_of(tmp: Path, n_assets: int) -> Path:
    try:
        from leaktrace.media.image.files import load_display_rgb
        from leaktrace.simulate import run_attack
    except ImportError:  # the layout before the pipeline (for before/after runs)
        from leaktrace.attacks import run_attack
        from leaktrace.formats.images import load_display_rgb
    copy = tmp / f"dist-{n_assets}" / "outlet-07" / PHOTO.name
    data, _ = run_attack("social1080", load_display_rgb(copy), seed=1)
    leak = tmp / f"leak-{n_assets}.jpg"
    leak.write_bytes(data)
    return leak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from leaktrace import api

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for n in (int(v) for v in args.assets.split(",")):
            registry = build(tmp, n)
            leak = leak_of(tmp, n)
            times, verdict = [], None
            for _ in range(args.runs + 1):  # the first run warms the caches
                start = time.perf_counter()
                result = api.identify(registry, leak)
                times.append(time.perf_counter() - start)
                verdict = f"{result.verdict} {result.recipient.id if result.recipient else ''}"
            registry.close()
            warm = times[1:]
            rows.append((n, times[0], statistics.median(warm), min(warm), verdict))
    print(f"leaktrace source: {os.path.dirname(api.__file__)}; {sys.version.split()[0]}")
    print("| assets | first identify (s) | median of warm (s) | best (s) | verdict |")
    print("|---:|---:|---:|---:|---|")
    for n, first, median, best, verdict in rows:
        print(f"| {n:,} | {first:.2f} | {median:.2f} | {best:.2f} | {verdict} |")


if __name__ == "__main__":
    main()
