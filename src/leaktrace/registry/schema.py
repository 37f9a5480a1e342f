"""The registry's tables and their versioned migrations, one definition for every back end.

A registry records its schema version in the ``meta`` table. Opening an older registry applies the
missing migrations in order, inside one write transaction, and audits it; a newer one is refused.
A new registry goes through the same steps from version 0, so an upgraded registry and a new one
always end up with identical tables.

Version history:

1. ``meta``, ``recipients``, ``assets``, ``copies``, ``audit``.
2. ``copies.code``: the recipient's packed code for that asset (``code_bits / 8`` bytes), cached at
   mark time so that identify need not re-derive 10^5 codes per query. On its own it says nothing
   useful: which cells a code bit drives is derived from the registry key. Rows recorded before
   version 2 keep ``NULL`` and identify derives those. ``meta.assets_revision`` counts changes to
   the assets table, so a process can keep the perceptual-hash table in memory and know when it
   is stale.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "assets_t",
    "audit_t",
    "copies_t",
    "get_meta",
    "meta_t",
    "metadata",
    "migrate",
    "recipients_t",
    "set_meta",
]

SCHEMA_VERSION = 2


def as_utc(value: datetime | None) -> datetime:
    """``value`` as an aware UTC datetime (naive ones are taken as UTC); now if ``None``."""
    if value is None:
        return datetime.now(UTC)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


class UtcDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every back end."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _tables(md: sa.MetaData, *, version: int) -> dict[str, sa.Table]:
    """The tables as they are at schema ``version`` (1 or 2)."""
    copy_columns: list[sa.Column] = []
    if version >= 2:
        copy_columns.append(sa.Column("code", sa.LargeBinary))
    return {
        "meta": sa.Table(
            "meta",
            md,
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        ),
        "recipients": sa.Table(
            "recipients",
            md,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("email", sa.Text),
            sa.Column("org", sa.Text),
            sa.Column("created_at", UtcDateTime, nullable=False),
        ),
        "assets": sa.Table(
            "assets",
            md,
            sa.Column("id", sa.String(200), primary_key=True),
            sa.Column("sha256", sa.String(64), nullable=False, unique=True),
            sa.Column("file_name", sa.Text, nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("width", sa.Integer, nullable=False),
            sa.Column("height", sa.Integer, nullable=False),
            sa.Column("phash", sa.BigInteger, nullable=False),
            sa.Column("dhash", sa.BigInteger, nullable=False),
            sa.Column("params", sa.Text, nullable=False),
            sa.Column("created_at", UtcDateTime, nullable=False),
            sa.Column("parent_id", sa.String(200), sa.ForeignKey("assets.id")),
            sa.Column("page", sa.Integer),
            sa.Index("ix_assets_kind", "kind"),
            sa.Index("ix_assets_parent_id", "parent_id"),
        ),
        "copies": sa.Table(
            "copies",
            md,
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                primary_key=True,
                autoincrement=True,
            ),
            sa.Column("asset_id", sa.String(200), sa.ForeignKey("assets.id"), nullable=False),
            sa.Column(
                "recipient_id", sa.String(64), sa.ForeignKey("recipients.id"), nullable=False
            ),
            sa.Column("output_sha256", sa.String(64), nullable=False),
            sa.Column("output_name", sa.Text, nullable=False),
            sa.Column("created_at", UtcDateTime, nullable=False),
            *copy_columns,
            sa.UniqueConstraint(
                "asset_id", "recipient_id", "output_sha256", name="uq_copies_triple"
            ),
            sa.Index("ix_copies_recipient_id", "recipient_id"),
            sa.Index("ix_copies_output_sha256", "output_sha256"),
        ),
        "audit": sa.Table(
            "audit",
            md,
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("at", UtcDateTime, nullable=False),
            sa.Column("action", sa.String(100), nullable=False),
            sa.Column("detail", sa.Text, nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("row_hash", sa.String(64), nullable=False),
        ),
    }


#: The current tables, used by every query.
metadata = sa.MetaData()
_current = _tables(metadata, version=SCHEMA_VERSION)
meta_t = _current["meta"]
recipients_t = _current["recipients"]
assets_t = _current["assets"]
copies_t = _current["copies"]
audit_t = _current["audit"]

# Frozen: migration 1 must create exactly what version 1 was, whatever the current tables are.
_v1 = sa.MetaData()
_tables(_v1, version=1)


def get_meta(conn: sa.Connection, name: str) -> str | None:
    return conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == name)).scalar()


def set_meta(conn: sa.Connection, name: str, value: str) -> None:
    if conn.execute(sa.update(meta_t).where(meta_t.c.key == name).values(value=value)).rowcount:
        return
    conn.execute(sa.insert(meta_t).values(key=name, value=value))


def _migration_1(conn: sa.Connection) -> None:
    _v1.create_all(conn, checkfirst=False)


def _migration_2(conn: sa.Connection) -> None:
    # ALTER TABLE ... ADD COLUMN of a nullable column is instant on both back ends: no rewrite.
    binary = sa.LargeBinary().compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE copies ADD COLUMN code {binary}"))
    set_meta(conn, "assets_revision", "0")


#: Schema migrations by the version they produce, applied in order inside one write transaction.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _migration_1, 2: _migration_2}


def migrate(conn: sa.Connection, start: int, target: int | None = None) -> None:
    """Apply the migrations after version ``start`` up to ``target`` (default: the current)."""
    for version in range(start + 1, (SCHEMA_VERSION if target is None else target) + 1):
        MIGRATIONS[version](conn)
        set_meta(conn, "schema_version", str(version))
