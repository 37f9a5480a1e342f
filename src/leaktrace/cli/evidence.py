"""Evidence an arbitrator can check: ``evidence export`` (with the registry and key) and
``evidence verify`` (with neither)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from leaktrace.cli.app import (
    EXIT_NOT_CONFIRMED,
    JsonOption,
    app,
    fail,
    open_registry,
    out,
    print_json,
)
from leaktrace.cli.display import shown

evidence_app = typer.Typer(
    help="Evidence cases an arbitrator can verify without the registry or its key.",
    no_args_is_help=True,
)
app.add_typer(evidence_app, name="evidence")


@evidence_app.command("export")
def export(
    leak: Annotated[Path, typer.Argument(help="The leaked image that was attributed.")],
    out_file: Annotated[
        Path, typer.Option("--out", metavar="FILE.zip", help="Write the case here.")
    ],
    result_file: Annotated[
        Path | None,
        typer.Option(
            "--result",
            metavar="FILE.json",
            help="The leak's identify --json output; without it the leak is identified now.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Pack an attributed identification into a case file for a third party.

    The case holds the leak, the original, the accused copy's opening (its code, its asset's
    pattern seeds and its nonce: that copy's only, never the key or another recipient's code),
    the commitment recorded at marking, the registration, the bound, the decoys and the
    Bonferroni count, the audit rows involved with their chain links, and the tool version.
    Images only for now.

    Example: leaktrace evidence export leak.jpg --out case.zip
    """
    from leaktrace.api import export_evidence

    options = {}
    if result_file is not None:
        try:
            options["result"] = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise fail(f"{result_file}: not an identify --json result ({exc})") from None
        if not isinstance(options["result"], dict):
            raise fail(f"{result_file}: not an identify --json result")
    registry = open_registry()
    data = export_evidence(registry, leak, out_file, **options)
    if as_json:
        print_json({"case": str(out_file), "copy": data["copy"], "audit_rows": len(data["audit"])})
        return
    copy = data["copy"]
    out.print(f"Evidence case written to {shown(out_file, limit=None)}", markup=False)
    out.print(
        f"Copy of {shown(copy['asset'])} for {shown(copy['recipient'])}, commitment "
        f"{copy['commitment']}; {len(data['audit'])} audit rows",
        markup=False,
    )


@evidence_app.command("verify")
def verify(
    case: Annotated[Path, typer.Argument(metavar="CASE.zip", help="An evidence case.")],
    decoys: Annotated[
        int,
        typer.Option("--decoys", min=64, max=1_000_000, help="Fresh decoy codes to draw."),
    ] = 2048,
    as_json: JsonOption = False,
) -> None:
    """Check an evidence case with no registry and no key; one verdict.

    Checks that the revealed opening hashes to the commitment recorded at marking, registers the
    leak onto the original again, scores the revealed code with fresh decoys of its own and
    compares the score with the recorded one (within the stated tolerance) and the p-value
    with the bound. Exit code 0 when confirmed, 8 when not (the reason is printed), 1 when the
    file is not a readable case.

    Example: leaktrace evidence verify case.zip
    """
    from leaktrace.api import verify_evidence

    verdict = verify_evidence(case, decoys=decoys)
    if as_json:
        print_json(verdict.to_dict())
    else:
        for check in verdict.checks:
            mark = "ok  " if check["ok"] else "FAIL"
            out.print(
                f"{mark} {check['check']:<13} {shown(check['detail'], limit=None)}", markup=False
            )
        if verdict.confirmed:
            copy = verdict.copy or {}
            out.print(
                f"CONFIRMED: the leak was made from the copy of asset {shown(copy.get('asset'))} "
                f"given to {shown(copy.get('recipient'))} (z = {verdict.score:.2f}, within "
                f"±{verdict.tolerance:.2f} of the recorded {verdict.recorded_score:.2f}; "
                f"p = {verdict.p_value:.3g} <= {verdict.bound:.0e}). This identifies a copy, "
                "not who published it.",
                markup=False,
            )
        else:
            out.print(f"NOT CONFIRMED: {shown(verdict.reason, limit=None)}", markup=False)
    if not verdict.confirmed:
        raise typer.Exit(EXIT_NOT_CONFIRMED)
