"""Investigating a leak."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leaktrace.cli.app import (
    EXIT_NOT_ATTRIBUTED,
    JsonOption,
    app,
    open_registry,
    out,
    print_json,
)


@app.command()
def identify(
    file: Annotated[Path, typer.Argument(help="The leaked image.")],
    as_json: JsonOption = False,
    max_false_accusation: Annotated[
        float,
        typer.Option(
            "--max-false-accusation",
            min=1e-300,
            max=0.5,
            help="Largest acceptable probability that the accusation is a coincidence.",
        ),
    ] = 1e-9,
) -> None:
    """Find which asset a leaked file shows and whose copy it is.

    Exit code 0 when a recipient is attributed, 4 when nobody is.
    Example: leaktrace identify leaked.jpg --json
    """
    from leaktrace.api import identify as run_identify

    result = run_identify(open_registry(), file, bound=max_false_accusation)
    if as_json:
        print_json(result.to_dict())
    else:
        _render_identification(result)
    if not result.attributed:
        raise typer.Exit(EXIT_NOT_ATTRIBUTED)


def _render_identification(result) -> None:
    colour = {"attributed": "bold red", "inconclusive": "yellow", "unknown": "dim"}[result.verdict]
    out.print(f"Verdict: [{colour}]{result.verdict}[/]")
    if result.asset is not None:
        out.print(f"Asset:   {result.asset.id}  {result.asset.file_name}", markup=False)
    if result.recipient is not None:
        out.print(f"Copy of: {result.recipient.id} ({result.recipient.name})", markup=False)
        out.print(
            f"Probability this is a coincidence: {result.p_value:.2e} (bound {result.threshold:.0e})",
            markup=False,
        )
        others = [c["id"] for c in result.significant[1:]]
        if others:
            out.print(f"Also significant (possible colluders): {', '.join(others)}", markup=False)
    if result.reason:
        out.print(f"Reason:  {result.reason}", markup=False)
    if result.candidates:
        table = Table(
            "recipient", "score (z)", "p (corrected)", title="Recipients tested, best first"
        )
        for candidate in result.candidates[:10]:
            table.add_row(
                candidate["id"], f"{candidate['score']:.2f}", f"{candidate['p_value']:.2e}"
            )
        out.print(table)
