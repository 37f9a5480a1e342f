"""Marking copies, and rehearsing leaks of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leaktrace.cli.app import (
    EXIT_ERROR,
    EXIT_PARTIAL,
    EXIT_USAGE,
    JsonOption,
    app,
    err,
    fail,
    open_registry,
    out,
    print_json,
)


@app.command()
def mark(
    paths: Annotated[
        list[Path], typer.Argument(metavar="FILE_OR_DIR...", help="Images or folders of images.")
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
    as_json: JsonOption = False,
) -> None:
    """Write one invisibly marked copy of each file per recipient and record it.

    Example: leaktrace mark press-kit/ --all --out dist/
    """
    from leaktrace.api import mark_files

    if bool(to) == everyone:
        raise fail("give either --to SLUG (one or more) or --all", EXIT_USAGE)
    registry = open_registry()
    report = mark_files(registry, paths, out_dir, recipient_ids=None if everyone else to)
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
                    }
                    for c in report.copies
                ],
                "failures": [{"file": str(f), "error": message} for f, message in report.failures],
            }
        )
    else:
        table = Table("file", "recipient", "output", "sha256")
        for c in report.copies:
            table.add_row(str(c.source), c.recipient_id, str(c.output), c.sha256[:12] + "…")
        out.print(table)
        out.print(f"{len(report.copies)} marked copies written to {out_dir}", markup=False)
        for _source, message in report.failures:
            err.print(f"leaktrace: error: {message}", markup=False)
    if report.failures:
        raise typer.Exit(EXIT_PARTIAL if report.copies else EXIT_ERROR)


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="An image, e.g. a recipient's marked copy.")],
    attack: Annotated[
        str, typer.Option("--attack", help="Named leak simulation (see --list).")
    ] = "social1080",
    out_file: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Where to write the result.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random parts.")] = 0,
    list_attacks: Annotated[
        bool, typer.Option("--list", help="List the simulations and exit.")
    ] = False,
) -> None:
    """Rehearse a leak: apply a named repost, crop, screenshot or phone-photo simulation.

    Example: leaktrace simulate dist/auto-weekly/photo.jpg --attack social480 --out leak.jpg
    """
    from leaktrace.attacks import ATTACKS

    if list_attacks:
        table = Table("attack", "group", "what it does")
        for item in ATTACKS.values():
            table.add_row(item.name, item.group, item.description)
        out.print(table)
        return
    if attack not in ATTACKS:
        raise fail(f"unknown attack {attack!r}; see leaktrace simulate FILE --list", EXIT_USAGE)
    if out_file is None:
        raise fail("give --out FILE", EXIT_USAGE)
    from leaktrace.attacks import run_attack
    from leaktrace.formats.images import load_display_rgb, write_atomic

    data, _extension = run_attack(attack, load_display_rgb(file), seed=seed)
    write_atomic(out_file, data)
    out.print(f"Wrote {out_file} ({attack})", markup=False)
