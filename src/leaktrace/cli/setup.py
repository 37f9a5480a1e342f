"""Setting up: the registry, recipients and the list of assets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leaktrace import config
from leaktrace.cli.app import (
    JsonOption,
    app,
    assets_app,
    open_registry,
    out,
    print_json,
    recipients_app,
    state,
)


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

    registry = open_registry()
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

    added = import_recipients(open_registry(), csv_file)
    out.print(f"Imported {len(added)} recipients")


@recipients_app.command("list")
def recipients_list(as_json: JsonOption = False) -> None:
    """List recipients.

    Example: leaktrace recipients list --json
    """
    recipients = open_registry().list_recipients()
    if as_json:
        print_json(
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

    assets = list_assets(open_registry())
    if as_json:
        print_json(
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
