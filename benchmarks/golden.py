"""What a user sees, captured to compare two versions of leaktrace: every marked copy's SHA-256
and the ``identify --json`` output of a set of simulated leaks.

    PYTHONPATH=TREE/src python benchmarks/golden.py capture OUTDIR   # with TREE's code
    python benchmarks/golden.py compare OUTDIR_A OUTDIR_B            # what differs

A fixed key makes every copy deterministic, so a restructure that changes nothing a user sees
gives the same bytes and the same JSON. The comparison ignores where the files lie, the times in
the distribution record, and the SHA-256 of leaks Ghostscript and pikepdf write (timestamps).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY = "ab" * 32
RECIPIENTS = ("alpha", "beta", "gamma", "delta")
INPUTS = (
    "photos/astronaut.jpg",
    "photos/coffee.png",
    "photos/chelsea_exif6.jpg",
    "drafts/cad_bumper.png",
    "drafts/blueprint_grid.png",
    "drafts/ui_mockup.png",
    "pdfs/reportlab_price_sheet.pdf",
    "pdfs/libreoffice_sheet.pdf",
    "pdfs/matplotlib_charts.pdf",
)
# Leaks of beta's copy (and of the unmarked original, the first attack of each).
ATTACKS = {
    "astronaut.jpg": ["social480", "crop25", "rotate8_crop", "flip_h", "screenshot75", "jpeg30",
                      "perspective", "phone_screen"],
    "coffee.png": ["social720", "crop25_offcentre"],
    "chelsea_exif6.jpg": ["social1080"],
    "cad_bumper.png": ["social480", "crop25", "screenshot100", "scale50", "phone_screen"],
    "blueprint_grid.png": ["jpeg50", "crop50"],
    "ui_mockup.png": ["social720"],
}  # fmt: skip
UNSTABLE_BYTES = ("stripped", "printed")


def _cli(registry: Path, *args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from leaktrace.cli import main; main()"]
    env = dict(os.environ, LEAKTRACE_KEY=KEY)
    return subprocess.run(
        [*command, "--registry", str(registry), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
    )


def _checked(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    if result.returncode not in (0, 4, 6, 7):
        raise SystemExit(f"{result.args[3:]}: exit {result.returncode}\n{result.stderr}")
    return result


def _leaks(out: Path, registry: Path) -> list[Path]:
    from leaktrace.simulate.pdf import jpeg, print_to_pdf, render_page, strip_file_marks

    leaks = out / "leaks"
    leaks.mkdir(exist_ok=True)
    sources = {Path(name).name: FIXTURES / name for name in INPUTS}
    jobs = []
    for name, attacks in ATTACKS.items():
        for attack in attacks:
            leak = leaks / f"beta-{Path(name).stem}-{attack}.jpg"
            copy = out / "dist" / "beta" / name
            _checked(_cli(registry, "simulate", copy, "--attack", attack, "--out", leak))
            jobs.append(leak)
        leak = leaks / f"orig-{Path(name).stem}-{attacks[0]}.jpg"
        _checked(_cli(registry, "simulate", sources[name], "--attack", attacks[0], "--out", leak))
        jobs.append(leak)
    jobs += [out / "dist" / "gamma" / Path(name).name for name in INPUTS if name.endswith(".pdf")]
    jobs.append(FIXTURES / "unrelated" / "flower.jpg")
    sheet = (out / "dist" / "delta" / "reportlab_price_sheet.pdf").read_bytes()
    (leaks / "delta-price-page1.jpg").write_bytes(jpeg(render_page(sheet, 0, 110)))
    (leaks / "delta-price-stripped.pdf").write_bytes(strip_file_marks(sheet))
    (leaks / "delta-price-printed.pdf").write_bytes(print_to_pdf(strip_file_marks(sheet)))
    return jobs + [leaks / n for n in ("delta-price-page1.jpg", "delta-price-stripped.pdf",
                                       "delta-price-printed.pdf")]  # fmt: skip


def capture(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    registry = out / "registry"
    _checked(_cli(registry, "init"))
    for rid in RECIPIENTS:
        _checked(_cli(registry, "recipients", "add", rid.title(), "--id", rid))
    inputs = [FIXTURES / name for name in INPUTS]
    _checked(_cli(registry, "mark", *inputs, "--all", "--out", out / "dist", "--json"))
    copies = {
        str(path.relative_to(out / "dist")): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((out / "dist").rglob("*"))
        if path.is_file()
    }
    results = {}
    for leak in _leaks(out, registry):
        result = _cli(registry, "identify", leak, "--json")
        try:
            record = json.loads(result.stdout)
        except json.JSONDecodeError:
            record = {"stderr": result.stderr.strip()}
        record["exit"] = result.returncode
        for line in record.get("evidence", {}).get("distribution", []) or []:
            line.pop("at", None)
        results[leak.name] = record
    (out / "golden.json").write_text(
        json.dumps({"copies": copies, "identify": results}, indent=1, sort_keys=True)
    )
    print(f"{len(copies)} copies and {len(results)} identifications in {out / 'golden.json'}")


def _differences(path: str, a, b) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            line
            for key in sorted(set(a) | set(b))
            for line in _differences(f"{path}.{key}", a.get(key), b.get(key))
        ]
    return [] if a == b else [f"    {path}: {str(a)[:150]} | {str(b)[:150]}"]


def compare(first: Path, second: Path) -> int:
    def load(folder: Path) -> dict:
        text = (folder / "golden.json").read_text()
        return json.loads(text.replace(str(folder.resolve()), "ROOT"))

    a, b = load(first), load(second)
    changed = [name for name in sorted(set(a["copies"]) | set(b["copies"]))
               if a["copies"].get(name) != b["copies"].get(name)]  # fmt: skip
    for name in changed:
        print(f"copy differs: {name}")
    differing = 0
    for name in sorted(set(a["identify"]) | set(b["identify"])):
        x, y = a["identify"].get(name, {}), b["identify"].get(name, {})
        if any(word in name for word in UNSTABLE_BYTES):
            x, y = dict(x, sha256=None), dict(y, sha256=None)
        lines = _differences("", x, y)
        if lines:
            differing += 1
            print(f"identify differs: {name}", *lines, sep="\n")
    print(
        f"{len(a['copies'])} copies, {len(changed)} differ; "
        f"{len(a['identify'])} identifications, {differing} differ"
    )
    return 1 if changed or differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("capture").add_argument("out", type=Path)
    both = commands.add_parser("compare")
    both.add_argument("first", type=Path)
    both.add_argument("second", type=Path)
    args = parser.parse_args()
    if args.command == "capture":
        capture(args.out)
        return 0
    return compare(args.first, args.second)


if __name__ == "__main__":
    raise SystemExit(main())
