"""The append-only, hash-chained audit log.

``row_hash = sha256(prev_hash + canonical_json({"seq", "at", "action", "detail"}))``, ``prev_hash``
of the first row being ``"0" * 64``. Canonical JSON sorts keys, uses ``,``/``:`` separators and
keeps non-ASCII text; ``at`` is UTC ISO 8601 in microseconds. Changing, inserting or deleting a row
breaks the chain at that row, which :func:`verify` reports.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from leaktrace.registry.models import AuditEntry, AuditReport
from leaktrace.registry.schema import as_utc, audit_t

__all__ = ["GENESIS_HASH", "append", "canonical_json", "row_hash", "verify"]

GENESIS_HASH = "0" * 64


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic | np.ndarray):  # numpy scalars and arrays as plain values
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj`` that the chain hashes (``ValueError`` if it has none)."""
    try:
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from None


def row_hash(prev_hash: str, seq: int, at: datetime, action: str, detail: dict) -> str:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": action,
        "detail": detail,
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def append(conn: sa.Connection, items: list[tuple[str, dict]]) -> list[AuditEntry]:
    """Append rows inside a write transaction: the registry's write lock makes ``seq`` race-free."""
    for action, _ in items:
        if not isinstance(action, str) or not 0 < len(action) <= 100:
            raise ValueError(f"audit action must be 1-100 characters, got {action!r:.80}")
    head = conn.execute(
        sa.select(audit_t.c.seq, audit_t.c.row_hash).order_by(audit_t.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq, head.row_hash) if head else (0, GENESIS_HASH)
    at = as_utc(None)
    entries, rows = [], []
    for action, detail in items:
        text = canonical_json(detail)
        seq += 1
        digest = row_hash(prev, seq, at, action, json.loads(text))
        entries.append(AuditEntry(seq, at, action, json.loads(text), prev, digest))
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
    if rows:
        conn.execute(sa.insert(audit_t), rows)
    return entries


def verify(conn: sa.Connection) -> AuditReport:
    """Recompute the chain and report the first row that does not match."""
    rows, prev_hash = 0, GENESIS_HASH
    broken: tuple[int, str] | None = None
    query = sa.select(audit_t).order_by(audit_t.c.seq)
    for row in conn.execution_options(yield_per=1000).execute(query):
        rows += 1
        if broken is not None:
            continue
        if row.prev_hash != prev_hash:
            broken = (
                row.seq,
                "it does not link to the previous row: a row before it "
                "was changed, inserted or deleted",
            )
            continue
        try:
            detail = json.loads(row.detail)
            expected = row_hash(row.prev_hash, row.seq, row.at, row.action, detail)
        except ValueError:
            expected = None
        if expected is None or not hmac.compare_digest(expected, row.row_hash):
            broken = (row.seq, "its content does not match its hash: the row was changed")
            continue
        prev_hash = row.row_hash
    if broken is None:
        return AuditReport(True, rows, None, None)
    return AuditReport(False, rows, broken[0], f"audit row {broken[0]}: {broken[1]}")
