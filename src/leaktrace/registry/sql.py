"""The registry on SQLAlchemy Core: one implementation for a SQLite file and for PostgreSQL.

Only three things differ between the back ends, and they live in :mod:`.engines` and in
:meth:`SqlRegistry._tx`: how a connection is configured (SQLite pragmas, PostgreSQL lock timeout),
how a writing transaction serialises against other processes (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL) and how a location is named. Every write takes that
lock, so check-then-insert is race-free and the audit chain never forks: two ``mark`` processes on
one registry can neither lose a record nor record one twice.

Tables and migrations are in :mod:`.schema`, the audit chain in :mod:`.audit`, creating and
opening a registry in :mod:`.opening`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from leaktrace.errors import (
    DuplicateRecipientError,
    RegistryError,
    RegistryNotFoundError,
    RegistryReadOnlyError,
    UnknownRecipientError,
)
from leaktrace.registry import audit, schema
from leaktrace.registry.copies import CopiesMixin
from leaktrace.registry.keyed import KeysMixin, read_key_records
from leaktrace.registry.keyring import KeySources
from leaktrace.registry.models import (
    Asset,
    AuditEntry,
    AuditReport,
    Recipient,
    UnknownAssetError,
    validate_recipient_id,
)
from leaktrace.registry.rows import (
    asset_from_row,
    asset_row,
    chunks,
    recipient_from_row,
    recipient_rows,
)
from leaktrace.registry.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    MigrationContext,
    assets_t,
    audit_t,
    copies_t,
    get_meta,
    keys_t,
    meta_t,
    metadata,
    recipients_t,
    set_meta,
)
from leaktrace.registry.store import OriginalStore

__all__ = ["SCHEMA_VERSION", "SqlRegistry"]

# Kept importable from here: tests and tools that inspect the tables reach them through this module.
_REEXPORTED = (MIGRATIONS, metadata, meta_t, recipients_t, assets_t, copies_t, audit_t, keys_t)
GENESIS_HASH = audit.GENESIS_HASH
_RESERVED_SETTINGS = frozenset(
    {"schema_version", "key_fingerprint", "assets_revision", "audit_chain"}
)
_PG_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"leaktrace/registry-write-lock").digest()[:8], "big", signed=True
)


class SqlRegistry(CopiesMixin, KeysMixin):
    """Recipients, assets, copies and the audit log in one SQL database.

    Build it with :func:`init_registry` or :func:`open_registry`. ``location`` names the registry
    in messages (a directory, or a URL without its password); ``store`` holds the originals. Every
    public method raises :class:`~leaktrace.errors.RegistryError` (not a SQLAlchemy error) when the
    database is locked, read-only or unreachable.

    ``read_only`` is true when the registry was opened read-only (asked for, or because writes are
    refused: read-only media, a database role that may only read); then every method that would
    write raises :class:`~leaktrace.errors.RegistryReadOnlyError` instead, ``append_audit``
    included, and ``read_only_reason`` says why. An investigation logs to a
    :class:`~leaktrace.registry.caselog.CaseLog` instead.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        backend: str,
        location: str,
        sources: KeySources,
        store: OriginalStore,
        timeout: float,
        secret: str | None = None,
        open_location: str | None = None,
        read_only_reason: str | None = None,
    ) -> None:
        self._engine = engine
        self._open_location = open_location or location
        self.backend = backend
        self.location = location
        self._init_keys(sources)
        self.store = store
        self._timeout = timeout
        self._secret = secret or None  # the URL password, scrubbed from driver messages
        self._hash_cache: tuple[str, list[str], np.ndarray, np.ndarray] | None = None
        self.read_only_reason = read_only_reason

    @property
    def read_only(self) -> bool:
        """Whether this registry object refuses every write (see the class docstring)."""
        return self.read_only_reason is not None

    @property
    def open_location(self) -> str:
        """The location as it was opened, password included: what a worker process passes to
        :func:`open_registry` to open the same registry. Never show it; show ``location``."""
        return self._open_location

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
        if (
            "readonly" in low
            or "read-only" in low
            or state in ("25006", "42501")  # read-only transaction; insufficient privilege
        ):
            return RegistryReadOnlyError(f"{where} is read-only: {doing} needs write access to it")
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
        if write and self.read_only:
            raise RegistryReadOnlyError(
                f"the registry at {self.location} is open read-only ({self.read_only_reason}): "
                f"{doing} needs write access to it"
            )
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

    # -- recipients ------------------------------------------------------------------------

    def add_recipient(self, r: Recipient) -> Recipient:
        """Add one recipient; :class:`DuplicateRecipientError` if its id is taken."""
        return self.add_recipients([r])[0]

    def add_recipients(self, rs: list[Recipient]) -> list[Recipient]:
        """Add recipients in one transaction: all of them, or none if any id is bad or taken."""
        rows = recipient_rows(rs)
        if not rows:
            return []
        with self._tx("adding recipients", write=True) as conn:
            taken = self._existing_recipients(conn, [row["id"] for row in rows])
            if taken:
                raise DuplicateRecipientError(f"recipient {min(taken)} already exists")
            self._insert_recipients(conn, rows)
        return [Recipient(**row) for row in rows]

    def add_missing_recipients(self, rs: list[Recipient]) -> list[Recipient]:
        """Add the recipients whose id the registry does not hold yet, in one transaction.

        Recipients already present are left as they are (their name, e-mail and organisation are
        not changed). All or nothing: if any id is invalid or appears twice, none is added. Safe
        when several processes add the same list at once. Returns the recipients added.
        """
        rows = recipient_rows(rs)
        if not rows:
            return []
        with self._tx("adding recipients", write=True) as conn:
            taken = self._existing_recipients(conn, [row["id"] for row in rows])
            rows = [row for row in rows if row["id"] not in taken]
            if rows:
                self._insert_recipients(conn, rows)
        return [Recipient(**row) for row in rows]

    def _existing_recipients(self, conn: sa.Connection, ids: Sequence[str]) -> set[str]:
        return self._existing(conn, recipients_t, ids)

    def _insert_recipients(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        conn.execute(sa.insert(recipients_t), rows)
        self._append(
            conn, [("recipient added", {"id": row["id"], "name": row["name"]}) for row in rows]
        )

    def get_recipient(self, rid: str) -> Recipient:
        """The recipient with this id; :class:`UnknownRecipientError` if there is none."""
        return self.get_recipients([rid])[0]

    def get_recipients(self, ids: Sequence[str]) -> list[Recipient]:
        """The recipients with these ids, in the same order; :class:`UnknownRecipientError` if
        any is unknown."""
        for rid in ids:
            validate_recipient_id(rid)
        found: dict[str, Recipient] = {}
        with self._tx("reading recipients") as conn:
            for chunk in chunks(sorted(set(ids))):
                for row in conn.execute(
                    sa.select(recipients_t).where(recipients_t.c.id.in_(chunk))
                ):
                    found[row.id] = recipient_from_row(row)
        missing = [rid for rid in ids if rid not in found]
        if missing:
            raise UnknownRecipientError(
                f"no recipient {missing[0]} in the registry at {self.location}"
            )
        return [found[rid] for rid in ids]

    def list_recipients(self) -> list[Recipient]:
        """All recipients, sorted by id."""
        with self._tx("listing recipients") as conn:
            rows = conn.execute(sa.select(recipients_t).order_by(recipients_t.c.id)).all()
        return [recipient_from_row(row) for row in rows]

    # -- assets ----------------------------------------------------------------------------

    def add_asset(self, a: Asset) -> Asset:
        """Add an asset, or return the one already registered with the same SHA-256."""
        return self.add_assets([a])[0]

    def add_assets(self, assets: Sequence[Asset]) -> list[Asset]:
        """Add assets in one transaction, all or nothing; for each, return the asset registered
        with its SHA-256 (the one given, or one registered before, in or before this batch).

        Raises :class:`RegistryError` when an id is taken by a different file and
        :class:`UnknownAssetError` when a parent is neither registered nor earlier in the batch.
        """
        rows = [asset_row(a) for a in assets]
        if not rows:
            return []
        with self._tx("adding assets", write=True) as conn:
            known: dict[str, Asset] = {}  # by SHA-256
            for chunk in chunks(sorted({row["sha256"] for row in rows})):
                query = sa.select(assets_t).where(assets_t.c.sha256.in_(chunk))
                known.update((r.sha256, asset_from_row(r)) for r in conn.execute(query))
            fresh: list[dict] = []
            for row in rows:
                if row["sha256"] not in known:
                    known[row["sha256"]] = asset_from_row(SimpleNamespace(**row))
                    fresh.append(row)
            new_ids = [row["id"] for row in fresh]
            if len(set(new_ids)) < len(new_ids):
                twice = sorted({i for i in new_ids if new_ids.count(i) > 1})[0]
                raise RegistryError(f"asset id {twice} is given to two different files")
            taken = self._existing(conn, assets_t, new_ids)
            if taken:
                raise RegistryError(
                    f"asset id {min(taken)} is already used for a different file "
                    f"in the registry at {self.location}"
                )
            parents = sorted({r["parent_id"] for r in fresh if r["parent_id"]} - set(new_ids))
            missing = sorted(set(parents) - self._existing(conn, assets_t, parents))
            if missing:
                raise UnknownAssetError(
                    f"no parent asset {missing[0]} in the registry at {self.location}"
                )
            if fresh:
                conn.execute(sa.insert(assets_t), fresh)
                revision = int(get_meta(conn, "assets_revision") or 0) + 1
                set_meta(conn, "assets_revision", str(revision))
                detail = ("id", "sha256", "kind", "file_name")
                self._append(conn, [("asset added", {k: row[k] for k in detail}) for row in fresh])
        return [known[row["sha256"]] for row in rows]

    @staticmethod
    def _existing(conn: sa.Connection, table: sa.Table, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are primary keys of ``table``."""
        found: set[str] = set()
        for chunk in chunks(ids):
            query = sa.select(table.c.id).where(table.c.id.in_(chunk))
            found.update(conn.execute(query).scalars().all())
        return found

    def _asset_exists(self, conn: sa.Connection, asset_id: str) -> None:
        if conn.execute(sa.select(assets_t.c.id).where(assets_t.c.id == asset_id)).first() is None:
            raise UnknownAssetError(f"no asset {asset_id} in the registry at {self.location}")

    def get_asset(self, asset_id: str) -> Asset:
        """The asset with this id; :class:`UnknownAssetError` if there is none."""
        with self._tx("reading an asset") as conn:
            row = conn.execute(sa.select(assets_t).where(assets_t.c.id == asset_id)).first()
        if row is None:
            raise UnknownAssetError(f"no asset {asset_id} in the registry at {self.location}")
        return asset_from_row(row)

    def get_assets(self, asset_ids: Sequence[str]) -> list[Asset]:
        """The assets with these ids that exist, in the order asked (one query, not one per id:
        identify looks up its few hash candidates among millions of rows)."""
        wanted = list(dict.fromkeys(asset_ids))
        if not wanted:
            return []
        with self._tx("reading assets") as conn:
            rows = conn.execute(sa.select(assets_t).where(assets_t.c.id.in_(wanted))).all()
        found = {row.id: asset_from_row(row) for row in rows}
        return [found[aid] for aid in wanted if aid in found]

    def find_asset_by_sha256(self, sha256: str) -> Asset | None:
        """The asset whose original has this SHA-256, or ``None``."""
        with self._tx("looking up an asset") as conn:
            row = conn.execute(sa.select(assets_t).where(assets_t.c.sha256 == sha256)).first()
        return None if row is None else asset_from_row(row)

    def list_assets(self, kind: str | None = None, *, parent_id: str | None = None) -> list[Asset]:
        """Assets sorted by id, optionally only one kind or only the pages of one document."""
        query = sa.select(assets_t).order_by(assets_t.c.id)
        if kind is not None:
            query = query.where(assets_t.c.kind == kind)
        if parent_id is not None:
            query = query.where(assets_t.c.parent_id == parent_id)
        with self._tx("listing assets") as conn:
            return [asset_from_row(row) for row in conn.execute(query)]

    def hash_table(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Asset ids with their pHash and dHash as ``uint64`` arrays, for vectorised lookup.

        The table is kept in memory and read again only when another asset was added (by any
        process): a lookup among 10^6 assets then costs one small query. Do not modify the
        returned list or arrays (the arrays are read-only).
        """
        with self._tx("reading the hash table") as conn:
            revision = get_meta(conn, "assets_revision")
            cached = self._hash_cache
            if revision is not None and cached is not None and cached[0] == revision:
                return cached[1], cached[2], cached[3]
            query = sa.select(assets_t.c.id, assets_t.c.phash, assets_t.c.dhash).order_by(
                assets_t.c.id
            )
            rows = conn.execute(query).all()
        ids = [row[0] for row in rows]
        phash = np.fromiter((row[1] for row in rows), np.int64, len(rows)).view(np.uint64)
        dhash = np.fromiter((row[2] for row in rows), np.int64, len(rows)).view(np.uint64)
        phash.setflags(write=False)
        dhash.setflags(write=False)
        if revision is not None:
            self._hash_cache = (revision, ids, phash, dhash)
        return ids, phash, dhash

    # -- audit log -------------------------------------------------------------------------

    def append_audit(self, action: str, detail: dict) -> AuditEntry:
        """Append one row to the keyed, hash-chained audit log (safe with concurrent processes).

        Raises :class:`~leaktrace.errors.RegistryReadOnlyError` on a read-only registry, without
        writing anything: log to a :class:`~leaktrace.registry.caselog.CaseLog` instead (see
        :func:`leaktrace.registry.caselog.log_event`).
        """
        with self._tx("appending to the audit log", write=True) as conn:
            return self._append(conn, [(action, detail)])[0]

    def append_audit_once(
        self, action: str, build: Callable[[list[dict]], list[tuple[str, dict]]]
    ) -> list[AuditEntry]:
        """Append the rows ``build`` returns, in one write transaction that first hands it the
        details of every existing row with ``action``: for what must be recorded once whatever
        runs at the same time (merging a case file). Returns the rows appended."""
        with self._tx("appending to the audit log", write=True) as conn:
            query = sa.select(audit_t.c.detail).where(audit_t.c.action == action)
            items = build([json.loads(text) for text in conn.execute(query).scalars()])
            return self._append(conn, items) if items else []

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
        """Recompute the keyed chain and report the first row that does not match.

        Raises :class:`~leaktrace.errors.RegistryKeyError`, not a broken report, when part of the
        log was chained under a key this process was not given.
        """
        with self._tx("verifying the audit log") as conn:
            return audit.verify(conn, self._subkey_for())

    def audit_head(self) -> tuple[int, str]:
        """The last audit row's ``seq`` and ``row_hash`` (``(0, GENESIS_HASH)`` when empty)."""
        with self._tx("reading the audit log") as conn:
            return audit.head(conn)

    # -- settings --------------------------------------------------------------------------

    def get_setting(self, name: str) -> str | None:
        """A value stored in the registry's ``meta`` table, or ``None``."""
        with self._tx("reading a setting") as conn:
            return get_meta(conn, name)

    def set_setting(self, name: str, value: str) -> None:
        """Store a setting (audited). The schema version and key fingerprint cannot be set."""
        if not isinstance(name, str) or not 0 < len(name) <= 200 or name in _RESERVED_SETTINGS:
            raise RegistryError(
                f"cannot set the setting {name!r:.80}: the name is reserved or not 1-200 characters"
            )
        if not isinstance(value, str):
            raise ValueError(f"setting {name}: the value must be a string")
        with self._tx("changing a setting", write=True) as conn:
            set_meta(conn, name, value)
            self._append(conn, [("setting changed", {"name": name, "value": value})])

    # -- schema ----------------------------------------------------------------------------

    def _check_and_migrate(self) -> None:
        """Match the keys to the stored fingerprints, then bring the schema up to date."""
        target = schema.SCHEMA_VERSION  # read at call time, so tests can stage a newer one
        with self._tx("opening the registry") as conn:
            if not sa.inspect(conn).has_table("meta"):
                raise RegistryNotFoundError(f"no registry at {self.location}: run leaktrace init")
            version = int(get_meta(conn, "schema_version") or 0)
            records = read_key_records(conn, min(version, target))
            refused = self._writes_refused(conn)
        if refused is not None and self.read_only_reason is None:
            self.read_only_reason = refused
        self._adopt_keys(records)
        if version > target:
            raise RegistryError(
                f"the registry at {self.location} has schema version {version}, "
                f"newer than this leaktrace supports ({target}): upgrade leaktrace"
            )
        if version < target:
            if self.read_only:
                raise RegistryReadOnlyError(
                    f"the registry at {self.location} has schema version {version} and must be "
                    f"upgraded to {target}, but it is open read-only ({self.read_only_reason}): "
                    "open it once with write access, or work on a copy of it"
                )
            with self._tx("migrating the registry schema", write=True) as conn:
                start = int(get_meta(conn, "schema_version") or 0)
                if start < target:
                    ctx = MigrationContext(key=self.key_for(1), location=self.location)
                    schema.migrate(conn, start, target, ctx=ctx)
                    self._append(conn, [("schema migrated", {"from": start, "to": target})])
                records = read_key_records(conn, target)
            self._adopt_keys(records)

    def _writes_refused(self, conn: sa.Connection) -> str | None:
        """Why the database would refuse this process's writes, or None. PostgreSQL only: a
        SQLite file's writability is known before it is opened (see :mod:`.opening`)."""
        if self.backend != "postgresql":
            return None
        row = conn.execute(
            sa.text(
                "SELECT current_setting('transaction_read_only'), "
                "has_table_privilege('audit', 'INSERT'), current_user"
            )
        ).one()
        if row[0] == "on":
            return "the database server accepts no writes (a standby, or read-only by default)"
        if not row[1]:
            return f"the database role {row[2]} may not write to the registry's tables"
        return None
