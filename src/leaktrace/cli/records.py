"""The distribution record: who received what, and whether the audit trail is intact.

``leaktrace audit`` checks two things. The keyed hash chain (:meth:`SqlRegistry.verify_audit`)
shows that no audit row was changed, inserted or deleted before the last one, and cannot be rebuilt
after an edit without the registry key. The chain covers only the audit table, though: the
``recipients``, ``assets``, ``copies`` and ``keys`` tables could be edited without breaking it.
Every change to them is written to the audit log in the same transaction, so the command also
checks that each record still says what its audit row says, and that no record lacks one. A
signed head (``--export``) pins the log as it is, so that a later ``--against`` shows it was
neither cut short nor replaced. A broken trail exits with :data:`EXIT_AUDIT_BROKEN`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from leaktrace.cli.app import (
    EXIT_AUDIT_BROKEN,
    JsonOption,
    app,
    fail,
    open_registry,
    out,
    print_json,
)
from leaktrace.cli.display import shown, shown_text
from leaktrace.registry.reconcile import audit_entries, check_audit_trail

if TYPE_CHECKING:  # the registry pulls in SQLAlchemy: keep `leaktrace --help` quick
    from leaktrace.registry.models import AuditReport

#: ``leaktrace audit`` found the audit chain broken, or a record that disagrees with it.

copies_app = typer.Typer(
    help="Show the distribution record: which recipient received which copy, and when.\n\n"
    "Example: leaktrace copies list --recipient auto-weekly",
    no_args_is_help=True,
)
app.add_typer(copies_app, name="copies")


@app.command()
def audit(
    show: Annotated[
        bool, typer.Option("--show", help="Also print every row of the audit log.")
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            metavar="FILE",
            help="After a successful check, write the signed head of the log to FILE (new): "
            "keep it elsewhere, to prove later that the log was not cut short or replaced.",
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            metavar="FILE",
            help="Also prove that the log still extends the head in FILE (from --export).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check that the audit log is intact and that the records still agree with it.

    Every row must link to the one before under the registry's key (a keyed hash chain), and
    every recipient, asset, copy and key must match the audit row that recorded it. Exit code 0
    when intact, 5 when broken (or when the log no longer extends the --against head), 1 when a
    key it needs is missing or a head file is unusable.

    Example: leaktrace audit --export head-2025-06-30.json
    """
    from leaktrace.registry.head import check_head, export_head, parse_head

    head_text = _read_head(against) if against is not None else None
    registry = open_registry()
    try:
        report = check_audit_trail(registry)
        checked = None
        if head_text is not None:
            checked = check_head(registry, parse_head(head_text, str(against)), str(against))
        intact = report.ok and (checked is None or checked.ok)
        head = export_head(registry) if export is not None and intact else None
        entries = list(audit_entries(registry)) if show else []
    finally:
        registry.close()
    if head is not None:
        _write_head(export, head)
    if as_json:
        payload: dict[str, Any] = {
            "ok": report.ok,
            "rows": report.rows,
            "first_broken_seq": report.first_broken_seq,
            "reason": report.reason,
        }
        if checked is not None:
            payload["against"] = {
                "ok": checked.ok,
                "seq": checked.seq,
                "head_hash": checked.head_hash,
                "reason": checked.reason,
            }
        if export is not None:
            payload["exported"] = None if head is None else {"file": str(export), **head}
        if show:
            payload["entries"] = [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(timespec="microseconds"),
                    "action": e.action,
                    "detail": e.detail,
                    "row_hash": e.row_hash,
                }
                for e in entries
            ]
        print_json(payload)
    else:
        if show:
            table = Table("seq", "time", "action", "detail")
            for e in entries:
                detail = json.dumps(e.detail, sort_keys=True, ensure_ascii=False)
                table.add_row(
                    str(e.seq),
                    e.at.isoformat(timespec="seconds"),
                    shown_text(e.action),
                    shown_text(detail, limit=None),
                )
            out.print(table)
        _render_report(report)
        if checked is not None:
            _render_check(checked, against)
        if export is not None:
            _render_export(export, head)
    if not intact:
        raise typer.Exit(EXIT_AUDIT_BROKEN)


def _read_head(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(
            f"cannot read the head file {shown(path, limit=None)}: {exc.strerror or exc}"
        ) from None


def _write_head(path: Path, head: dict[str, Any]) -> None:
    from leaktrace.registry.files import write_new_file

    try:  # evidence, not a secret: readable by others, never overwritten
        write_new_file(path, (json.dumps(head, indent=2) + "\n").encode("utf-8"), mode=0o644)
    except FileExistsError:
        raise fail(
            f"{shown(path, limit=None)} already exists: refusing to overwrite a head file"
        ) from None
    except OSError as exc:
        raise fail(
            f"cannot write the head file {shown(path, limit=None)}: {exc.strerror or exc}"
        ) from None


def _grouped(digest: str) -> str:
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def _render_check(checked, path: Path | None) -> None:
    if checked.ok:
        out.print(
            f"The log still extends the head in {shown(path, limit=None)}: row {checked.seq} has its hash.",
            markup=False,
        )
        return
    out.print(f"The log no longer extends the head in {shown(path, limit=None)}.", markup=False)
    out.print(f"Reason: {shown(checked.reason, limit=None)}", markup=False)


def _render_export(path: Path, head: dict[str, Any] | None) -> None:
    if head is None:
        out.print(
            f"No head was written to {shown(path, limit=None)}: the audit trail is not intact.",
            markup=False,
        )
        return
    out.print(
        f"Signed head written to {shown(path, limit=None)}: row {head['seq']} of {head['rows']}, "
        f"registry {head['registry']}, key {head['key_id']}.",
        markup=False,
    )
    out.print(f"Head hash: {head['head_hash']}", markup=False)
    out.print(f"Read out:  {_grouped(head['head_hash'])}", markup=False)


def _render_report(report: AuditReport) -> None:
    if report.ok:
        out.print(
            Text.assemble(
                "Audit log ",
                ("intact", "green"),
                f": {report.rows} rows, each linked to the one before; "
                "recipients, assets and copies agree with it.",
            )
        )
        return
    where = "none (a record has no audit row)"
    if report.first_broken_seq is not None:
        where = f"seq {report.first_broken_seq}"
    out.print(
        Text.assemble("Audit log ", ("BROKEN", "bold red"), f" ({report.rows} rows checked).")
    )
    out.print(f"First broken row: {where}")
    out.print(f"Reason: {shown(report.reason, limit=None)}")


# ------------------------------------------------------------------------------------- copies


def _name(record: Any, attr: str = "name") -> str | None:
    # None when the record is gone: `leaktrace audit` reports that, listing should not crash.
    return getattr(record, attr) if record is not None else None


def _two_lines(first: str | None, second: str | None) -> Text:
    text = shown_text(first)
    text.append("\n")
    text.append(shown_text(second, style="dim"))
    return text


@copies_app.command("list")
def copies_list(
    asset_id: Annotated[
        str | None, typer.Option("--asset", metavar="ID", help="Only copies of this asset.")
    ] = None,
    recipient_id: Annotated[
        str | None,
        typer.Option("--recipient", metavar="SLUG", help="Only copies given to this recipient."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List who received which marked copy, in the order they were made.

    Example: leaktrace copies list --asset 74139dcfd87ccd42 --json
    """
    registry = open_registry()
    try:
        # Look up only what the filters name: a registry may hold 10^5 recipients.
        if asset_id is not None:
            assets = {asset_id: registry.get_asset(asset_id)}
        else:
            assets = {a.id: a for a in registry.list_assets()}
        if recipient_id is not None:
            recipients = {recipient_id: registry.get_recipient(recipient_id)}
        else:
            recipients = {r.id: r for r in registry.list_recipients()}
        copies = registry.list_copies(asset_id=asset_id, recipient_id=recipient_id)
    finally:
        registry.close()
    rows = [
        {
            "id": c.id,
            "asset": {"id": c.asset_id, "file": _name(assets.get(c.asset_id), "file_name")},
            "recipient": {"id": c.recipient_id, "name": _name(recipients.get(c.recipient_id))},
            "output_name": c.output_name,
            "output_sha256": c.output_sha256,
            "created_at": c.created_at.isoformat(timespec="seconds") if c.created_at else None,
        }
        for c in copies
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        filtered = asset_id is not None or recipient_id is not None
        out.print("No copies match the filters." if filtered else "No copies recorded yet.")
        return
    # Two lines per cell keep the table readable in 80 columns; --json has every field in full.
    table = Table("recipient", "asset", "copy", show_lines=True)
    table.add_column("time (UTC)", no_wrap=True)
    for c, row in zip(copies, rows, strict=True):
        when = c.created_at.strftime("%Y-%m-%d %H:%M:%S") if c.created_at else ""
        table.add_row(
            _two_lines(c.recipient_id, row["recipient"]["name"]),
            _two_lines(row["asset"]["file"], c.asset_id),
            _two_lines(c.output_name, c.output_sha256[:16] + "…"),
            Text(when),
        )
    out.print(table)
    out.print(f"{len(rows)} {'copy' if len(rows) == 1 else 'copies'}", markup=False)
