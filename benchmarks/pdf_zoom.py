"""PDF page screenshots across viewer zooms: does the page layer alone name the leaker?

Every fixture of fixtures/pdfs is marked for RECIPIENTS recipients in a fresh registry; the first
page of one recipient's copy is rendered at each zoom (a viewer's 100 % is 96 DPI), saved as PNG,
and identified through :func:`leaktrace.api.identify`; so is the unmarked original's page at the
same zoom (innocent). Printed per zoom: how many leaks the page layer alone attributes at the
bound, its median z for the leaker, how many are attributed at all (page layer and word shifts
together), and false attributions among the innocent renders.

    python benchmarks/pdf_zoom.py                    # all fixtures, zooms 50-200 %
    python benchmarks/pdf_zoom.py --zooms 100,125    # a few zooms
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import cv2

from leaktrace.api import identify, mark_files
from leaktrace.registry import init_registry
from leaktrace.registry.models import Recipient
from leaktrace.simulate import pdf as simulate

PDFS = Path(__file__).resolve().parents[1] / "fixtures" / "pdfs"
RECIPIENTS = [f"r{i:02d}" for i in range(8)]
ZOOMS = (50, 66, 75, 90, 100, 110, 125, 135, 150, 200)
BOUND = 1e-9


def _page_layer(result) -> tuple[str | None, float, float]:
    evidence = result.evidence or {}
    for line in evidence.get("layer_scores") or []:
        if line["layer"] == "page layer":
            return line["best"], float(line["z"]), float(line["p_family"])
    return None, 0.0, 1.0


def _save(rgb, path: Path) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zooms", default=",".join(map(str, ZOOMS)))
    args = parser.parse_args(argv)
    zooms = [int(z) for z in args.zooms.split(",")]
    names = sorted(p.name for p in PDFS.glob("*.pdf"))
    rows = {zoom: {"alone": 0, "z": [], "attributed": 0, "trials": 0, "false": 0} for zoom in zooms}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        registry = init_registry(str(work / "registry"))
        registry.add_recipients([Recipient(rid, rid) for rid in RECIPIENTS])
        mark_files(registry, [PDFS / n for n in names], work / "dist")
        for n, name in enumerate(names):
            leaker = RECIPIENTS[n % len(RECIPIENTS)]
            marked = (work / "dist" / leaker / name).read_bytes()
            original = (PDFS / name).read_bytes()
            for zoom in zooms:
                dpi = 96.0 * zoom / 100.0
                row = rows[zoom]
                leak = _save(simulate.render_page(marked, 0, dpi), work / "leak.png")
                result = identify(registry, leak)
                best, z, p = _page_layer(result)
                row["trials"] += 1
                row["alone"] += best == leaker and p <= BOUND
                row["z"].append(z if best == leaker else 0.0)
                row["attributed"] += (
                    result.verdict == "attributed" and result.recipient.id == leaker
                )
                innocent = _save(simulate.render_page(original, 0, dpi), work / "innocent.png")
                row["false"] += identify(registry, innocent).verdict == "attributed"
            print(f"  {name} done", file=sys.stderr, flush=True)
    print(f"PDF page renders (first page of {len(names)} fixtures, {len(RECIPIENTS)} recipients)")
    print()
    print(
        "| zoom (DPI) | page layer alone attributes | median z of the leaker (page layer) "
        "| attributed (all layers) | innocent renders attributed |"
    )
    print("|---|---:|---:|---:|---:|")
    for zoom in zooms:
        row = rows[zoom]
        print(
            f"| {zoom} % ({96 * zoom / 100:.0f}) | {row['alone']}/{row['trials']} | "
            f"{statistics.median(row['z']):.1f} | {row['attributed']}/{row['trials']} | "
            f"{row['false']}/{row['trials']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
