"""The registry's schema versions and the migrations between them.

A registry records its schema version in the ``meta`` table. Opening an older registry applies the
missing migrations in order, inside one write transaction, and audits it; a newer one is refused.
A new registry goes through the same steps from version 0, so an upgraded registry and a new one
always end up with identical tables. The tables themselves are defined in :mod:`.tables`.

Version history:

1. ``meta``, ``recipients``, ``assets``, ``copies``, ``audit``.
2. ``copies.code``: the recipient's packed code for that asset (``code_bits / 8`` bytes), cached at
   mark time so that identify need not re-derive 10^5 codes per query. On its own it says nothing
   useful: which cells a code bit drives is derived from the registry key. Rows recorded before
   version 2 keep ``NULL`` and identify derives those. ``meta.assets_revision`` counts changes to
   the assets table, so a process can keep the perceptual-hash table in memory and know when it
   is stale.
3. A keyed audit chain and key ids. ``keys`` (``id``, ``fingerprint``, ``created_at``: never the
   key) lists the registry's keys, the newest being the current one; the first key is key 1.
   ``copies.key_id`` (old copies: 1) names the key that made a copy and ``copies.commitment``
   holds its commitment to the recipient's code (``NULL`` for old copies). The audit chain's
   ``row_hash`` becomes ``HMAC-SHA256(audit subkey, prev_hash + canonical row)``
   (:mod:`.audit`), so rebuilding the chain after editing a row needs the key, which a PostgreSQL
   registry never stores. The migration first verifies the old SHA-256 chain (and refuses, with
   nothing changed, when it is broken), re-chains every row under key 1's audit subkey, records
   the old head hash and row count in an ``audit chain keyed`` row, and pins the codes already
   cached in ``copies`` in ``copy codes attested`` rows (which the old audit rows did not cover).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from leaktrace.errors import RegistryKeyError
from leaktrace.registry import audit
from leaktrace.registry.keys import check_key, key_fingerprint
from leaktrace.registry.tables import (
    LATEST_VERSION,
    as_utc,
    assets_t,
    audit_t,
    copies_t,
    get_meta,
    keys_t,
    meta_t,
    metadata,
    recipients_t,
    set_meta,
    tables_at,
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "MigrationContext",
    "as_utc",
    "assets_t",
    "audit_t",
    "copies_t",
    "get_meta",
    "keys_t",
    "meta_t",
    "metadata",
    "migrate",
    "recipients_t",
    "set_meta",
]

SCHEMA_VERSION = LATEST_VERSION

# Copies whose cached codes one "copy codes attested" row pins (about 100 KB of JSON).
_ATTEST_CHUNK = 1000

# Frozen: migration 1 must create exactly what version 1 was, whatever the current tables are.
_v1 = sa.MetaData()
tables_at(_v1, version=1)
_v3 = sa.MetaData()
_v3_keys = tables_at(_v3, version=3)["keys"]


@dataclass(frozen=True)
class MigrationContext:
    """What a migration may need besides the connection.

    ``key`` is the registry's first key (the only one a registry older than version 3 has);
    ``location`` names the registry in messages.
    """

    key: bytes = field(repr=False)
    location: str


def _migration_1(conn: sa.Connection, ctx: MigrationContext) -> None:
    _v1.create_all(conn, checkfirst=False)


def _migration_2(conn: sa.Connection, ctx: MigrationContext) -> None:
    # ALTER TABLE ... ADD COLUMN of a nullable column is instant on both back ends: no rewrite.
    binary = sa.LargeBinary().compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE copies ADD COLUMN code {binary}"))
    set_meta(conn, "assets_revision", "0")


def _migration_3(conn: sa.Connection, ctx: MigrationContext) -> None:
    key = check_key(ctx.key)
    fingerprint = key_fingerprint(key)
    stored = get_meta(conn, "key_fingerprint")
    if stored is None:  # a new registry: init records the fingerprint after the migrations
        set_meta(conn, "key_fingerprint", fingerprint)
    elif stored != fingerprint:
        raise RegistryKeyError(
            f"cannot upgrade the registry at {ctx.location}: the key given is not its first key"
        )
    _v3_keys.create(conn, checkfirst=False)
    created = get_meta(conn, "created_at")
    conn.execute(
        sa.insert(keys_t).values(
            id=1,
            fingerprint=fingerprint,
            created_at=as_utc(_parse_time(created)),
        )
    )
    # A constant default: instant on PostgreSQL 11+ and on SQLite (no table rewrite).
    conn.execute(sa.text("ALTER TABLE copies ADD COLUMN key_id INTEGER NOT NULL DEFAULT 1"))
    conn.execute(sa.text("ALTER TABLE copies ADD COLUMN commitment VARCHAR(64)"))
    old_head, rows = audit.key_legacy_chain(conn, key, ctx.location)
    set_meta(conn, "audit_chain", audit.KEYED_CHAIN)
    if rows == 0:  # a new registry: nothing was chained before
        return
    audit.append(
        conn,
        [
            (
                "audit chain keyed",
                {
                    "previous_chain": "sha256",
                    "previous_head_hash": old_head,
                    "previous_rows": rows,
                    "key_id": 1,
                    "key_fingerprint": fingerprint,
                },
            ),
            *_code_attestations(conn),
        ],
        lambda _key_id: audit.chain_subkey(key),
    )


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _code_attestations(conn: sa.Connection) -> list[tuple[str, dict]]:
    """Audit rows pinning the codes cached before version 3, whose audit rows lack them."""
    query = (
        sa.select(copies_t.c.id, copies_t.c.code)
        .where(copies_t.c.code.is_not(None))
        .order_by(copies_t.c.id)
    )
    pinned = [
        [int(copy_id), hashlib.sha256(bytes(code)).hexdigest()]
        for copy_id, code in conn.execute(query)
    ]
    return [
        ("copy codes attested", {"copies": pinned[i : i + _ATTEST_CHUNK]})
        for i in range(0, len(pinned), _ATTEST_CHUNK)
    ]


#: Schema migrations by the version they produce, applied in order inside one write transaction.
MIGRATIONS: dict[int, Callable[[sa.Connection, MigrationContext], None]] = {
    1: _migration_1,
    2: _migration_2,
    3: _migration_3,
}


def migrate(
    conn: sa.Connection, start: int, target: int | None = None, *, ctx: MigrationContext
) -> None:
    """Apply the migrations after version ``start`` up to ``target`` (default: the current)."""
    for version in range(start + 1, (SCHEMA_VERSION if target is None else target) + 1):
        MIGRATIONS[version](conn, ctx)
        set_meta(conn, "schema_version", str(version))
