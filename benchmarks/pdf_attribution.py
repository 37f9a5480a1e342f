"""PDF leaks: identification rate per leak case and per producer, false attributions on
unmarked and unregistered pages, invisibility of the page layer, and marking speed.

    nice .venv/bin/python benchmarks/pdf_attribution.py            # prints tables, updates docs/pdf.md
    nice .venv/bin/python benchmarks/pdf_attribution.py --quick    # two producers, fewer pages

Every fixture of fixtures/pdfs is marked for RECIPIENTS recipients in a fresh registry; for each
case one recipient's copy is leaked and identified through :func:`leaktrace.api.identify` (the
CLI's path). "correct" means attributed to that recipient at the default bound 1e-9.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from leaktrace.api import identify, mark_files
from leaktrace.registry import init_registry
from leaktrace.registry.models import Recipient
from leaktrace.simulate import pdf as simulate
from leaktrace.simulate import run_attack

ROOT = Path(__file__).resolve().parents[1]
PDFS = ROOT / "fixtures" / "pdfs"
DOC = ROOT / "docs" / "pdf.md"
RECIPIENTS = [f"supplier-{k:02d}" for k in range(8)]
PAGES_PER_DOC = 2  # page-image cases: this many pages of each document (time: 2 cores shared)
FILE_CASES = [
    "re-save (file marks stripped)",
    "print to PDF (Ghostscript)",
    "one page copied out",
    "page layer and file marks stripped",
    "printed as images (150 DPI, JPEG 85)",
]
PAGE_CASES = [
    "150-DPI screenshot + JPEG 80",
    "100 % zoom screenshot (96 DPI, viewer chrome)",
    "phone photo of a screen (easy)",
    "phone photo of a screen (normal)",
]
INNOCENT_CASES = [
    "unmarked original file",
    "unmarked page, 150 DPI + JPEG 80",
    "unmarked page, phone photo",
    "unregistered document's page",
]


def producer(name: str) -> str:
    return name.removesuffix(".pdf")


def file_leak(case: str, data: bytes) -> bytes:
    if case.startswith("re-save"):
        return simulate.strip_file_marks(simulate.resave(data))
    if case.startswith("printed as images"):
        return simulate.image_pdf(data)
    if case.startswith("print"):
        return simulate.print_to_pdf(data)
    if case.startswith("page layer"):
        return simulate.strip_file_marks(simulate.strip_page_layer(data))
    return simulate.copy_pages(data, [min(1, _page_count(data) - 1)])


def page_leak(case: str, data: bytes, page: int, seed: int) -> tuple[bytes, str]:
    if case.startswith("150-DPI"):
        return simulate.jpeg(simulate.render_page(data, page, 150), 80), ".jpg"
    if case.startswith("100 %"):
        return run_attack("screenshot100", simulate.render_page(data, page, 96), seed=seed)
    attack = "phone_screen_easy" if "easy" in case else "phone_screen"
    return run_attack(attack, simulate.render_page(data, page, 150), seed=seed)


def _page_count(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def unregistered_document() -> bytes:
    """A price sheet like the fixture's, with other numbers: never registered."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    c.setFont("Helvetica-Bold", 18)
    c.drawString(60, 780, "Other Components - price list")
    c.setFont("Helvetica", 10)
    for row in range(34):
        c.drawString(60, 720 - row * 17, f"{row + 1:02d}  part {row * 13 % 37}  {row * 2.9:.2f}")
    c.showPage()
    c.save()
    return buffer.getvalue()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two producers, one page each")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/pdf.md")
    args = parser.parse_args()
    names = sorted(p.name for p in PDFS.glob("*.pdf"))
    if args.quick:
        names = ["pikepdf_drawing.pdf", "reportlab_price_sheet.pdf"]
    pages_per_doc = 1 if args.quick else PAGES_PER_DOC
    if simulate.ghostscript() is None:
        sys.exit("needs Ghostscript for the print-to-PDF case: run scripts/ensure-ghostscript")

    work = Path(tempfile.mkdtemp(prefix="pdfbench-"))
    try:
        registry = init_registry(str(work / "registry"))
        registry.add_recipients([Recipient(rid, rid) for rid in RECIPIENTS])
        started = time.perf_counter()
        report = mark_files(registry, [PDFS / n for n in names], work / "dist")
        marking_seconds = time.perf_counter() - started
        assert not report.failures, report.failures

        outcomes: dict[tuple[str, str], list[bool]] = defaultdict(list)
        innocent: dict[tuple[str, str], list[bool]] = defaultdict(list)
        z_true: dict[str, list[float]] = defaultdict(list)
        layer_z: dict[tuple[str, str], list[float]] = defaultdict(list)
        innocent_z: list[float] = []
        layer_alone: dict[tuple[str, str], list[bool]] = defaultdict(list)
        seconds: dict[str, list[float]] = defaultdict(list)
        invisibility = {}
        leak_file = work / "leak"

        def trial(case: str, data: bytes, suffix: str, truth: str | None, name: str) -> None:
            path = leak_file.with_suffix(suffix)
            path.write_bytes(data)
            t0 = time.perf_counter()
            found = identify(registry, path)
            seconds[case].append(time.perf_counter() - t0)
            accused = found.recipient.id if found.recipient else None
            if truth is None:
                innocent[(case, producer(name))].append(accused is not None)
                return
            outcomes[(case, producer(name))].append(accused == truth)
            for line in (found.evidence or {}).get("layer_scores", []):
                right = line["best"] == truth
                layer_z[(case, line["layer"], producer(name))].append(line["z"] if right else 0.0)
                layer_alone[(case, line["layer"])].append(right and line["p_family"] <= 1e-9)
            z = {c["id"]: c["score"] for c in found.candidates}.get(truth)
            innocent_z.extend(c["score"] for c in found.candidates if c["id"] != truth)
            if z is not None:
                z_true[case].append(z)

        for index, name in enumerate(names):
            original = (PDFS / name).read_bytes()
            leaker = RECIPIENTS[index % len(RECIPIENTS)]
            copy = (work / "dist" / leaker / name).read_bytes()
            n_pages = _page_count(original)
            invisibility[producer(name)] = render_differences(original, copy, min(n_pages, 3))
            for case in FILE_CASES:
                trial(case, file_leak(case, copy), ".pdf", leaker, name)
            for page in range(min(pages_per_doc, n_pages)):
                for case in PAGE_CASES:
                    data, suffix = page_leak(case, copy, page, seed=index * 10 + page)
                    trial(case, data, suffix, leaker, name)
            trial(INNOCENT_CASES[0], original, ".pdf", None, name)
            data, suffix = page_leak(PAGE_CASES[0], original, 0, seed=index)
            trial(INNOCENT_CASES[1], data, suffix, None, name)
            data, suffix = page_leak(PAGE_CASES[3], original, 0, seed=index)
            trial(INNOCENT_CASES[2], data, suffix, None, name)
            print(f"  {name}: done", file=sys.stderr, flush=True)
        other = unregistered_document()
        for case in PAGE_CASES:
            data, suffix = page_leak(case, other, 0, seed=99)
            trial(INNOCENT_CASES[3], data, suffix, None, "reportlab_other.pdf")

        speed = marking_speed(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    producers = [producer(n) for n in names]
    lines = []
    lines.append(
        f"Recipients per document: {len(RECIPIENTS)}; bound 1e-9; page cases use "
        f"the first {pages_per_doc} page(s) of each document."
    )
    lines.append("")
    lines.append(
        "| case | "
        + " | ".join(producers)
        + " | all | median z of the leaker | median identify s |"
    )
    lines.append("|---|" + "---|" * (len(producers) + 3))
    for case in FILE_CASES + PAGE_CASES:
        cells, total = [], []
        for p in producers:
            got = outcomes.get((case, p), [])
            total += got
            cells.append(f"{sum(got)}/{len(got)}" if got else "-")
        z = statistics.median(z_true[case]) if z_true[case] else float("nan")
        lines.append(
            f"| {case} | " + " | ".join(cells) + f" | **{sum(total)}/{len(total)}** | "
            f"{z:.1f} | {statistics.median(seconds[case]):.1f} |"
        )
    lines.append("")
    lines.append(
        "Each layer on its own, for the leaked files: z of the leaker per producer when it "
        "scores best (else 0), and how many leaks that layer alone attributes at 1e-9."
    )
    for layer in ("page layer", "word shifts"):
        lines.append("")
        lines.append(f"**{layer}** alone:")
        lines.append("")
        lines.append("| case | " + " | ".join(producers) + " | attributed alone |")
        lines.append("|---|" + "---|" * (len(producers) + 1))
        for case in FILE_CASES:
            cells = []
            for p in producers:
                zs = layer_z.get((case, layer, p), [])
                cells.append(f"{statistics.median(zs):.1f}" if zs else "-")
            alone = layer_alone.get((case, layer), [])
            total = sum(len(v) for (c, _), v in outcomes.items() if c == case)
            lines.append(f"| {case} | " + " | ".join(cells) + f" | {sum(alone)}/{total} |")
    lines.append("")
    spread = np.asarray(innocent_z)
    lines.append(
        f"The other recipients' combined scores in those leaks (innocent, should be N(0, 1)): "
        f"{spread.size} scores, mean {spread.mean():+.2f}, standard deviation {spread.std():.2f}, "
        f"largest {spread.max():.2f}."
    )
    lines.append("")
    lines.append("False attributions (any recipient accused) on leaks nobody made:")
    lines.append("")
    lines.append("| innocent case | trials | false attributions |")
    lines.append("|---|---|---|")
    for case in INNOCENT_CASES:
        got = [v for (c, _), values in innocent.items() if c == case for v in values]
        lines.append(f"| {case} | {len(got)} | {sum(got)} |")
    lines.append("")
    lines.append(
        "What the marks change in a 150-DPI render (worst of the first three pages). The page "
        "layer's PSNR compares the copy with the same copy with its layer blanked; the word "
        "shifts' compares that with the original: a third of a pixel's move of every word "
        "changes anti-aliased edges, which PSNR punishes though nothing visibly moves, so the "
        "largest move of any glyph origin (pdfium, original vs copy) is given too."
    )
    lines.append("")
    lines.append("| producer | page layer PSNR dB | word shifts PSNR dB | largest glyph move, pt |")
    lines.append("|---|---|---|---|")
    for p in producers:
        layer_db, words_db, moved = invisibility[p]
        lines.append(f"| {p} | {layer_db:.1f} | {words_db:.1f} | {moved:.3f} |")
    lines.append("")
    lines.append("Marking speed, 20-page packet (the first 20 pages of `pdftex_libtasn1.pdf`):")
    lines.append("")
    lines.append("| step | seconds |")
    lines.append("|---|---|")
    for label, value in speed:
        lines.append(f"| {label} | {value:.3f} |")
    lines.append("")
    lines.append(
        f"Marking all {len(names)} fixtures for {len(RECIPIENTS)} recipients "
        f"(registration included): {marking_seconds:.1f} s."
    )
    table = "\n".join(lines)
    print(table)
    if not args.no_write and not args.quick:
        write_doc(table)


def render_differences(original: bytes, copy: bytes, pages: int) -> tuple[float, float, float]:
    """(page layer PSNR, word shifts PSNR, largest glyph origin move in points)."""
    from leaktrace.media.pdf import text

    unlayered = simulate.strip_page_layer(copy)
    layer_db = words_db = float("inf")
    moved = 0.0
    for page in range(pages):
        ours = simulate.render_page(copy, page, 150)
        bare = simulate.render_page(unlayered, page, 150)
        layer_db = min(layer_db, psnr(bare, ours))
        words_db = min(words_db, psnr(simulate.render_page(original, page, 150), bare))
        chars_a, at_a = text.glyph_origins(original, page)
        chars_b, at_b = text.glyph_origins(copy, page)
        if chars_a == chars_b and len(at_a):
            finite = np.isfinite(at_a).all(axis=1) & np.isfinite(at_b).all(axis=1)
            if finite.any():
                moved = max(moved, float(np.abs(at_a[finite] - at_b[finite]).max()))
    return layer_db, words_db, moved


def marking_speed(work: Path) -> list[tuple[str, float]]:
    """Registration of a 20-page packet once, then one recipient's copy (median of 5)."""
    import pikepdf

    from leaktrace.media.pdf.marking import marked_copy, prepare

    source = (PDFS / "pdftex_libtasn1.pdf").read_bytes()
    packet = work / "packet20.pdf"
    packet.write_bytes(simulate.copy_pages(source, list(range(20))))
    data = packet.read_bytes()
    registry = init_registry(str(work / "speed-registry"))
    t0 = time.perf_counter()
    prepared = prepare(registry, packet, data, None)
    registration = time.perf_counter() - t0
    per_copy = []
    for k in range(5):
        t0 = time.perf_counter()
        marked_copy(prepared, f"recipient-{k}")
        per_copy.append(time.perf_counter() - t0)
    plain = []
    for _ in range(5):
        t0 = time.perf_counter()
        with pikepdf.open(io.BytesIO(data)) as pdf:
            pdf.save(io.BytesIO())
        plain.append(time.perf_counter() - t0)
    return [
        ("register the packet once (render, hash, features of 20 pages)", registration),
        ("one recipient's marked copy (median of 5)", statistics.median(per_copy)),
        ("plain pikepdf open + save of the same file (median of 5)", statistics.median(plain)),
    ]


def write_doc(table: str) -> None:
    text = DOC.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    command = "nice .venv/bin/python benchmarks/pdf_attribution.py"
    block = f"{start}\nMeasured with `{command}`:\n\n{table}\n{end}"
    DOC.write_text(
        re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    )


if __name__ == "__main__":
    main()
