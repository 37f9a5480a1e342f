"""Setting up: the registry, recipients and the list of assets."""

from __future__ import annotations

import sys
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
from leaktrace.cli.display import shown


@app.command()
def init(
    originals: Annotated[
        Path | None,
        typer.Option(
            "--originals",
            metavar="DIR",
            help="Where the originals are kept. Default: <registry>/originals for a folder "
            "registry; required for a PostgreSQL one (a path every user and worker reaches).",
        ),
    ] = None,
) -> None:
    """Create a registry: database, secret key (mode 0600) and store of originals.

    A folder registry gets a new key file unless $LEAKTRACE_KEY is set. A PostgreSQL registry
    (--registry postgresql://USER@HOST/DB) takes its key from $LEAKTRACE_KEY (see leaktrace
    keygen) and needs --originals DIR; the key is never stored in the database.

    Example: leaktrace --registry ./launch-registry init
    """
    from leaktrace.api import init_registry

    location = config.registry_location(state.registry_location)
    key = config.key_from_environment()
    registry = init_registry(
        location, key=key, originals_dir=None if originals is None else str(originals)
    )
    name, store = registry.location, registry.store.root
    registry.close()
    out.print(f"Created registry at {shown(name, limit=None)}")
    out.print(f"Originals are kept in {shown(store, limit=None)}")
    if key is None:
        out.print(
            f"Secret key written to {shown(Path(location) / 'key', limit=None)} (mode 0600): "
            "back it up and keep it secret."
        )
    else:
        out.print("The key came from $LEAKTRACE_KEY and is not stored: keep it in a secret store.")


@app.command()
def keygen(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write the key to FILE (mode 0600, never overwritten) instead of printing it.",
        ),
    ] = None,
) -> None:
    """Make a new random registry key (64 hex characters), e.g. for a CI secret.

    The only command that shows a key, on purpose: a new one, not yet any registry's. Set it as
    $LEAKTRACE_KEY before creating a PostgreSQL registry, and keep it in a secret store: without
    it no mark can be read.

    Example: leaktrace keygen --out leaktrace.key
    """
    from leaktrace.registry.keys import generate_key, write_key_file

    key = generate_key()
    if out_file is None:
        sys.stdout.write(key.hex() + "\n")
        return
    write_key_file(out_file, key)
    out.print(f"Wrote a new key to {out_file} (mode 0600): keep it secret.", markup=False)


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
    out.print(f"Added recipient {shown(recipient.id)} ({shown(recipient.name)})")


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
        table.add_row(shown(r.id), shown(r.name), shown(r.email or ""), shown(r.org or ""))
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
        table.add_row(
            shown(a.id),
            shown(a.file_name),
            a.kind,
            f"{a.width}x{a.height}" if a.width else "-",
            a.sha256[:16] + "…",
        )
    out.print(table)
