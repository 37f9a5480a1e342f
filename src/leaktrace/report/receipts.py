"""Receipts: per recipient, what they were handed — each copy's file name, SHA-256 and public
commitment — as JSON and as a printable HTML page, for the recipient to sign or countersign at
handover.

The commitment on a signed receipt is what an arbitrator later checks an evidence case against
(``leaktrace evidence verify``): it fixes, before any leak, which code that copy carries, so the
company cannot choose a code afterwards to fit a leak.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from leaktrace import __version__
from leaktrace.errors import OutputError
from leaktrace.fsutil import write_atomic

__all__ = ["RECEIPT_FORMAT", "receipt_payloads", "write_receipts"]

RECEIPT_FORMAT = "leaktrace-receipt"
EXPLANATION = (
    "Each commitment is a SHA-256 hash that fixes the hidden code carried by that copy. It "
    "reveals nothing about the code, about other recipients' copies or about the company's key. "
    "If a leak is ever attributed to one of these copies, the company must reveal that copy's "
    "code and nonce; anyone can then check that they hash to the commitment printed here."
)


def receipt_payloads(registry, copies: Iterable) -> dict[str, dict]:
    """The receipt of every recipient among ``copies`` (``MarkedCopy``-like: ``recipient_id``,
    ``output``, ``sha256``, ``source``), by recipient id, in the order the copies come."""
    copies = list(copies)
    rids = list(dict.fromkeys(c.recipient_id for c in copies))
    if not rids:
        return {}
    recorded: dict[tuple[str, str], list] = {}
    for record in registry.list_copies(recipient_ids=rids):
        recorded.setdefault((record.recipient_id, record.output_sha256), []).append(record)
    people = {r.id: r for r in registry.get_recipients(rids)}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    receipts: dict[str, dict] = {}
    for rid in rids:
        person = people[rid]
        receipts[rid] = {
            "format": RECEIPT_FORMAT,
            "version": 1,
            "recipient": {
                "id": person.id,
                "name": person.name,
                "org": person.org,
                "email": person.email,
            },
            "registry": registry.registry_fingerprint,
            "issued_at": now,
            "copies": [],
            "explanation": EXPLANATION,
            "tool_version": __version__,
        }
    for c in copies:
        records = recorded.get((c.recipient_id, c.sha256), [])
        marks = [
            {"asset": r.asset_id, "key_id": r.key_id, "commitment": r.commitment}
            for r in records
            if r.commitment is not None
        ]
        receipts[c.recipient_id]["copies"].append(
            {
                "file": Path(c.output).name,
                "path": str(Path(c.output)),
                "source": Path(c.source).name,
                "sha256": c.sha256,
                "marked_at": min(
                    (r.created_at for r in records if r.created_at is not None), default=None
                ),
                "commitments": marks,
            }
        )
    for receipt in receipts.values():
        for line in receipt["copies"]:
            at = line["marked_at"]
            line["marked_at"] = at.isoformat(timespec="seconds") if at is not None else None
    return receipts


def _html(receipt: dict) -> str:
    from leaktrace.report.render import environment

    return environment().get_template("receipt.html.j2").render(r=receipt, version=__version__)


def write_receipts(registry, copies: Iterable, folder: str | Path) -> list[Path]:
    """Write ``FOLDER/<recipient>.json`` and ``FOLDER/<recipient>.html`` for every recipient
    among ``copies``, each atomically; returns the files written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create folder ({exc.strerror or exc})") from exc
    written = []
    for rid, receipt in receipt_payloads(registry, copies).items():
        text = json.dumps(receipt, indent=2, ensure_ascii=False) + "\n"
        write_atomic(folder / f"{rid}.json", text.encode("utf-8"))
        write_atomic(folder / f"{rid}.html", _html(receipt).encode("utf-8"))
        written += [folder / f"{rid}.json", folder / f"{rid}.html"]
    return written
