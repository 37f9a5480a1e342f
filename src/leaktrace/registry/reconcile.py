"""Reconciling the registry's records with its audit log.

The hash chain shows that no audit row was altered; this module shows that every recipient, asset
and copy still matches the audit row that recorded it, so editing a record in the database (an
output hash, a recipient's name) is caught too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leaktrace.registry.models import AuditReport

if TYPE_CHECKING:
    from leaktrace.registry.models import AuditEntry
    from leaktrace.registry.sql import SqlRegistry


# Reading the log in pages keeps memory flat on registries with millions of rows.
_AUDIT_PAGE = 5000

# For each audited action: the kind of record it created, and its audit field -> attribute names
# (the record's id first). Only these fields are in the audit row, so only they can be checked.
_AUDITED: dict[str, tuple[str, dict[str, str]]] = {
    "recipient added": ("recipient", {"id": "id", "name": "name"}),
    "asset added": (
        "asset",
        {"id": "id", "sha256": "sha256", "kind": "kind", "file_name": "file_name"},
    ),
    "copy recorded": (
        "copy",
        {
            "copy_id": "id",
            "asset_id": "asset_id",
            "recipient_id": "recipient_id",
            "output_sha256": "output_sha256",
            "output_name": "output_name",
        },
    ),
}
_FIELDS = {kind: fields for kind, fields in _AUDITED.values()}


@dataclass(frozen=True)
class Discrepancy:
    """A record that does not agree with the audit log; ``seq`` is the audit row concerned."""

    seq: int | None
    reason: str


def audit_entries(registry: SqlRegistry) -> Iterator[AuditEntry]:
    after = 0
    while True:
        page = registry.list_audit(after_seq=after, limit=_AUDIT_PAGE)
        yield from page
        if len(page) < _AUDIT_PAGE:
            return
        after = page[-1].seq


def reconcile(
    entries: Iterable[AuditEntry], records: dict[str, Iterable[Any]]
) -> Discrepancy | None:
    """The first record that disagrees with the audit log, or ``None`` when they all agree.

    Parameters
    ----------
    entries
        The audit log in ``seq`` order. Verify its hash chain first, or an edited row could vouch
        for an edited record.
    records
        Every record of the registry by kind: ``"recipient"``, ``"asset"`` and ``"copy"``.

    Returns
    -------
    Discrepancy or None
        The lowest audit row whose record was changed or deleted; failing that, a record that no
        audit row accounts for (``seq`` is ``None``: it was inserted behind leaktrace's back).
    """
    expected: dict[tuple[str, Any], tuple[int, dict[str, Any]]] = {}
    for entry in entries:
        if entry.action in _AUDITED:
            kind, fields = _AUDITED[entry.action]
            logged = {attr: entry.detail.get(name) for name, attr in fields.items()}
            if logged["id"] is not None:
                expected[(kind, logged["id"])] = (entry.seq, logged)
    found: list[Discrepancy] = []
    unaccounted: list[Discrepancy] = []
    for kind, items in records.items():
        for record in items:
            if (kind, record.id) not in expected:
                unaccounted.append(
                    Discrepancy(
                        None,
                        f"{kind} {record.id} has no audit row: it was added to the registry "
                        "outside leaktrace",
                    )
                )
                continue
            seq, logged = expected.pop((kind, record.id))
            changed = [
                attr for attr in _FIELDS[kind].values() if getattr(record, attr) != logged[attr]
            ]
            if changed:
                attr = changed[0]
                found.append(
                    Discrepancy(
                        seq,
                        f"audit row {seq}: {kind} {record.id} was changed after it was recorded: "
                        f"its {attr} is now {getattr(record, attr)!r:.80}, the audit row says "
                        f"{logged[attr]!r:.80}",
                    )
                )
    for (kind, key), (seq, _logged) in expected.items():
        found.append(
            Discrepancy(
                seq, f"audit row {seq}: {kind} {key} is missing from the registry: it was deleted"
            )
        )
    if found:
        return min(found, key=lambda d: d.seq)
    return unaccounted[0] if unaccounted else None


def check_audit_trail(registry: SqlRegistry) -> AuditReport:
    """Verify the hash chain, then that every record agrees with its audit row.

    Parameters
    ----------
    registry
        An open registry.

    Returns
    -------
    AuditReport
        ``ok`` only when both checks pass; otherwise the first broken row and why.
    """
    chain = registry.verify_audit()
    if not chain.ok:
        return chain
    discrepancy = reconcile(
        audit_entries(registry),
        {
            "recipient": registry.list_recipients(),
            "asset": registry.list_assets(),
            "copy": registry.list_copies(),
        },
    )
    if discrepancy is None:
        return chain
    return AuditReport(False, chain.rows, discrepancy.seq, discrepancy.reason)
