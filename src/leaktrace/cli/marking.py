"""Marking copies, and rehearsing leaks of them.

``mark`` exit codes: 0 copies were written (and nothing failed), 1 error (nothing marked),
3 some files failed (the others were marked and recorded), 6 nothing to do: every copy already
existed with its recorded SHA-256 (a rerun of a finished batch).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leaktrace import config
from leaktrace.cli.app import (
    ERROR_LENGTH,
    EXIT_ERROR,
    EXIT_NOTHING_TO_DO,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    JsonOption,
    PdfPasswordOption,
    SchedulerOption,
    WorkersOption,
    app,
    err,
    fail,
    open_registry,
    out,
    print_json,
    scheduler_needs_postgresql,
)
from leaktrace.cli.display import shown

# A human-readable table longer than this helps nobody: the summary line and --json do.
MAX_TABLE_ROWS = 200


@app.command()
def mark(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="FILE_OR_DIR...", help="Images, PDFs or folders of them."),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Write DIR/<recipient>/<file>.")
    ],
    to: Annotated[
        list[str] | None, typer.Option("--to", metavar="SLUG", help="Recipient id (repeatable).")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Mark for every recipient in the registry.")
    ] = False,
    recipients_csv: Annotated[
        Path | None,
        typer.Option(
            "--recipients",
            metavar="FILE.csv",
            help="Mark for exactly the recipients listed (header id,name,email,org); "
            "unknown ones are added first, all or nothing.",
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    password: PdfPasswordOption = None,
    receipts: Annotated[
        Path | None,
        typer.Option(
            "--receipts",
            metavar="DIR",
            help="Also write, per recipient, DIR/<recipient>.json and a printable "
            "DIR/<recipient>.html: each copy's file name, SHA-256 and commitment, to sign at "
            "handover.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write one invisibly marked copy of each file per recipient and record it.

    A copy that already exists with the SHA-256 recorded for it is skipped, so rerunning a batch
    only does what is missing, and what it writes again is byte-identical. --json prints the
    manifest: every copy (file, recipient, asset, output, sha256, status marked or skipped), the
    failures and the recipients added.

    Exit code 0 when copies were written, 6 when there was nothing to do (every copy already
    existed), 3 when some files failed (the others were marked and recorded), 1 on error.
    --receipts DIR lists every copy of the run, marked or skipped, per recipient.

    Example: leaktrace mark packet/ --recipients suppliers.csv --out dist/ --receipts receipts/
    """
    from leaktrace.api import collect_inputs, sync_recipients

    if sum((bool(to), everyone, recipients_csv is not None)) != 1:
        raise fail(
            "give one of --to SLUG (one or more), --all or --recipients FILE.csv", EXIT_USAGE
        )
    scheduler = config.scheduler_address(scheduler)
    workers = workers or config.workers_default()
    registry = open_registry()
    if scheduler and registry.backend != "postgresql":
        raise scheduler_needs_postgresql()
    collect_inputs(paths)  # before adding anyone: a typo in a path changes nothing
    added = []
    recipient_ids = to
    if recipients_csv is not None:
        listed, added = sync_recipients(registry, recipients_csv)
        recipient_ids = [r.id for r in listed]
    elif everyone:
        recipient_ids = None
    report = _run(
        registry,
        paths,
        out_dir,
        recipient_ids,
        workers,
        scheduler,
        as_json,
        config.pdf_password(password),
    )
    receipt_files = []
    if receipts is not None:
        from leaktrace.report.receipts import write_receipts

        receipt_files = write_receipts(registry, report.copies, receipts)
    if as_json:
        print_json(
            {
                "copies": [
                    {
                        "file": str(c.source),
                        "recipient": c.recipient_id,
                        "asset": c.asset_id,
                        "output": str(c.output),
                        "sha256": c.sha256,
                        "status": c.status,
                    }
                    for c in report.copies
                ],
                "failures": [{"file": str(f), "error": message} for f, message in report.failures],
                "recipients_added": [r.id for r in added],
                "receipts": [str(path) for path in receipt_files],
                "summary": {
                    "marked": len(report.marked),
                    "skipped": len(report.skipped),
                    "failed_files": len(report.failures),
                },
            }
        )
    else:
        _render(report, out_dir, added)
        if receipt_files:
            out.print(
                f"{len(receipt_files) // 2} receipts (JSON and HTML) written to "
                f"{shown(receipts, limit=None)}"
            )
    if report.failures:
        raise typer.Exit(EXIT_PARTIAL if report.copies else EXIT_ERROR)
    raise typer.Exit(EXIT_NOTHING_TO_DO if report.nothing_to_do else EXIT_OK)


def _run(registry, paths, out_dir, recipient_ids, workers, scheduler, as_json, password):
    from leaktrace.api import mark_files
    from leaktrace.batch.executors import make_executor

    with _progress(enabled=not as_json and err.is_terminal) as progress:
        task = progress.add_task("Marking", total=None)

        def advance(_copy) -> None:
            progress.advance(task)

        with contextlib.ExitStack() as stack:
            where = (
                {"executor": stack.enter_context(make_executor(scheduler=scheduler))}
                if scheduler
                else {"workers": workers}
            )
            return mark_files(
                registry,
                paths,
                out_dir,
                recipient_ids=recipient_ids,
                on_copy=advance,
                password=password,
                **where,
            )


def _progress(*, enabled: bool):
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        "{task.description}",
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled,
    )


def _render(report, out_dir: Path, added) -> None:
    if added:
        names = shown(", ".join(r.id for r in added), limit=None)
        out.print(f"Added {len(added)} recipients: {names}")
    if 0 < len(report.copies) <= MAX_TABLE_ROWS:
        table = Table("file", "recipient", "output", "sha256", "status")
        for c in report.copies:
            table.add_row(
                shown(c.source),
                shown(c.recipient_id),
                shown(c.output),
                c.sha256[:12] + "…",
                c.status,
            )
        out.print(table)
    marked, skipped = len(report.marked), len(report.skipped)
    if marked or not skipped:
        out.print(f"{marked} marked copies written to {shown(out_dir, limit=None)}")
    if skipped:
        out.print(f"{skipped} copies already done (skipped)", markup=False)
    for _source, message in report.failures:
        err.print(f"leaktrace: error: {shown(message, limit=ERROR_LENGTH)}")


@app.command()
def simulate(
    file: Annotated[
        Path,
        typer.Argument(
            help="An image, a video or a text document, e.g. a recipient's marked copy."
        ),
    ],
    attack: Annotated[
        str | None,
        typer.Option(
            "--attack",
            help="Named leak simulation (see --list); default social1080, crf23 or retype.",
        ),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Where to write the result.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random parts.")] = 0,
    list_attacks: Annotated[
        bool, typer.Option("--list", help="List the simulations and exit.")
    ] = False,
) -> None:
    """Rehearse a leak: apply a named repost, crop, screenshot or phone-photo simulation.

    A video (MP4, MOV, M4V, MKV, WebM) takes the video simulations: H.264 re-encodes,
    downscales, trims, 24 fps, speed-up, crop, 9:16 story, stickers, screen and phone
    recordings (written as .mp4), one frame as a JPEG (.jpg). A text document (.txt, .md,
    .html, .docx) takes the text simulations: retyping, quotes of 50 to 500 words, dropped and
    reordered sentences, paraphrase, a screenshot.

    Example: leaktrace simulate dist/auto-weekly/photo.jpg --attack social480 --out leak.jpg

    Example: leaktrace simulate dist/auto-weekly/teaser.mp4 --attack trim5 --out clip.mp4

    Example: leaktrace simulate dist/auto-weekly/briefing.md --attack quote200 --out quote.txt
    """
    from leaktrace.media.text.medium import TEXT_SUFFIXES
    from leaktrace.simulate import ATTACKS
    from leaktrace.simulate.text import TEXT_ATTACKS
    from leaktrace.simulate.video import VIDEO_ATTACKS

    if list_attacks:
        table = Table("attack", "group", "what it does")
        for item in [*ATTACKS.values(), *VIDEO_ATTACKS.values(), *TEXT_ATTACKS.values()]:
            table.add_row(item.name, item.group, item.description)
        out.print(table)
        return
    if _is_video(file):
        _simulate_video(file, attack or "crf23", out_file, seed)
        return
    if file.suffix.lower() in TEXT_SUFFIXES:
        _refuse_video_attack(file, attack)
        _simulate_text(file, attack or "retype", out_file, seed)
        return
    attack = attack or "social1080"
    _refuse_video_attack(file, attack)
    if attack not in ATTACKS:
        raise fail(f"unknown attack {attack!r}; see leaktrace simulate FILE --list", EXIT_USAGE)
    if out_file is None:
        raise fail("give --out FILE", EXIT_USAGE)
    from leaktrace.fsutil import write_atomic
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.simulate import run_attack

    data, _extension = run_attack(attack, load_display_rgb(file), seed=seed)
    write_atomic(out_file, data)
    out.print(f"Wrote {shown(out_file, limit=None)} ({attack})")


# What --out may be called for each kind of video leak: the writer's format follows the attack,
# and identify refuses a file whose extension names another format.
_VIDEO_OUT_SUFFIXES = {".mp4": (".mp4", ".m4v", ".mov", ".mkv"), ".jpg": (".jpg", ".jpeg")}


def _is_video(file: Path) -> bool:
    """The video medium's own test: a video container by content, or a video's extension."""
    from leaktrace.media.video import VideoMedium

    try:
        with file.open("rb") as handle:
            head = handle.read(64)
    except OSError:
        head = b""
    return VideoMedium().claims(file, head)


def _refuse_video_attack(file: Path, attack: str | None) -> None:
    from leaktrace.simulate.video import VIDEO_ATTACKS

    if attack in VIDEO_ATTACKS:
        raise fail(
            f"{attack!r} simulates a video leak but {shown(file)} is not a video; "
            "see leaktrace simulate FILE --list",
            EXIT_USAGE,
        )


def _simulate_video(file: Path, attack: str, out_file: Path | None, seed: int) -> None:
    from leaktrace.simulate.video import VIDEO_ATTACKS, run_video_attack

    if attack not in VIDEO_ATTACKS:
        raise fail(
            f"{attack!r} is not a video simulation ({shown(file)} is a video); choose one of "
            f"{', '.join(VIDEO_ATTACKS)}",
            EXIT_USAGE,
        )
    if out_file is None:
        raise fail("give --out FILE", EXIT_USAGE)
    extension = VIDEO_ATTACKS[attack].extension
    if out_file.suffix.lower() not in _VIDEO_OUT_SUFFIXES[extension]:
        kind = "a JPEG picture" if extension == ".jpg" else "an H.264 video"
        raise fail(f"{attack} writes {kind}: name --out FILE with {extension}", EXIT_USAGE)
    run_video_attack(attack, file, out_file, seed=seed)
    out.print(f"Wrote {shown(out_file, limit=None)} ({attack})")


def _simulate_text(file: Path, attack: str, out_file: Path | None, seed: int) -> None:
    from leaktrace.errors import InputError
    from leaktrace.fsutil import write_atomic
    from leaktrace.simulate.text import TEXT_ATTACKS, run_text_attack

    if attack not in TEXT_ATTACKS:
        raise fail(
            f"unknown text attack {attack!r}; see leaktrace simulate FILE --list", EXIT_USAGE
        )
    if out_file is None:
        raise fail("give --out FILE", EXIT_USAGE)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read ({exc.strerror or exc})") from exc
    leaked, _extension = run_text_attack(attack, file, data, seed=seed)
    write_atomic(out_file, leaked)
    out.print(f"Wrote {shown(out_file, limit=None)} ({attack})")
