"""Investigating a leak: one file (``identify``) or a whole folder (``scan``)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from leaktrace.cli.app import (
    EXIT_MARK_REMOVED,
    EXIT_NOT_ATTRIBUTED,
    EXIT_PARTIAL,
    JsonOption,
    PdfPasswordOption,
    SchedulerOption,
    WorkersOption,
    app,
    fail,
    open_registry,
    out,
    print_json,
    scheduler_needs_postgresql,
    state,
)
from leaktrace.cli.display import shown, shown_text

VERDICTS = ("attributed", "removed", "inconclusive", "unknown", "error")

MaxFalseAccusationOption = Annotated[
    float,
    typer.Option(
        "--max-false-accusation",
        min=1e-300,
        max=0.5,
        help="Largest acceptable probability that the accusation is a coincidence.",
    ),
]


@app.command()
def identify(
    file: Annotated[
        Path,
        typer.Argument(
            help="The leaked image, PDF or text (.txt, .md, .html, .docx); - reads text from "
            "standard input."
        ),
    ],
    as_text: Annotated[
        bool,
        typer.Option("--text", help="Read the leak as text whatever its name (- or a file)."),
    ] = False,
    as_json: JsonOption = False,
    max_false_accusation: MaxFalseAccusationOption = 1e-9,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help="Also write a self-contained HTML evidence report (for every verdict).",
        ),
    ] = None,
    password: PdfPasswordOption = None,
    case_file: Annotated[
        Path | None,
        typer.Option(
            "--case-file",
            metavar="FILE",
            help="When the registry is read-only, log the identification to FILE "
            "(default: ./leaktrace-case-<registry>.jsonl).",
        ),
    ] = None,
) -> None:
    """Find which asset a leaked file shows and whose copy it is.

    Exit code 0 when a recipient is attributed, 4 when nobody is, 7 when a copy's mark was
    deliberately removed (verdict "removed": named, not attributed). --report FILE also writes a
    self-contained HTML evidence report (pictures of the alignment, every score against the
    threshold, the distribution record), whatever the verdict. Against a read-only registry
    (read-only media, a role that may only read) nothing is written to it: the identification
    is logged to a case file instead (see leaktrace case), and the output says so.

    A text leak (a quote, a pasted paragraph, a web page) is aligned to the registered text
    documents and scored by the keyed wording it shows; a picture of a page is also read by
    OCR when a text document is registered.

    Example: leaktrace identify leaked.jpg --json --report leaked.html

    Example: cat quote.txt | leaktrace identify --text - --json
    """
    from leaktrace import config
    from leaktrace.api import identify as run_identify

    data = None
    if str(file) == "-":
        as_text, data = True, sys.stdin.buffer.read()
        if not data.strip():
            raise fail("no text on standard input")
    registry = open_registry()
    result = run_identify(
        registry,
        file,
        as_text=as_text,
        data=data,
        bound=max_false_accusation,
        password=config.pdf_password(password),
        case_file=case_file,
    )
    if report is not None:
        from leaktrace.report import write_report

        # Written before anything is printed: exit code 1 then means no output at all.
        write_report(
            registry,
            result,
            report,
            parameters={"command": "leaktrace identify"},
            leak_data=data,
        )
    if as_json:
        print_json(result.to_dict())
    else:
        _render_identification(result)
        if report is not None:
            out.print(f"Report:  {shown(report, limit=None)}")
        _render_logged(result.logged)
    if result.verdict == "removed":
        raise typer.Exit(EXIT_MARK_REMOVED)
    if not result.attributed:
        raise typer.Exit(EXIT_NOT_ATTRIBUTED)


def _p(value: float | None) -> str:
    """A probability for people: a tail that underflowed a double is tiny, not zero."""
    if value is None:
        return "-"
    return "< 1e-300" if value <= 1e-300 else f"{value:.2e}"


def _render_logged(logged: dict | None) -> None:
    if logged and logged.get("to") == "case file":
        out.print(
            f"Logged to the case file {shown(logged['path'], limit=None)} (entry {logged['seq']}): "
            f"{shown(logged['why'], limit=None)}; merge it later with leaktrace case merge",
            markup=False,
        )


def _render_identification(result) -> None:
    colour = {
        "attributed": "bold red",
        "removed": "bold magenta",
        "inconclusive": "yellow",
        "unknown": "dim",
    }[result.verdict]
    out.print(Text.assemble("Verdict: ", (result.verdict, colour)))
    if result.asset is not None:
        out.print(f"Asset:   {shown(result.asset.id)}  {shown(result.asset.file_name)}")
    if result.recipient is not None:
        label = "Mark removed from the copy of:" if result.verdict == "removed" else "Copy of:"
        out.print(f"{label} {shown(result.recipient.id)} ({shown(result.recipient.name)})")
        out.print(
            f"Probability this is a coincidence: {_p(result.p_value)} (bound {result.threshold:.0e})",
            markup=False,
        )
        others = [c["id"] for c in result.significant[1:]]
        if others:
            out.print(
                f"Also significant (possible colluders): {shown(', '.join(others), limit=None)}"
            )
    if result.reason:
        out.print(f"Reason:  {shown(result.reason, limit=None)}")
    if result.candidates:
        table = Table(
            "recipient", "score (z)", "p (corrected)", title="Recipients tested, best first"
        )
        for candidate in result.candidates[:10]:
            table.add_row(
                shown(candidate["id"]), f"{candidate['score']:.2f}", _p(candidate["p_value"])
            )
        out.print(table)


@app.command()
def scan(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder of leaked files, scanned recursively.")
    ],
    as_json: JsonOption = False,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            metavar="DIR",
            help="Write an HTML evidence report per file (DIR/<file>.html) and DIR/index.html.",
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    max_false_accusation: MaxFalseAccusationOption = 1e-9,
    password: PdfPasswordOption = None,
) -> None:
    """Identify every image and PDF in a folder and sum up whose copies leaked.

    Images: jpg, jpeg, png, webp, tif, tiff, gif, bmp, heic, heif; and pdf. Hidden files and
    folders are skipped. A file that cannot be read is
    listed with the reason and does not stop the scan.

    --json prints one JSON object per line and file: identify --json's fields, or
    {"file", "verdict": "error", "error"} for a file that failed.

    Exit code 0 when every file was read and at least one was attributed, 7 when none was but a
    copy's mark was found deliberately removed, 4 when neither, 3 when some files failed (the
    others are reported).

    Example: leaktrace scan crawl/ --report-dir evidence/
    """
    from leaktrace import config
    from leaktrace.batch.executors import make_executor
    from leaktrace.batch.scan import scan_folder
    from leaktrace.registry.engines import is_url

    location = config.registry_location(state.registry_location)
    scheduler = config.scheduler_address(scheduler)
    if scheduler and not is_url(location):
        raise scheduler_needs_postgresql()
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(make_executor(scheduler=scheduler)) if scheduler else None
        results = _scan(
            scan_folder(
                location,
                config.key_from_environment(),
                folder,
                workers=workers or config.workers_default(),
                executor=executor,
                bound=max_false_accusation,
                report_dir=report_dir,
                password=config.pdf_password(password),
            ),
            as_json,
        )
    if not as_json:
        _render_scan(folder, results, report_dir)
    if any(result.failed for result in results):
        raise typer.Exit(EXIT_PARTIAL)
    if not any(result.verdict == "attributed" for result in results):
        if any(result.verdict == "removed" for result in results):
            raise typer.Exit(EXIT_MARK_REMOVED)
        raise typer.Exit(EXIT_NOT_ATTRIBUTED)


def _scan(run, as_json: bool) -> list:
    results = []
    try:
        with _progress(enabled=not as_json and out.is_terminal) as progress:
            task = progress.add_task("Identifying", total=run.total)
            for result in run:
                results.append(result)
                if as_json:
                    sys.stdout.write(json.dumps(result.record, default=str) + "\n")
                    sys.stdout.flush()
                progress.advance(task)
    finally:
        run.close()
    return results


def _progress(*, enabled: bool):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=True,
        disable=not enabled,
    )


def _render_scan(folder: Path, results: list, report_dir: Path | None) -> None:
    from rich.table import Column

    files = Table(
        Column("file", overflow="fold"),
        "verdict",
        "asset",
        "recipient",
        "p (corrected)",
        title=Text(f"Scan of {shown(folder, limit=None)}"),
    )
    per_recipient: dict[str, list] = {}
    per_verdict: dict[str, int] = {}
    notes = []
    for result in results:
        recipient, asset, p_value = result.recipient, result.asset, result.p_value
        files.add_row(
            shown_text(result.relative, limit=None),
            result.verdict,
            shown_text(asset["file"] if asset else "-"),
            shown_text(recipient["id"] if recipient else "-"),
            _p(p_value),
        )
        per_verdict[result.verdict] = per_verdict.get(result.verdict, 0) + 1
        if result.verdict == "attributed" and recipient:
            per_recipient.setdefault(recipient["id"], [recipient["name"], 0])[1] += 1
        if result.failed or result.verdict == "inconclusive":
            notes.append(f"{shown(result.relative, limit=None)}: {shown(result.note, limit=None)}")
    out.print(files)
    if notes:
        out.print("Failed or inconclusive, and why:")
        for note in notes:
            out.print(f"  {note}")
    if per_recipient:
        totals = Table("recipient", "name", "files attributed", title="Totals per recipient")
        for rid, (name, count) in sorted(per_recipient.items(), key=lambda kv: (-kv[1][1], kv[0])):
            totals.add_row(shown_text(rid), shown_text(name), str(count))
        out.print(totals)
    else:
        out.print("No file was attributed to any recipient.")
    counts = ", ".join(
        f"{per_verdict[v]} {'failed' if v == 'error' else v}" for v in VERDICTS if v in per_verdict
    )
    out.print(f"{len(results)} files: {counts}", markup=False)
    if report_dir is not None:
        out.print(f"Reports: {shown(report_dir / 'index.html', limit=None)}")
    logged = [r.record.get("logged") for r in results if isinstance(r.record.get("logged"), dict)]
    in_case = [entry for entry in logged if entry.get("to") == "case file"]
    if in_case:
        paths = ", ".join(sorted({shown(entry["path"], limit=None) for entry in in_case}))
        out.print(
            f"{len(in_case)} identifications logged to the case file {paths}: "
            f"{shown(in_case[0]['why'], limit=None)}; merge it later with leaktrace case merge",
            markup=False,
        )
