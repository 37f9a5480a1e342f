"""Reconciling the registry's records with its audit log.

The keyed chain shows that no audit row was altered; this module shows that every recipient, asset,
copy and key still matches the audit row that recorded it, so editing a record in the database (an
output hash, a recipient's name, a copy's cached code, commitment or key id, a key's fingerprint)
is caught too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leaktrace.registry.models import AuditReport

if TYPE_CHECKING:
    from leaktrace.registry.models import AuditEntry
    from leaktrace.registry.sql import SqlRegistry


# Reading the log in pages keeps memory flat on registries with millions of rows.
_AUDIT_PAGE = 5000


class _Unchecked:
    """The value of a field that an old audit row did not record: it cannot be checked."""

    def __repr__(self) -> str:
        return "unrecorded"


UNCHECKED = _Unchecked()


def _code_sha256(copy: Any) -> str | None:
    return None if copy.code is None else hashlib.sha256(copy.code).hexdigest()


@dataclass(frozen=True)
class _Field:
    """How one audit field is checked: the record's value, what an audit row that predates the
    field implies, and how a message names it."""

    value: Callable[[Any], Any]
    missing: Any = UNCHECKED
    name: str = ""


def _attr(name: str, missing: Any = UNCHECKED, shown: str = "") -> _Field:
    return _Field(lambda record: getattr(record, name), missing, shown or name)


_COPY_FIELDS = {
    "copy_id": _attr("id"),
    "asset_id": _attr("asset_id"),
    "recipient_id": _attr("recipient_id"),
    "output_sha256": _attr("output_sha256"),
    "output_name": _attr("output_name"),
    # Copies recorded before keys had ids were all made with key 1, and had no commitment.
    "key_id": _attr("key_id", 1),
    "commitment": _attr("commitment", None),
    # Rows before schema version 3 did not record the code: the upgrade pinned the codes then
    # cached in "copy codes attested" rows, which fill this in (see below).
    "code_sha256": _Field(_code_sha256, UNCHECKED, "cached code (its SHA-256)"),
}
_KEY_FIELDS = {"key_id": _attr("id"), "key_fingerprint": _attr("fingerprint")}

# For each audited action: the kind of record it created, and its audit fields (the id first).
_AUDITED: dict[str, tuple[str, dict[str, _Field]]] = {
    "recipient added": ("recipient", {"id": _attr("id"), "name": _attr("name")}),
    "asset added": (
        "asset",
        {
            "id": _attr("id"),
            "sha256": _attr("sha256"),
            "kind": _attr("kind"),
            "file_name": _attr("file_name"),
        },
    ),
    "copy recorded": ("copy", _COPY_FIELDS),
    # Key 1 is recorded when the registry is created (or its chain keyed by the upgrade to
    # schema version 3), every later key by the row that rotated to it.
    "registry created": ("key", _KEY_FIELDS),
    "audit chain keyed": ("key", _KEY_FIELDS),
    "key rotated": ("key", _KEY_FIELDS),
}
_ATTESTED = "copy codes attested"


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
        Every record of the registry by kind: ``"recipient"``, ``"asset"``, ``"copy"`` and
        ``"key"``.

    Returns
    -------
    Discrepancy or None
        The lowest audit row whose record was changed or deleted; failing that, a record that no
        audit row accounts for (``seq`` is ``None``: it was inserted behind leaktrace's back).
    """
    expected: dict[tuple[str, Any], tuple[int, dict[str, Any]]] = {}
    vouched: dict[tuple[str, Any, str], int] = {}  # a field vouched for by a later row
    for entry in entries:
        if entry.action in _AUDITED:
            kind, fields = _AUDITED[entry.action]
            first = next(iter(fields))
            if entry.detail.get(first) is None:
                continue  # e.g. a "registry created" row from before keys had ids
            logged = {name: entry.detail.get(name, spec.missing) for name, spec in fields.items()}
            expected[(kind, logged[first])] = (entry.seq, logged)
        elif entry.action == _ATTESTED:
            for copy_id, digest in entry.detail.get("copies", []):
                slot = expected.get(("copy", copy_id))
                if slot is not None and slot[1]["code_sha256"] is UNCHECKED:
                    slot[1]["code_sha256"] = digest
                    vouched[("copy", copy_id, "code_sha256")] = entry.seq
    found: list[Discrepancy] = []
    unaccounted: list[Discrepancy] = []
    for kind, items in records.items():
        fields = _FIELDS[kind]
        first = next(iter(fields))
        for record in items:
            record_id = fields[first].value(record)
            if (kind, record_id) not in expected:
                unaccounted.append(
                    Discrepancy(
                        None,
                        f"{kind} {record_id} has no audit row: it was added to the registry "
                        "outside leaktrace",
                    )
                )
                continue
            seq, logged = expected.pop((kind, record_id))
            for name, spec in fields.items():
                if logged[name] is UNCHECKED:
                    continue
                now = spec.value(record)
                if now != logged[name]:
                    where = vouched.get((kind, record_id, name), seq)
                    found.append(
                        Discrepancy(
                            where,
                            f"audit row {where}: {kind} {record_id} was changed after it was "
                            f"recorded: its {spec.name} is now {now!r:.80}, the audit row says "
                            f"{logged[name]!r:.80}",
                        )
                    )
                    break
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
            "key": registry.list_keys(),
        },
    )
    if discrepancy is None:
        return chain
    return AuditReport(False, chain.rows, discrepancy.seq, discrepancy.reason)
