"""Creating and opening a registry: a directory (SQLite) or a ``postgresql://`` URL.

A directory holds ``registry.sqlite``, the key file ``key`` (mode 0600) and ``originals/``. A
PostgreSQL registry keeps no key (it comes from the caller, e.g. ``$LEAKTRACE_KEY``) and stores the
path of its originals directory in the setting ``originals_dir``, so every member of a team and
every worker of a cluster finds the same originals (a shared file system path).
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa

from leaktrace.errors import RegistryError, RegistryKeyError, RegistryNotFoundError
from leaktrace.registry import schema
from leaktrace.registry.engines import (
    DB_FILE,
    KEY_FILE,
    ORIGINALS_DIR,
    is_url,
    parse_postgres_url,
    postgres_engine,
    sqlite_engine,
)
from leaktrace.registry.keys import check_key, generate_key, key_fingerprint, read_key_file
from leaktrace.registry.keys import write_key_file as _write_key_file
from leaktrace.registry.schema import as_utc, get_meta, set_meta
from leaktrace.registry.sql import SqlRegistry
from leaktrace.registry.store import OriginalStore

__all__ = ["init_registry", "open_registry"]


def _connect(location: str, key: bytes, originals_dir: str | None, timeout: float) -> SqlRegistry:
    """A registry object for ``location``; nothing is read or written yet."""
    if is_url(location):
        pg = parse_postgres_url(location)
        store = OriginalStore(Path(originals_dir) if originals_dir else Path())
        return SqlRegistry(
            postgres_engine(pg, timeout),
            backend="postgresql",
            location=pg.public,
            key=key,
            store=store,
            timeout=timeout,
            secret=pg.secret,
            open_location=location,
        )
    root = Path(location)
    store = OriginalStore(Path(originals_dir) if originals_dir else root / ORIGINALS_DIR)
    return SqlRegistry(
        sqlite_engine(root / DB_FILE, timeout),
        backend="sqlite",
        location=os.fspath(location),
        key=key,
        store=store,
        timeout=timeout,
        open_location=os.path.abspath(location),
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
    if is_url(location):
        if key is None:
            raise RegistryKeyError(
                "a PostgreSQL registry needs its key from you: set LEAKTRACE_KEY to 64 hex "
                "characters (leaktrace keygen prints a new one) and keep it in a secret store"
            )
        if originals_dir is None:
            raise RegistryError(
                "a PostgreSQL registry needs a directory for the originals (originals_dir): "
                "give a path every user and worker can reach, e.g. leaktrace init --originals DIR"
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
            clash = sorted(set(names) & set(schema.metadata.tables))
            if clash:
                raise RegistryError(
                    f"the database at {reg.location} already has a table "
                    f"named {clash[0]}: give an empty database"
                )
            schema.migrate(conn, 0)
            set_meta(conn, "key_fingerprint", key_fingerprint(key))
            set_meta(conn, "created_at", as_utc(None).isoformat(timespec="seconds"))
            if originals_dir is not None:
                set_meta(conn, "originals_dir", originals_dir)
            reg._append(
                conn,
                [
                    (
                        "registry created",
                        {"schema_version": schema.SCHEMA_VERSION, "backend": reg.backend},
                    )
                ],
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
    lock held by another process. An older schema is migrated on the way.
    """
    location = os.fspath(location)
    if is_url(location):
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
        with reg._tx("reading a setting") as conn:
            originals = get_meta(conn, "originals_dir")
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
