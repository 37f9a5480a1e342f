"""Rows <-> value objects, and the checks every write applies to its input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from leaktrace.errors import DuplicateRecipientError
from leaktrace.registry.audit import canonical_json
from leaktrace.registry.models import (
    ASSET_KINDS,
    Asset,
    Copy,
    Recipient,
    validate_recipient_id,
)
from leaktrace.registry.tables import as_utc

SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK = 500  # ids per IN (...) list: far below every back end's limit on bound parameters
U64 = 1 << 64


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_signed(value: int, name: str) -> int:
    if not isinstance(value, int | np.integer) or not 0 <= int(value) < U64:
        raise ValueError(f"{name} must be an unsigned 64-bit integer, got {value!r}")
    value = int(value)
    return value - U64 if value >= 1 << 63 else value


def check_sha(value: str, name: str) -> str:
    if not isinstance(value, str) or SHA256.fullmatch(value) is None:
        raise ValueError(f"{name} must be 64 lowercase hex characters, got {value!r:.80}")
    return value


def recipient_from_row(row: Any) -> Recipient:
    return Recipient(row.id, row.name, row.email, row.org, row.created_at)


def asset_from_row(row: Any) -> Asset:
    return Asset(
        row.id,
        row.sha256,
        row.file_name,
        row.kind,
        row.width,
        row.height,
        row.phash % U64,
        row.dhash % U64,
        json.loads(row.params),
        row.created_at,
        row.parent_id,
        row.page,
    )


def copy_from_row(row: Any) -> Copy:
    code = row.code
    return Copy(
        row.asset_id,
        row.recipient_id,
        row.output_sha256,
        row.output_name,
        row.created_at,
        row.id,
        None if code is None else bytes(code),
        int(row.key_id),
        row.commitment,
    )


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _recipient_row(r: Recipient, now: datetime) -> dict[str, Any]:
    validate_recipient_id(r.id)
    if not isinstance(r.name, str):
        raise ValueError(f"recipient {r.id}: name must be a string")
    return {
        "id": r.id,
        "name": r.name,
        "email": r.email,
        "org": r.org,
        "created_at": as_utc(r.created_at or now),
    }


def recipient_rows(rs: Iterable[Recipient]) -> list[dict[str, Any]]:
    """Validated rows for a batch of recipients, refusing an id that appears twice."""
    now = utcnow()
    rows = [_recipient_row(r, now) for r in rs]
    seen: set[str] = set()
    for row in rows:
        if row["id"] in seen:
            raise DuplicateRecipientError(f"recipient {row['id']} appears twice in the batch")
        seen.add(row["id"])
    return rows


def copy_key(c: Copy) -> tuple[str, str, str]:
    return (c.asset_id, c.recipient_id, c.output_sha256)


def asset_row(a: Asset) -> dict[str, Any]:
    """The checked row of an asset (``ValueError`` naming the bad field)."""
    if not isinstance(a.id, str) or not 0 < len(a.id) <= 200:
        raise ValueError(f"asset id must be 1-200 characters, got {a.id!r:.80}")
    if a.kind not in ASSET_KINDS:
        raise ValueError(f"asset kind must be one of {sorted(ASSET_KINDS)}, got {a.kind!r}")
    return {
        "id": a.id,
        "sha256": check_sha(a.sha256, "sha256"),
        "file_name": a.file_name,
        "kind": a.kind,
        "width": int(a.width),
        "height": int(a.height),
        "phash": to_signed(a.phash, "phash"),
        "dhash": to_signed(a.dhash, "dhash"),
        "params": canonical_json(a.params),
        "created_at": as_utc(a.created_at),
        "parent_id": a.parent_id,
        "page": a.page,
    }
