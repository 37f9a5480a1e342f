"""The registry on SQLAlchemy Core: one implementation for a SQLite file and for PostgreSQL.

Only three things differ between the back ends, and they live in the engine set-up and in
:meth:`SqlRegistry._tx`: how a connection is configured (SQLite pragmas, PostgreSQL lock timeout),
how a writing transaction serialises against other processes (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL) and how a location is named. Every write takes that
lock, so check-then-insert is race-free and the audit chain never forks.

The audit log is hash-chained: ``row_hash = sha256(prev_hash + canonical_json({"seq", "at",
"action", "detail"}))``, ``prev_hash`` of the first row being ``"0" * 64``. Canonical JSON sorts
keys, uses ``,``/``:`` separators, keeps non-ASCII text; ``at`` is UTC ISO 8601 in microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from leaktrace.errors import (
    DuplicateRecipientError,
    RegistryError,
    RegistryKeyError,
    RegistryNotFoundError,
    UnknownRecipientError,
)
from leaktrace.registry.keys import check_key, generate_key, key_fingerprint, read_key_file
from leaktrace.registry.keys import write_key_file as _write_key_file
from leaktrace.registry.models import (
    ASSET_KINDS,
    Asset,
    AuditEntry,
    AuditReport,
    Copy,
    Recipient,
    UnknownAssetError,
    validate_recipient_id,
)
from leaktrace.registry.store import OriginalStore

__all__ = ["SCHEMA_VERSION", "SqlRegistry", "init_registry", "open_registry"]

SCHEMA_VERSION = 1
GENESIS_HASH = "0" * 64
DB_FILE = "registry.sqlite"
KEY_FILE = "key"
ORIGINALS_DIR = "originals"
_RESERVED_SETTINGS = frozenset({"schema_version", "key_fingerprint"})
_PG_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"leaktrace/registry-write-lock").digest()[:8], "big", signed=True
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 500
_U64 = 1 << 64


class _UtcDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every back end."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()
meta_t = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
recipients_t = sa.Table(
    "recipients",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("org", sa.Text),
    sa.Column("created_at", _UtcDateTime, nullable=False),
)
assets_t = sa.Table(
    "assets",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("phash", sa.BigInteger, nullable=False),
    sa.Column("dhash", sa.BigInteger, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("created_at", _UtcDateTime, nullable=False),
    sa.Column("parent_id", sa.String(200), sa.ForeignKey("assets.id")),
    sa.Column("page", sa.Integer),
    sa.Index("ix_assets_kind", "kind"),
    sa.Index("ix_assets_parent_id", "parent_id"),
)
copies_t = sa.Table(
    "copies",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("asset_id", sa.String(200), sa.ForeignKey("assets.id"), nullable=False),
    sa.Column("recipient_id", sa.String(64), sa.ForeignKey("recipients.id"), nullable=False),
    sa.Column("output_sha256", sa.String(64), nullable=False),
    sa.Column("output_name", sa.Text, nullable=False),
    sa.Column("created_at", _UtcDateTime, nullable=False),
    sa.UniqueConstraint("asset_id", "recipient_id", "output_sha256", name="uq_copies_triple"),
    sa.Index("ix_copies_recipient_id", "recipient_id"),
    sa.Index("ix_copies_output_sha256", "output_sha256"),
)
audit_t = sa.Table(
    "audit",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", _UtcDateTime, nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("row_hash", sa.String(64), nullable=False),
)


def _migration_1(conn: sa.Connection) -> None:
    # Version 1 is the tables above. When version 2 changes them, freeze copies of these
    # definitions here so that a new registry still goes through 1 -> 2 like an old one.
    metadata.create_all(conn, checkfirst=False)


#: Schema migrations by the version they produce, applied in order inside one write transaction.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _migration_1}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime | None) -> datetime:
    """``value`` as an aware UTC datetime (naive ones are taken as UTC); now if ``None``."""
    if value is None:
        return _utcnow()
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic | np.ndarray):  # numpy scalars and arrays as plain values
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _canonical_json(obj: Any) -> str:
    try:
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from None


def _audit_hash(prev_hash: str, seq: int, at: datetime, action: str, detail: dict) -> str:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": action,
        "detail": detail,
    }
    return hashlib.sha256((prev_hash + _canonical_json(body)).encode("utf-8")).hexdigest()


def _to_signed(value: int, name: str) -> int:
    if not isinstance(value, int | np.integer) or not 0 <= int(value) < _U64:
        raise ValueError(f"{name} must be an unsigned 64-bit integer, got {value!r}")
    value = int(value)
    return value - _U64 if value >= 1 << 63 else value


def _check_sha(value: str, name: str) -> str:
    if not isinstance(value, str) or _SHA256.fullmatch(value) is None:
        raise ValueError(f"{name} must be 64 lowercase hex characters, got {value!r:.80}")
    return value


def _recipient(row: Any) -> Recipient:
    return Recipient(row.id, row.name, row.email, row.org, row.created_at)


def _asset(row: Any) -> Asset:
    return Asset(
        row.id,
        row.sha256,
        row.file_name,
        row.kind,
        row.width,
        row.height,
        row.phash % _U64,
        row.dhash % _U64,
        json.loads(row.params),
        row.created_at,
        row.parent_id,
        row.page,
    )


def _copy(row: Any) -> Copy:
    return Copy(
        row.asset_id, row.recipient_id, row.output_sha256, row.output_name, row.created_at, row.id
    )


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class SqlRegistry:
    """Recipients, assets, copies and the audit log in one SQL database.

    Build it with :func:`init_registry` or :func:`open_registry`. ``location`` names the registry
    in messages (a directory, or a URL without its password); ``store`` holds the originals. Every
    public method raises :class:`~leaktrace.errors.RegistryError` (not a SQLAlchemy error) when the
    database is locked, read-only or unreachable.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        backend: str,
        location: str,
        key: bytes,
        store: OriginalStore,
        timeout: float,
        secret: str | None = None,
    ) -> None:
        self._engine = engine
        self.backend = backend
        self.location = location
        self._key = check_key(key)
        self.store = store
        self._timeout = timeout
        self._secret = secret or None  # the URL password, scrubbed from driver messages

    @property
    def key(self) -> bytes:
        """The registry's secret key. Never shown by ``repr`` or in any message."""
        return self._key

    def __repr__(self) -> str:
        return f"SqlRegistry({self.location!r}, backend={self.backend!r})"

    __str__ = __repr__

    def __enter__(self) -> SqlRegistry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    # -- transactions and errors -----------------------------------------------------------

    def _error(self, exc: sa_exc.SQLAlchemyError, doing: str) -> RegistryError:
        orig = getattr(exc, "orig", None)
        lines = str(orig if orig is not None else exc).strip().splitlines()
        msg = lines[0] if lines else type(exc).__name__
        if self._secret:
            msg = msg.replace(self._secret, "***")
        low = msg.lower()
        state = getattr(orig, "sqlstate", None)
        where = f"the registry at {self.location}"
        if "locked" in low or "busy" in low or state == "55P03" or "lock timeout" in low:
            return RegistryError(
                f"{where} is locked by another process (waited "
                f"{self._timeout:g} s while {doing}): try again later"
            )
        if "readonly" in low or "read-only" in low or state == "25006":
            return RegistryError(f"{where} is read-only: {doing} needs write access to it")
        if "unable to open database file" in low:
            return RegistryError(
                f"cannot open {where}: check that its directory exists and is readable and writable"
            )
        if self.backend == "postgresql" and isinstance(exc, sa_exc.OperationalError):
            return RegistryError(
                f"cannot use the registry database at {self.location} while {doing}: {msg}"
            )
        return RegistryError(f"database error in {where} while {doing}: {msg}")

    @contextmanager
    def _tx(self, doing: str, *, write: bool = False) -> Iterator[sa.Connection]:
        """A transaction; a writing one holds the registry's write lock until it ends."""
        try:
            with self._engine.connect() as conn:
                if write and self.backend == "sqlite":
                    conn.execution_options(leaktrace_write=True)
                with conn.begin():
                    if write and self.backend == "postgresql":
                        conn.execute(
                            sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY}
                        )
                    yield conn
        except sa_exc.SQLAlchemyError as exc:
            raise self._error(exc, doing) from exc

    def _append(self, conn: sa.Connection, items: list[tuple[str, dict]]) -> list[AuditEntry]:
        """Append audit rows inside a write transaction (the lock makes ``seq`` race-free)."""
        for action, _ in items:
            if not isinstance(action, str) or not 0 < len(action) <= 100:
                raise ValueError(f"audit action must be 1-100 characters, got {action!r:.80}")
        head = conn.execute(
            sa.select(audit_t.c.seq, audit_t.c.row_hash).order_by(audit_t.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (head.seq, head.row_hash) if head else (0, GENESIS_HASH)
        at = _utcnow()
        entries, rows = [], []
        for action, detail in items:
            text = _canonical_json(detail)
            seq += 1
            row_hash = _audit_hash(prev, seq, at, action, json.loads(text))
            entries.append(AuditEntry(seq, at, action, json.loads(text), prev, row_hash))
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "action": action,
                    "detail": text,
                    "prev_hash": prev,
                    "row_hash": row_hash,
                }
            )
            prev = row_hash
        if rows:
            conn.execute(sa.insert(audit_t), rows)
        return entries

    # -- recipients ------------------------------------------------------------------------

    @staticmethod
    def _recipient_row(r: Recipient, now: datetime) -> dict[str, Any]:
        validate_recipient_id(r.id)
        if not isinstance(r.name, str):
            raise ValueError(f"recipient {r.id}: name must be a string")
        return {
            "id": r.id,
            "name": r.name,
            "email": r.email,
            "org": r.org,
            "created_at": _as_utc(r.created_at or now),
        }

    def add_recipient(self, r: Recipient) -> Recipient:
        """Add one recipient; :class:`DuplicateRecipientError` if its id is taken."""
        return self.add_recipients([r])[0]

    def add_recipients(self, rs: list[Recipient]) -> list[Recipient]:
        """Add recipients in one transaction: all of them, or none if any id is bad or taken."""
        now = _utcnow()
        rows = [self._recipient_row(r, now) for r in rs]
        seen: set[str] = set()
        for row in rows:
            if row["id"] in seen:
                raise DuplicateRecipientError(f"recipient {row['id']} appears twice in the batch")
            seen.add(row["id"])
        if not rows:
            return []
        with self._tx("adding recipients", write=True) as conn:
            for chunk in _chunks([row["id"] for row in rows]):
                taken = conn.execute(
                    sa.select(recipients_t.c.id)
                    .where(recipients_t.c.id.in_(chunk))
                    .order_by(recipients_t.c.id)
                    .limit(1)
                ).scalar()
                if taken is not None:
                    raise DuplicateRecipientError(f"recipient {taken} already exists")
            conn.execute(sa.insert(recipients_t), rows)
            self._append(
                conn, [("recipient added", {"id": row["id"], "name": row["name"]}) for row in rows]
            )
        return [Recipient(**row) for row in rows]

    def get_recipient(self, rid: str) -> Recipient:
        """The recipient with this id; :class:`UnknownRecipientError` if there is none."""
        validate_recipient_id(rid)
        with self._tx("reading a recipient") as conn:
            row = conn.execute(sa.select(recipients_t).where(recipients_t.c.id == rid)).first()
        if row is None:
            raise UnknownRecipientError(f"no recipient {rid} in the registry at {self.location}")
        return _recipient(row)

    def list_recipients(self) -> list[Recipient]:
        """All recipients, sorted by id."""
        with self._tx("listing recipients") as conn:
            rows = conn.execute(sa.select(recipients_t).order_by(recipients_t.c.id)).all()
        return [_recipient(row) for row in rows]

    # -- assets ----------------------------------------------------------------------------

    def add_asset(self, a: Asset) -> Asset:
        """Add an asset, or return the one already registered with the same SHA-256."""
        if not isinstance(a.id, str) or not 0 < len(a.id) <= 200:
            raise ValueError(f"asset id must be 1-200 characters, got {a.id!r:.80}")
        if a.kind not in ASSET_KINDS:
            raise ValueError(f"asset kind must be one of {sorted(ASSET_KINDS)}, got {a.kind!r}")
        row = {
            "id": a.id,
            "sha256": _check_sha(a.sha256, "sha256"),
            "file_name": a.file_name,
            "kind": a.kind,
            "width": int(a.width),
            "height": int(a.height),
            "phash": _to_signed(a.phash, "phash"),
            "dhash": _to_signed(a.dhash, "dhash"),
            "params": _canonical_json(a.params),
            "created_at": _as_utc(a.created_at),
            "parent_id": a.parent_id,
            "page": a.page,
        }
        with self._tx("adding an asset", write=True) as conn:
            same = conn.execute(sa.select(assets_t).where(assets_t.c.sha256 == a.sha256)).first()
            if same is not None:
                return _asset(same)
            if conn.execute(sa.select(assets_t.c.id).where(assets_t.c.id == a.id)).first():
                raise RegistryError(
                    f"asset id {a.id} is already used for a different file "
                    f"in the registry at {self.location}"
                )
            if (
                a.parent_id is not None
                and conn.execute(
                    sa.select(assets_t.c.id).where(assets_t.c.id == a.parent_id)
                ).first()
                is None
            ):
                raise UnknownAssetError(
                    f"no parent asset {a.parent_id} in the registry at {self.location}"
                )
            conn.execute(sa.insert(assets_t), row)
            self._append(
                conn,
                [
                    (
                        "asset added",
                        {"id": a.id, "sha256": a.sha256, "kind": a.kind, "file_name": a.file_name},
                    )
                ],
            )
        return _asset(SimpleNamespace(**row))

    def _asset_exists(self, conn: sa.Connection, asset_id: str) -> None:
        if conn.execute(sa.select(assets_t.c.id).where(assets_t.c.id == asset_id)).first() is None:
            raise UnknownAssetError(f"no asset {asset_id} in the registry at {self.location}")

    def get_asset(self, asset_id: str) -> Asset:
        """The asset with this id; :class:`UnknownAssetError` if there is none."""
        with self._tx("reading an asset") as conn:
            row = conn.execute(sa.select(assets_t).where(assets_t.c.id == asset_id)).first()
        if row is None:
            raise UnknownAssetError(f"no asset {asset_id} in the registry at {self.location}")
        return _asset(row)

    def find_asset_by_sha256(self, sha256: str) -> Asset | None:
        """The asset whose original has this SHA-256, or ``None``."""
        with self._tx("looking up an asset") as conn:
            row = conn.execute(sa.select(assets_t).where(assets_t.c.sha256 == sha256)).first()
        return None if row is None else _asset(row)

    def list_assets(self, kind: str | None = None, *, parent_id: str | None = None) -> list[Asset]:
        """Assets sorted by id, optionally only one kind or only the pages of one document."""
        query = sa.select(assets_t).order_by(assets_t.c.id)
        if kind is not None:
            query = query.where(assets_t.c.kind == kind)
        if parent_id is not None:
            query = query.where(assets_t.c.parent_id == parent_id)
        with self._tx("listing assets") as conn:
            return [_asset(row) for row in conn.execute(query)]

    def hash_table(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Asset ids with their pHash and dHash as ``uint64`` arrays, for vectorised lookup."""
        query = sa.select(assets_t.c.id, assets_t.c.phash, assets_t.c.dhash).order_by(assets_t.c.id)
        with self._tx("reading the hash table") as conn:
            rows = conn.execute(query).all()
        ids = [row.id for row in rows]
        phash = np.array([row.phash for row in rows], dtype=np.int64).view(np.uint64)
        dhash = np.array([row.dhash for row in rows], dtype=np.int64).view(np.uint64)
        return ids, phash, dhash

    # -- copies ----------------------------------------------------------------------------

    def record_copy(self, c: Copy) -> Copy:
        """Record that a recipient received a copy, with its audit row, in one transaction.

        Recording the same (asset, recipient, output SHA-256) again returns the first record.
        """
        _check_sha(c.output_sha256, "output_sha256")
        validate_recipient_id(c.recipient_id)
        key = {
            "asset_id": c.asset_id,
            "recipient_id": c.recipient_id,
            "output_sha256": c.output_sha256,
        }
        with self._tx("recording a copy", write=True) as conn:
            self._asset_exists(conn, c.asset_id)
            if (
                conn.execute(
                    sa.select(recipients_t.c.id).where(recipients_t.c.id == c.recipient_id)
                ).first()
                is None
            ):
                raise UnknownRecipientError(
                    f"no recipient {c.recipient_id} in the registry at {self.location}"
                )
            same = conn.execute(
                sa.select(copies_t).where(*(copies_t.c[k] == v for k, v in key.items()))
            ).first()
            if same is not None:
                return _copy(same)
            row = {**key, "output_name": c.output_name, "created_at": _as_utc(c.created_at)}
            copy_id = conn.execute(sa.insert(copies_t), row).inserted_primary_key[0]
            self._append(
                conn, [("copy recorded", {"copy_id": copy_id, **key, "output_name": c.output_name})]
            )
        return Copy(
            c.asset_id, c.recipient_id, c.output_sha256, c.output_name, row["created_at"], copy_id
        )

    def list_copies(
        self, *, asset_id: str | None = None, recipient_id: str | None = None
    ) -> list[Copy]:
        """Copies in the order they were recorded, optionally for one asset or recipient."""
        query = sa.select(copies_t).order_by(copies_t.c.id)
        if asset_id is not None:
            query = query.where(copies_t.c.asset_id == asset_id)
        if recipient_id is not None:
            query = query.where(copies_t.c.recipient_id == recipient_id)
        with self._tx("listing copies") as conn:
            return [_copy(row) for row in conn.execute(query)]

    def copies_of_asset(self, asset_id: str) -> list[Copy]:
        """Every copy of one asset; :class:`UnknownAssetError` if the asset is unknown."""
        with self._tx("listing copies") as conn:
            self._asset_exists(conn, asset_id)
            rows = conn.execute(
                sa.select(copies_t).where(copies_t.c.asset_id == asset_id).order_by(copies_t.c.id)
            ).all()
        return [_copy(row) for row in rows]

    def recipients_of_asset(self, asset_id: str) -> list[Recipient]:
        """The distinct recipients holding a copy of one asset, sorted by id."""
        holders = sa.select(copies_t.c.recipient_id).where(copies_t.c.asset_id == asset_id)
        with self._tx("listing recipients of an asset") as conn:
            self._asset_exists(conn, asset_id)
            rows = conn.execute(
                sa.select(recipients_t)
                .where(recipients_t.c.id.in_(holders))
                .order_by(recipients_t.c.id)
            ).all()
        return [_recipient(row) for row in rows]

    # -- audit log -------------------------------------------------------------------------

    def append_audit(self, action: str, detail: dict) -> AuditEntry:
        """Append one row to the hash-chained audit log (safe with concurrent processes)."""
        with self._tx("appending to the audit log", write=True) as conn:
            return self._append(conn, [(action, detail)])[0]

    def list_audit(self, *, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Audit rows with ``seq > after_seq`` in order, at most ``limit`` of them."""
        query = sa.select(audit_t).where(audit_t.c.seq > after_seq).order_by(audit_t.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._tx("reading the audit log") as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(r.seq, r.at, r.action, json.loads(r.detail), r.prev_hash, r.row_hash)
            for r in rows
        ]

    def verify_audit(self) -> AuditReport:
        """Recompute the hash chain and report the first row that does not match."""
        rows, prev_hash = 0, GENESIS_HASH
        broken: tuple[int, str] | None = None
        query = sa.select(audit_t).order_by(audit_t.c.seq)
        with self._tx("verifying the audit log") as conn:
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
                    expected = _audit_hash(row.prev_hash, row.seq, row.at, row.action, detail)
                except ValueError:
                    expected = None
                if expected is None or not hmac.compare_digest(expected, row.row_hash):
                    broken = (row.seq, "its content does not match its hash: the row was changed")
                    continue
                prev_hash = row.row_hash
        if broken is None:
            return AuditReport(True, rows, None, None)
        return AuditReport(False, rows, broken[0], f"audit row {broken[0]}: {broken[1]}")

    # -- settings --------------------------------------------------------------------------

    def get_setting(self, name: str) -> str | None:
        """A value stored in the registry's ``meta`` table, or ``None``."""
        with self._tx("reading a setting") as conn:
            return _get_meta(conn, name)

    def set_setting(self, name: str, value: str) -> None:
        """Store a setting (audited). The schema version and key fingerprint cannot be set."""
        if not isinstance(name, str) or not 0 < len(name) <= 200 or name in _RESERVED_SETTINGS:
            raise RegistryError(
                f"cannot set the setting {name!r:.80}: the name is reserved or not 1-200 characters"
            )
        if not isinstance(value, str):
            raise ValueError(f"setting {name}: the value must be a string")
        with self._tx("changing a setting", write=True) as conn:
            _set_meta(conn, name, value)
            self._append(conn, [("setting changed", {"name": name, "value": value})])

    # -- schema ----------------------------------------------------------------------------

    def _check_and_migrate(self) -> None:
        """Check the key against the stored fingerprint, then bring the schema up to date."""
        with self._tx("opening the registry") as conn:
            if not sa.inspect(conn).has_table("meta"):
                raise RegistryNotFoundError(f"no registry at {self.location}: run leaktrace init")
            version = int(_get_meta(conn, "schema_version") or 0)
            fingerprint = _get_meta(conn, "key_fingerprint") or ""
        if not hmac.compare_digest(fingerprint, key_fingerprint(self._key)):
            raise RegistryKeyError(f"the key does not belong to this registry ({self.location})")
        if version > SCHEMA_VERSION:
            raise RegistryError(
                f"the registry at {self.location} has schema version {version}, "
                f"newer than this leaktrace supports ({SCHEMA_VERSION}): upgrade "
                "leaktrace"
            )
        if version < SCHEMA_VERSION:
            with self._tx("migrating the registry schema", write=True) as conn:
                start = int(_get_meta(conn, "schema_version") or 0)
                if start < SCHEMA_VERSION:
                    _migrate(conn, start)
                    self._append(conn, [("schema migrated", {"from": start, "to": SCHEMA_VERSION})])


def _get_meta(conn: sa.Connection, name: str) -> str | None:
    return conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == name)).scalar()


def _set_meta(conn: sa.Connection, name: str, value: str) -> None:
    if conn.execute(sa.update(meta_t).where(meta_t.c.key == name).values(value=value)).rowcount:
        return
    conn.execute(sa.insert(meta_t).values(key=name, value=value))


def _migrate(conn: sa.Connection, start: int) -> None:
    for version in range(start + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn)
        _set_meta(conn, "schema_version", str(version))


# -- locations and engines -----------------------------------------------------------------


def _is_url(location: str) -> bool:
    return "://" in location


def _sqlite_engine(path: Path, timeout: float) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": timeout})
    busy_ms = max(0, int(timeout * 1000))

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see below)
        cur = dbapi_conn.cursor()
        for pragma in (
            f"PRAGMA busy_timeout = {busy_ms}",
            "PRAGMA foreign_keys = ON",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
        ):
            cur.execute(pragma)
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("leaktrace_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(location: str, timeout: float) -> tuple[sa.Engine, str, str | None]:
    """The engine, the location without its password, and the password (to scrub messages)."""
    scheme, _, rest = location.partition("://")
    if scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise RegistryError(
            f"unsupported registry URL scheme {scheme!r:.40}: give a directory "
            "or a postgresql:// URL"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise RegistryError(
            "a PostgreSQL registry needs the psycopg driver: pip install leaktrace[postgres]"
        ) from None
    try:
        url = sa.engine.make_url("postgresql+psycopg://" + rest)
    except (sa_exc.ArgumentError, ValueError):
        raise RegistryError(
            "the registry URL is malformed: expected "
            "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
        ) from None
    secret = url.password or url.query.get("password")
    query = {k: v for k, v in url.query.items() if k.lower() != "password"}
    public = sa.engine.URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )
    engine = sa.create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": max(1, math.ceil(timeout))}
    )
    lock_ms = max(1, int(timeout * 1000))

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {lock_ms}")
        dbapi_conn.commit()

    return engine, public.render_as_string(hide_password=False), (str(secret) if secret else None)


def _connect(location: str, key: bytes, originals_dir: str | None, timeout: float) -> SqlRegistry:
    """A registry object for ``location``; nothing is read or written yet."""
    if _is_url(location):
        engine, public, secret = _postgres_engine(location, timeout)
        store = OriginalStore(Path(originals_dir) if originals_dir else Path())
        return SqlRegistry(
            engine,
            backend="postgresql",
            location=public,
            key=key,
            store=store,
            timeout=timeout,
            secret=secret,
        )
    root = Path(location)
    store = OriginalStore(Path(originals_dir) if originals_dir else root / ORIGINALS_DIR)
    return SqlRegistry(
        _sqlite_engine(root / DB_FILE, timeout),
        backend="sqlite",
        location=os.fspath(location),
        key=key,
        store=store,
        timeout=timeout,
    )


def init_registry(
    location: str,
    *,
    key: bytes | None = None,
    originals_dir: str | None = None,
    timeout: float = 30.0,
) -> SqlRegistry:
    """Create a new registry at a directory (SQLite) or a ``postgresql://`` URL.

    A directory gets ``registry.sqlite``, ``originals/`` and, when no key is given, a new key in
    ``key`` (mode 0600); a given key is not written anywhere. A URL needs ``key`` and
    ``originals_dir`` (kept in the setting ``originals_dir``). Raises :class:`RegistryError` if a
    registry already exists there.
    """
    location = os.fspath(location)
    if originals_dir is not None:
        originals_dir = os.path.abspath(originals_dir)
    created: list[Path] = []
    if _is_url(location):
        if key is None:
            raise RegistryKeyError(
                "a PostgreSQL registry needs its key from you: set "
                "LEAKTRACE_KEY (64 hex characters, e.g. from a new SQLite "
                "registry's key file)"
            )
        if originals_dir is None:
            raise RegistryError(
                "a PostgreSQL registry needs a directory for the originals (originals_dir)"
            )
        key = check_key(key)
    else:
        root = Path(location)
        db = root / DB_FILE
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(
                f"cannot create the registry directory {root}: {exc.strerror or exc}"
            ) from None
        if db.exists():
            raise RegistryError(f"a registry already exists at {root}")
        if key is None:
            key = generate_key()
            _write_key_file(root / KEY_FILE, key)
            created.append(root / KEY_FILE)
        key = check_key(key)
        try:
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            _remove(created)
            raise RegistryError(f"a registry already exists at {root}") from None
        except OSError as exc:
            _remove(created)
            raise RegistryError(
                f"cannot create the registry at {root}: {exc.strerror or exc}"
            ) from None
        created += [db, db.with_name(DB_FILE + "-wal"), db.with_name(DB_FILE + "-shm")]
    reg = _connect(location, key, originals_dir, timeout)
    try:
        with reg._tx("creating the registry", write=True) as conn:
            names = sa.inspect(conn).get_table_names()
            if "meta" in names:
                raise RegistryError(f"a registry already exists at {reg.location}")
            clash = sorted(set(names) & set(metadata.tables))
            if clash:
                raise RegistryError(
                    f"the database at {reg.location} already has a table "
                    f"named {clash[0]}: give an empty database"
                )
            _migrate(conn, 0)
            _set_meta(conn, "key_fingerprint", key_fingerprint(key))
            _set_meta(conn, "created_at", _utcnow().isoformat(timespec="seconds"))
            if originals_dir is not None:
                _set_meta(conn, "originals_dir", originals_dir)
            reg._append(
                conn,
                [("registry created", {"schema_version": SCHEMA_VERSION, "backend": reg.backend})],
            )
        reg.store.root.mkdir(parents=True, exist_ok=True)
    except BaseException as exc:
        reg.close()
        _remove(created)
        if isinstance(exc, OSError):
            raise RegistryError(
                f"cannot create the originals directory {reg.store.root}: {exc.strerror or exc}"
            ) from None
        raise
    return reg


def open_registry(location: str, *, key: bytes | None = None, timeout: float = 30.0) -> SqlRegistry:
    """Open an existing registry at a directory (SQLite) or a ``postgresql://`` URL.

    ``key`` defaults to the directory's key file; a URL needs it. Raises
    :class:`RegistryNotFoundError` when there is no registry and :class:`RegistryKeyError` when the
    key is missing or belongs to another registry. ``timeout`` (seconds) bounds every wait for a
    lock held by another process.
    """
    location = os.fspath(location)
    if _is_url(location):
        if key is None:
            raise RegistryKeyError(
                "a PostgreSQL registry needs its key: set LEAKTRACE_KEY (64 hex characters)"
            )
        reg = _connect(location, check_key(key), None, timeout)
    else:
        root = Path(location)
        if not (root / DB_FILE).is_file():
            raise RegistryNotFoundError(f"no registry at {root}: run leaktrace init")
        if (root / DB_FILE).stat().st_size == 0:
            raise RegistryNotFoundError(
                f"no registry at {root}: {DB_FILE} is empty (an "
                "interrupted init?); remove it and run leaktrace init"
            )
        key = read_key_file(root / KEY_FILE) if key is None else check_key(key)
        reg = _connect(location, key, None, timeout)
    try:
        reg._check_and_migrate()
        originals = reg.get_setting("originals_dir")
    except BaseException:
        reg.close()
        raise
    if originals is not None:
        reg.store = OriginalStore(Path(originals))
    elif reg.backend == "postgresql":
        reg.close()
        raise RegistryError(f"the registry at {reg.location} has no originals_dir setting")
    return reg


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with suppress(OSError):
            path.unlink()
