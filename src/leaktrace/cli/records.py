"""The distribution record: who received what, and whether the audit trail is intact.

``leaktrace audit`` checks two things. The hash chain (:meth:`SqlRegistry.verify_audit`) shows
that no audit row was changed, inserted or deleted before the last one. The chain covers only the
audit table, though: the ``recipients``, ``assets`` and ``copies`` tables could be edited without
breaking it. Every change to them is written to the audit log in the same transaction, so the
command also checks that each record still says what its audit row says, and that no record lacks
one. A broken trail exits with :data:`EXIT_AUDIT_BROKEN`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from leaktrace.cli.app import EXIT_AUDIT_BROKEN, JsonOption, app, open_registry, out, print_json
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
    as_json: JsonOption = False,
) -> None:
    """Check that the audit log is intact and that the records still agree with it.

    Every row must link to the one before (a hash chain), and every recipient, asset and copy must
    match the audit row that recorded it. Exit code 0 when intact, 5 when broken.

    Example: leaktrace audit --json
    """
    registry = open_registry()
    try:
        report = check_audit_trail(registry)
        entries = list(audit_entries(registry)) if show else []
    finally:
        registry.close()
    if as_json:
        payload: dict[str, Any] = {
            "ok": report.ok,
            "rows": report.rows,
            "first_broken_seq": report.first_broken_seq,
            "reason": report.reason,
        }
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
    if not report.ok:
        raise typer.Exit(EXIT_AUDIT_BROKEN)


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
