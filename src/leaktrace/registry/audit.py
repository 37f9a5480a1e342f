"""The append-only audit log, chained under a key that the database never holds.

Since schema version 3 every row carries
``row_hash = HMAC-SHA256(audit subkey, prev_hash + canonical_json({"seq", "at", "action",
"detail"}))`` (hex), ``prev_hash`` of the first row being ``"0" * 64`` and the audit subkey being
``HKDF-SHA256(registry key, info="leaktrace/audit-chain/v1")`` (:mod:`.subkeys`). Canonical JSON
sorts keys, uses ``,``/``:`` separators and keeps non-ASCII text; ``at`` is UTC ISO 8601 in
microseconds. Changing, inserting or deleting a row breaks the chain at that row, and unlike a
plain hash chain, someone with write access to the database but not the key cannot compute the
values that would make an edit consistent again.

**Key rotation.** The chain starts under key 1. A ``key rotated`` row is chained under the key it
retires; every row after it under the new key (``detail["key_id"]``). The first row under the new
key covers the last row under the old one, so a leaked old key lets no one rewrite anything before
the rotation either, and heads exported before a rotation stay valid (no row is re-chained).
Verifying the whole log needs every key that chained part of it.

Registries before version 3 used ``sha256(prev_hash + canonical row)``; :func:`key_legacy_chain`
verifies such a chain and re-chains it under the key, for the migration to version 3.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from leaktrace.errors import AuditChainError, RegistryKeyError
from leaktrace.registry.models import AuditEntry, AuditReport
from leaktrace.registry.subkeys import AUDIT_CHAIN, mac_hex, subkey
from leaktrace.registry.tables import as_utc, audit_t, get_meta, keys_t

__all__ = [
    "GENESIS_HASH",
    "KEYED_CHAIN",
    "ROTATION",
    "SubkeyFor",
    "append",
    "canonical_json",
    "chain_subkey",
    "head",
    "key_legacy_chain",
    "legacy_row_hash",
    "row_mac",
    "verify",
]

GENESIS_HASH = "0" * 64
#: ``meta.audit_chain`` of a registry whose chain is keyed (schema version 3 and later).
KEYED_CHAIN = "hmac-sha256/v1"
#: The action of the row that hands the chain over to a new key.
ROTATION = "key rotated"
_PAGE = 5000

#: Returns the audit subkey of the key with this id, or raises :class:`RegistryKeyError`.
SubkeyFor = Callable[[int], bytes]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic | np.ndarray):  # numpy scalars and arrays as plain values
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj`` that the chain covers (``ValueError`` if it has none)."""
    try:
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from None


def chain_subkey(key: bytes) -> bytes:
    """The audit subkey of a registry key."""
    return subkey(key, AUDIT_CHAIN)


def _message(prev_hash: str, seq: int, at: datetime, action: str, detail: dict) -> bytes:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": action,
        "detail": detail,
    }
    return (prev_hash + canonical_json(body)).encode("utf-8")


def row_mac(sub: bytes, prev_hash: str, seq: int, at: datetime, action: str, detail: dict) -> str:
    """A row's ``row_hash`` in a keyed chain: the HMAC of the previous hash and the row."""
    return mac_hex(sub, _message(prev_hash, seq, at, action, detail))


def legacy_row_hash(prev_hash: str, seq: int, at: datetime, action: str, detail: dict) -> str:
    """A row's ``row_hash`` before schema version 3: a plain SHA-256, which anyone can recompute."""
    return hashlib.sha256(_message(prev_hash, seq, at, action, detail)).hexdigest()


def _is_keyed(conn: sa.Connection) -> bool:
    return get_meta(conn, "audit_chain") == KEYED_CHAIN


def _next_key_id(detail: Any, current: int) -> int | None:
    """The key a ``key rotated`` row hands over to, or None if it names none that can follow."""
    key_id = detail.get("key_id") if isinstance(detail, dict) else None
    if isinstance(key_id, int) and not isinstance(key_id, bool) and key_id > current:
        return key_id
    return None


def append(
    conn: sa.Connection, items: list[tuple[str, dict]], subkey_for: SubkeyFor
) -> list[AuditEntry]:
    """Append rows inside a write transaction: the registry's write lock makes ``seq`` race-free.

    New rows are chained under the newest key in the ``keys`` table (a ``key rotated`` row, under
    the key it retires, is appended before its new key is inserted). A registry not yet at schema
    version 3 keeps its SHA-256 chain until the migration re-chains it.
    """
    for action, _ in items:
        if not isinstance(action, str) or not 0 < len(action) <= 100:
            raise ValueError(f"audit action must be 1-100 characters, got {action!r:.80}")
    texts = [canonical_json(detail) for _, detail in items]
    keyed = _is_keyed(conn)
    key_id = int(conn.execute(sa.select(sa.func.max(keys_t.c.id))).scalar() or 1) if keyed else 1
    sub: bytes | None = None  # fetched when first needed: after a rotation, the new key's
    head = conn.execute(
        sa.select(audit_t.c.seq, audit_t.c.row_hash).order_by(audit_t.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq, head.row_hash) if head else (0, GENESIS_HASH)
    at = as_utc(None)
    entries, rows = [], []
    for (action, _), text in zip(items, texts, strict=True):
        detail = json.loads(text)
        seq += 1
        if keyed:
            if sub is None:
                sub = subkey_for(key_id)
            digest = row_mac(sub, prev, seq, at, action, detail)
        else:
            digest = legacy_row_hash(prev, seq, at, action, detail)
        entries.append(AuditEntry(seq, at, action, detail, prev, digest))
        rows.append(
            {
                "seq": seq,
                "at": at,
                "action": action,
                "detail": text,
                "prev_hash": prev,
                "row_hash": digest,
            }
        )
        prev = digest
        if keyed and action == ROTATION:
            nxt = _next_key_id(detail, key_id)
            if nxt is None:
                raise ValueError("a key rotated row must name the new key_id")
            key_id, sub = nxt, None
    if rows:
        conn.execute(sa.insert(audit_t), rows)
    return entries


def _pages(conn: sa.Connection) -> Iterator[Any]:
    """The audit rows in ``seq`` order, read in pages (memory stays flat on millions of rows)."""
    after = None
    while True:
        query = sa.select(audit_t).order_by(audit_t.c.seq).limit(_PAGE)
        if after is not None:
            query = query.where(audit_t.c.seq > after)
        page = conn.execute(query).all()
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].seq


def _check_row(row: Any, prev_hash: str, sub: bytes | None) -> str | None:
    """Why ``row`` breaks the chain, or None when it links to ``prev_hash`` and matches: under
    the audit subkey ``sub``, or as a SHA-256 chain when ``sub`` is None."""
    if row.prev_hash != prev_hash:
        return (
            "it does not link to the previous row: a row before it was changed, inserted or deleted"
        )
    try:
        detail = json.loads(row.detail)
        if sub is None:
            digest = legacy_row_hash(row.prev_hash, row.seq, row.at, row.action, detail)
        else:
            digest = row_mac(sub, row.prev_hash, row.seq, row.at, row.action, detail)
    except (ValueError, TypeError, AttributeError):
        digest = None
    if digest is None or not hmac.compare_digest(digest, str(row.row_hash)):
        return "its content does not match its hash: the row was changed"
    return None


def verify(conn: sa.Connection, subkey_for: SubkeyFor) -> AuditReport:
    """Recompute the chain and report the first row that does not match.

    Raises
    ------
    RegistryKeyError
        When part of the log was chained under a key that ``subkey_for`` does not have: that is
        not evidence of tampering, so it is not reported as a broken row.
    """
    keyed = _is_keyed(conn)
    rows, prev_hash = 0, GENESIS_HASH
    broken: tuple[int, str] | None = None
    key_id, sub = 1, None
    for row in _pages(conn):
        rows += 1
        if broken is not None:
            continue
        if keyed and sub is None:
            try:
                sub = subkey_for(key_id)
            except RegistryKeyError as exc:
                raise RegistryKeyError(
                    f"cannot verify the audit log from row {row.seq} on: it is chained under "
                    f"key {key_id}, which is not available here ({exc})"
                ) from None
        reason = _check_row(row, prev_hash, sub if keyed else None)
        if reason is None and keyed and row.action == ROTATION:
            nxt = _next_key_id(json.loads(row.detail), key_id)
            if nxt is None:
                reason = "it hands the chain to no valid next key"
            else:
                key_id, sub = nxt, None
        if reason is not None:
            broken = (row.seq, reason)
            continue
        prev_hash = row.row_hash
    if broken is None:
        return AuditReport(True, rows, None, None)
    return AuditReport(False, rows, broken[0], f"audit row {broken[0]}: {broken[1]}")


def head(conn: sa.Connection) -> tuple[int, str]:
    """The last row's ``seq`` and ``row_hash``; ``(0, GENESIS_HASH)`` for an empty log."""
    row = conn.execute(
        sa.select(audit_t.c.seq, audit_t.c.row_hash).order_by(audit_t.c.seq.desc()).limit(1)
    ).first()
    return (int(row.seq), str(row.row_hash)) if row else (0, GENESIS_HASH)


def key_legacy_chain(conn: sa.Connection, key: bytes, location: str) -> tuple[str, int]:
    """Verify a SHA-256 chain and re-chain every row under ``key``'s audit subkey, in place.

    Runs inside the migration's write transaction: on any failure it rolls back with it.

    Returns
    -------
    tuple of (str, int)
        The old chain's head hash and its number of rows.

    Raises
    ------
    AuditChainError
        When the old chain is broken (nothing may then be re-chained: it would launder the edit).
    """
    sub = chain_subkey(key)
    rows, old_prev, new_prev = 0, GENESIS_HASH, GENESIS_HASH
    update = (
        sa.update(audit_t)
        .where(audit_t.c.seq == sa.bindparam("b_seq"))
        .values(prev_hash=sa.bindparam("b_prev"), row_hash=sa.bindparam("b_hash"))
    )
    pending: list[dict] = []
    # Each page is read whole before any of it is updated; updates leave ``seq`` alone, so the
    # next page starts where this one ended.
    for row in _pages(conn):
        rows += 1
        reason = _check_row(row, old_prev, None)
        if reason is not None:
            raise AuditChainError(
                f"cannot upgrade the registry at {location}: its audit log is broken at row "
                f"{row.seq} ({reason}); nothing was changed. Keep a copy of the registry as "
                "evidence and investigate it with the leaktrace version that wrote it"
            )
        old_prev = row.row_hash
        mac = row_mac(sub, new_prev, row.seq, row.at, row.action, json.loads(row.detail))
        pending.append({"b_seq": row.seq, "b_prev": new_prev, "b_hash": mac})
        new_prev = mac
        if len(pending) >= _PAGE:
            conn.execute(update, pending)
            pending = []
    if pending:
        conn.execute(update, pending)
    return old_prev, rows
