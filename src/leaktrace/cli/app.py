"""Commands: parse arguments, call one library function, render the result.

Exit codes (also in README.md):

====  ==========================================================
0     success; for ``identify``: a recipient was attributed
1     error (bad input, registry problem, ...): one line on stderr
2     usage error (unknown option, missing argument)
3     ``mark``: some files could not be marked (the others were)
4     ``identify`` ran but attributed nobody (inconclusive/unknown)
====  ==========================================================
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from leaktrace import __version__, config
from leaktrace.errors import LeaktraceError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_NOT_ATTRIBUTED = 0, 1, 2, 3, 4

err = Console(stderr=True, highlight=False, soft_wrap=True)


class _ErrorMappingGroup(TyperGroup):
    """Turns library errors into one line on stderr and exit code 1, in one place."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LeaktraceError as exc:
            if config.debug_enabled():
                raise
            err.print(f"leaktrace: error: {exc}", markup=False)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            err.print(
                "leaktrace: interrupted: finished copies are recorded; rerun to complete the batch"
            )
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_ErrorMappingGroup,
    name="leaktrace",
    help="Give every recipient an invisibly marked copy, then prove whose copy leaked.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
recipients_app = typer.Typer(
    help="Manage the people and organisations who receive copies.", no_args_is_help=True
)
assets_app = typer.Typer(help="List the registered originals.", no_args_is_help=True)
app.add_typer(recipients_app, name="recipients")
app.add_typer(assets_app, name="assets")

out = Console(highlight=False, soft_wrap=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON only, on stdout.")
]


class State:
    registry_location: str | None = None


state = State()


def _version(value: bool) -> None:
    if value:
        out.print(f"leaktrace {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            metavar="DIR_OR_URL",
            help="Registry folder (or database URL). Default: $LEAKTRACE_REGISTRY, then ./.leaktrace",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Give every recipient an invisibly marked copy, then prove whose copy leaked.

    Example: leaktrace init && leaktrace recipients add "Auto Weekly" && leaktrace mark photo.jpg --all --out dist/
    """
    state.registry_location = registry


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    err.print(f"leaktrace: error: {message}", markup=False)
    return typer.Exit(code)


def _open():
    from leaktrace.api import open_registry

    return open_registry(
        config.registry_location(state.registry_location), key=config.key_from_environment()
    )


def _print_json(payload) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


# ------------------------------------------------------------------------------------ commands


@app.command()
def init() -> None:
    """Create a registry: database, secret key (mode 0600) and store of originals.

    Example: leaktrace --registry ./launch-registry init
    """
    from leaktrace.api import init_registry

    location = config.registry_location(state.registry_location)
    registry = init_registry(location, key=config.key_from_environment())
    registry.close()
    out.print(f"Created registry at {location}")
    if config.key_from_environment() is None:
        out.print(
            f"Secret key written to {Path(location) / 'key'} (mode 0600): back it up and keep it secret."
        )


@recipients_app.command("add")
def recipients_add(
    name: Annotated[str, typer.Argument(help="Display name, e.g. 'Auto Weekly'.")],
    recipient_id: Annotated[
        str | None,
        typer.Option("--id", metavar="SLUG", help="Stable id (default: made from NAME)."),
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="Contact e-mail.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation.")] = None,
) -> None:
    """Add one recipient.

    Example: leaktrace recipients add "Auto Weekly" --id auto-weekly --org "Weekly Media"
    """
    from leaktrace.api import add_recipient

    registry = _open()
    recipient = add_recipient(registry, name, recipient_id=recipient_id, email=email, org=org)
    out.print(f"Added recipient {recipient.id} ({recipient.name})", markup=False)


@recipients_app.command("import")
def recipients_import(
    csv_file: Annotated[
        Path, typer.Argument(metavar="FILE.csv", help="CSV with header id,name,email,org.")
    ],
) -> None:
    """Add every recipient of a CSV file (all or nothing).

    Example: leaktrace recipients import suppliers.csv
    """
    from leaktrace.api import import_recipients

    added = import_recipients(_open(), csv_file)
    out.print(f"Imported {len(added)} recipients")


@recipients_app.command("list")
def recipients_list(as_json: JsonOption = False) -> None:
    """List recipients.

    Example: leaktrace recipients list --json
    """
    recipients = _open().list_recipients()
    if as_json:
        _print_json(
            [{"id": r.id, "name": r.name, "email": r.email, "org": r.org} for r in recipients]
        )
        return
    table = Table("id", "name", "email", "org")
    for r in recipients:
        table.add_row(r.id, r.name, r.email or "", r.org or "")
    out.print(table)


@assets_app.command("list")
def assets_list(as_json: JsonOption = False) -> None:
    """List registered assets (originals).

    Example: leaktrace assets list
    """
    from leaktrace.api import list_assets

    assets = list_assets(_open())
    if as_json:
        _print_json(
            [
                {
                    "id": a.id,
                    "file": a.file_name,
                    "kind": a.kind,
                    "sha256": a.sha256,
                    "width": a.width,
                    "height": a.height,
                    "created_at": a.created_at.isoformat() if a.created_at else None,
                }
                for a in assets
            ]
        )
        return
    table = Table("id", "file", "kind", "size", "sha256")
    for a in assets:
        table.add_row(a.id, a.file_name, a.kind, f"{a.width}x{a.height}", a.sha256[:16] + "…")
    out.print(table)


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
    registry = _open()
    report = mark_files(registry, paths, out_dir, recipient_ids=None if everyone else to)
    if as_json:
        _print_json(
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

    result = run_identify(_open(), file, bound=max_false_accusation)
    if as_json:
        _print_json(result.to_dict())
    else:
        _render_identification(result)
    if not result.attributed:
        raise typer.Exit(EXIT_NOT_ATTRIBUTED)


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


# ------------------------------------------------------------------------------------- entry


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv)
