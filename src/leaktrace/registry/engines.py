"""Where a registry lives, and the SQLAlchemy engine for it.

Two back ends differ only here (and in :meth:`SqlRegistry._tx`): a directory holds a SQLite file in
WAL mode whose writers serialise with ``BEGIN IMMEDIATE``; a ``postgresql://`` URL names a database
whose writers serialise on a transaction-scoped advisory lock. The URL's password never reaches a
message: the registry is named by the URL without it, and driver messages are scrubbed of it.
"""

from __future__ import annotations

import math
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from leaktrace.errors import RegistryError

__all__ = [
    "DB_FILE",
    "KEY_FILE",
    "ORIGINALS_DIR",
    "SQLITE_MODES",
    "PgLocation",
    "is_url",
    "postgres_engine",
    "sqlite_engine",
]

DB_FILE = "registry.sqlite"
KEY_FILE = "key"
ORIGINALS_DIR = "originals"
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def is_url(location: str) -> bool:
    """Whether ``location`` is a database URL rather than a directory."""
    return "://" in location


#: How a SQLite file is opened: for writing, read-only (its WAL shared memory can still be made
#: beside it), or as immutable (read-only media: nothing can be created beside the file, and
#: nobody can change it, so SQLite need not lock it).
SQLITE_MODES = ("rw", "ro", "immutable")


def sqlite_engine(path: Path, timeout: float, *, mode: str = "rw") -> sa.Engine:
    """An engine on the SQLite file ``path``: WAL, foreign keys, full sync, busy timeout; or a
    read-only one (``mode`` ``"ro"`` or ``"immutable"``, see :data:`SQLITE_MODES`)."""
    if mode not in SQLITE_MODES:
        raise ValueError(f"mode must be one of {SQLITE_MODES}, got {mode!r}")
    if mode == "rw":
        engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": timeout})
    else:
        query = "mode=ro" + ("&immutable=1" if mode == "immutable" else "")
        uri = f"file:{urllib.parse.quote(str(Path(path).absolute()))}?{query}"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)

        # A pool as for any file database (the "sqlite://" URL alone would mean one in memory).
        engine = sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.QueuePool)
    busy_ms = max(0, int(timeout * 1000))
    pragmas = [f"PRAGMA busy_timeout = {busy_ms}", "PRAGMA foreign_keys = ON"]
    if mode == "rw":  # a read-only connection can neither change nor need these
        pragmas += ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"]

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see below)
        cur = dbapi_conn.cursor()
        for pragma in pragmas:
            cur.execute(pragma)
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # A writer takes the database lock when it begins, not at its first write: two
        # check-then-insert transactions can then never interleave.
        write = conn.get_execution_options().get("leaktrace_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@dataclass(frozen=True)
class PgLocation:
    """A PostgreSQL registry URL, split into what may be shown and what may not."""

    url: sa.engine.URL  # with the password, for the driver only
    public: str  # the URL without the password, for messages
    secret: str | None  # the password, scrubbed from driver messages


def parse_postgres_url(location: str) -> PgLocation:
    """Check a ``postgresql://`` URL and split off its password."""
    scheme, _, rest = location.partition("://")
    if scheme.lower() not in _PG_SCHEMES:
        raise RegistryError(
            f"unsupported registry URL scheme {scheme!r:.40}: give a directory "
            "or a postgresql:// URL"
        )
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
    return PgLocation(
        url, public.render_as_string(hide_password=False), str(secret) if secret else None
    )


def postgres_engine(location: PgLocation, timeout: float, *, read_only: bool = False) -> sa.Engine:
    """An engine on a PostgreSQL database; every wait for a lock is bounded by ``timeout``. A
    ``read_only`` one has the server refuse every write of its sessions, whatever the role may do."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise RegistryError(
            "a PostgreSQL registry needs the psycopg driver: pip install leaktrace[postgres]"
        ) from None
    engine = sa.create_engine(
        location.url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": max(1, math.ceil(timeout))},
    )
    lock_ms = max(1, int(timeout * 1000))

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {lock_ms}")
            if read_only:
                cur.execute("SET default_transaction_read_only = on")
        dbapi_conn.commit()

    return engine
