"""The registry's tables as they are at each schema version, one definition for every back end.

:mod:`.schema` holds the version history and the migrations between versions; everything that
queries the tables imports them from here (or through :mod:`.schema`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

__all__ = [
    "LATEST_VERSION",
    "as_utc",
    "assets_t",
    "audit_t",
    "copies_t",
    "get_meta",
    "keys_t",
    "meta_t",
    "metadata",
    "recipients_t",
    "set_meta",
    "tables_at",
]

#: The newest schema version this leaktrace knows (``schema.SCHEMA_VERSION`` starts from it).
LATEST_VERSION = 3


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


def tables_at(md: sa.MetaData, *, version: int) -> dict[str, sa.Table]:
    """The tables as they are at schema ``version`` (1 to :data:`LATEST_VERSION`), in ``md``."""
    copy_columns: list[sa.Column] = []
    if version >= 2:
        copy_columns.append(sa.Column("code", sa.LargeBinary))
    if version >= 3:
        # Added by ALTER TABLE, so the order is the upgrade's; copies made before keys had
        # ids were made with the first key. No foreign key: SQLite cannot add a column that
        # references another table with a non-NULL default; the registry checks it instead.
        copy_columns.append(sa.Column("key_id", sa.Integer, nullable=False, server_default="1"))
        copy_columns.append(sa.Column("commitment", sa.String(64)))
    tables = {
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
    if version >= 3:
        tables["keys"] = sa.Table(
            "keys",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("fingerprint", sa.String(16), nullable=False, unique=True),
            sa.Column("created_at", UtcDateTime, nullable=False),
        )
    return tables


#: The current tables, used by every query.
metadata = sa.MetaData()
_current = tables_at(metadata, version=LATEST_VERSION)
meta_t = _current["meta"]
recipients_t = _current["recipients"]
assets_t = _current["assets"]
copies_t = _current["copies"]
audit_t = _current["audit"]
keys_t = _current["keys"]


def get_meta(conn: sa.Connection, name: str) -> str | None:
    """A value of the ``meta`` table, or ``None``."""
    return conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == name)).scalar()


def set_meta(conn: sa.Connection, name: str, value: str) -> None:
    """Insert or replace a value of the ``meta`` table."""
    if conn.execute(sa.update(meta_t).where(meta_t.c.key == name).values(value=value)).rowcount:
        return
    conn.execute(sa.insert(meta_t).values(key=name, value=value))
