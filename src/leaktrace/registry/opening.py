"""Creating and opening a registry: a directory (SQLite) or a ``postgresql://`` URL.

A directory holds ``registry.sqlite``, the current key in ``key`` (mode 0600), every key by id in
``keys/`` once the key has been rotated (:mod:`.keyring`), and ``originals/``. A PostgreSQL
registry keeps no key (it comes from the caller: ``$LEAKTRACE_KEY``, or a keyring file in
``$LEAKTRACE_KEYRING``) and stores the path of its originals directory in the setting
``originals_dir``, so every member of a team and every worker of a cluster finds the same
originals (a shared file system path).

A registry whose database refuses writes (a SQLite file on read-only media or without write
permission, a PostgreSQL role that may only read, a standby server) opens read-only by itself:
see :attr:`SqlRegistry.read_only`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from leaktrace.errors import (
    RegistryError,
    RegistryKeyError,
    RegistryNotFoundError,
    RegistryReadOnlyError,
)
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
from leaktrace.registry.keyed import read_key_records
from leaktrace.registry.keyring import KeySources
from leaktrace.registry.keys import check_key, generate_key, key_fingerprint
from leaktrace.registry.keys import write_key_file as _write_key_file
from leaktrace.registry.models import KeyInfo
from leaktrace.registry.schema import MigrationContext, as_utc, get_meta, set_meta
from leaktrace.registry.sql import SqlRegistry
from leaktrace.registry.store import OriginalStore

__all__ = [
    "KeyRecords",
    "init_registry",
    "key_sources_for",
    "open_registry",
    "read_registry_keys",
]

Keyring = str | os.PathLike[str] | Mapping[int, bytes] | None


def _sqlite_refusal(root: Path) -> str | None:
    """Why SQLite could not write the registry in ``root``, or None. ``access`` answers for
    read-only mounts and immutable files even to root, who ignores permission bits."""
    db = root / DB_FILE
    if not os.access(db, os.W_OK):
        return f"{db} is not writable"
    if not os.access(root, os.W_OK):  # SQLite writes its write-ahead log beside the file
        return f"its folder {root} is not writable"
    return None


def _sqlite_read_mode(root: Path) -> str:
    """How to open a registry read-only: ``"ro"`` when SQLite can keep its shared memory beside
    the file, ``"immutable"`` on read-only media (where nobody can change it either)."""
    if os.access(root, os.W_OK):
        return "ro"
    wal = root / (DB_FILE + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        if not (root / (DB_FILE + "-shm")).is_file():
            raise RegistryError(
                f"the registry at {root} is on read-only media with an unfinished write-ahead "
                f"log ({wal.name}) and no {DB_FILE}-shm: copy the folder to writable storage "
                "and open the copy"
            )
        return "ro"  # SQLite reads the log through the existing shared-memory file
    return "immutable"


def _connect(
    location: str,
    sources: KeySources,
    originals_dir: str | None,
    timeout: float,
    *,
    read_only_reason: str | None = None,
) -> SqlRegistry:
    """A registry object for ``location``; nothing is read or written yet."""
    if is_url(location):
        pg = parse_postgres_url(location)
        store = OriginalStore(Path(originals_dir) if originals_dir else Path())
        return SqlRegistry(
            postgres_engine(pg, timeout, read_only=read_only_reason is not None),
            backend="postgresql",
            location=pg.public,
            sources=sources,
            store=store,
            timeout=timeout,
            secret=pg.secret,
            open_location=location,
            read_only_reason=read_only_reason,
        )
    root = Path(location)
    store = OriginalStore(Path(originals_dir) if originals_dir else root / ORIGINALS_DIR)
    mode = "rw" if read_only_reason is None else _sqlite_read_mode(root)
    return SqlRegistry(
        sqlite_engine(root / DB_FILE, timeout, mode=mode),
        backend="sqlite",
        location=os.fspath(location),
        sources=sources,
        store=store,
        timeout=timeout,
        open_location=os.path.abspath(location),
        read_only_reason=read_only_reason,
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
    ``originals_dir`` (kept in the setting ``originals_dir``). The key becomes key 1. Raises
    :class:`RegistryError` if a registry already exists there.
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
        sources = KeySources(key=key)
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
        sources = KeySources(key=key, folder=root)
    reg = _connect(location, sources, originals_dir, timeout)
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
            schema.migrate(conn, 0, ctx=MigrationContext(key=key, location=reg.location))
            set_meta(conn, "key_fingerprint", key_fingerprint(key))
            set_meta(conn, "created_at", as_utc(None).isoformat(timespec="seconds"))
            if originals_dir is not None:
                set_meta(conn, "originals_dir", originals_dir)
            reg._adopt_keys(read_key_records(conn, schema.SCHEMA_VERSION))
            reg._append(
                conn,
                [
                    (
                        "registry created",
                        {
                            "schema_version": schema.SCHEMA_VERSION,
                            "backend": reg.backend,
                            "key_id": 1,
                            "key_fingerprint": key_fingerprint(key),
                        },
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


def key_sources_for(location: str, key: bytes | None, keyring: Keyring) -> KeySources:
    """Where a process opening ``location`` with ``key`` and ``keyring`` looks for its keys."""
    if is_url(location):
        if key is None and keyring is None:
            raise RegistryKeyError(
                "a PostgreSQL registry needs its key: set LEAKTRACE_KEY (64 hex characters), "
                "or LEAKTRACE_KEYRING to a keyring file once its key was rotated"
            )
        return KeySources(key=key, keyring=keyring)
    return KeySources(key=key, folder=location, keyring=keyring)


def _check_folder(root: Path) -> None:
    if not (root / DB_FILE).is_file():
        raise RegistryNotFoundError(f"no registry at {root}: run leaktrace init")
    if (root / DB_FILE).stat().st_size == 0:
        raise RegistryNotFoundError(
            f"no registry at {root}: {DB_FILE} is empty (an "
            "interrupted init?); remove it and run leaktrace init"
        )


def open_registry(
    location: str,
    *,
    key: bytes | None = None,
    keyring: Keyring = None,
    read_only: bool | None = None,
    timeout: float = 30.0,
) -> SqlRegistry:
    """Open an existing registry at a directory (SQLite) or a ``postgresql://`` URL.

    Parameters
    ----------
    location
        A registry folder or a ``postgresql://`` URL.
    key
        The registry key; it must be one of the registry's keys. Default: the folder's key
        file. A URL needs ``key`` or ``keyring``.
    keyring
        More of the registry's keys, after a rotation: a keyring file (``ID:HEX`` lines) or a
        mapping of key ids to keys (see :mod:`.keyring`). A folder's ``keys/`` are always read.
    read_only
        ``True`` opens the registry read-only (nothing can be written, not even the audit log);
        ``False`` requires write access (:class:`RegistryReadOnlyError` otherwise); ``None``
        (default) opens it read-only by itself when the database refuses writes.
    timeout
        Seconds to wait for a lock held by another process, at most.

    Raises
    ------
    RegistryNotFoundError
        There is no registry at ``location``.
    RegistryKeyError
        A key is missing, malformed or belongs to another registry, or the current key (the newest)
        is not among the keys given.
    RegistryReadOnlyError
        ``read_only=False`` and writes are refused, or an older schema needs upgrading and the
        registry is read-only.

    Notes
    -----
    An older schema is migrated on the way, in one transaction.
    """
    location = os.fspath(location)
    sources = key_sources_for(location, None if key is None else check_key(key), keyring)
    refused = "asked for" if read_only else None
    if not is_url(location):
        root = Path(location)
        _check_folder(root)
        refused = refused or _sqlite_refusal(root)
    if refused is not None and read_only is False:
        raise RegistryReadOnlyError(
            f"the registry at {location} is read-only ({refused}): this needs write access to it"
        )
    reg = _connect(location, sources, None, timeout, read_only_reason=refused)
    try:
        reg._check_and_migrate()
        if reg.read_only and read_only is False:
            raise RegistryReadOnlyError(
                f"the registry at {reg.location} is read-only ({reg.read_only_reason}): "
                "this needs write access to it"
            )
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
    reg.store.read_only_reason = reg.read_only_reason
    return reg


@dataclass(frozen=True)
class KeyRecords:
    """What a registry records of its keys, read without any key: enough to tell whether a key,
    a keyring or a key backup belongs to it."""

    location: str
    registry_fingerprint: str
    keys: list[KeyInfo]
    folder: Path | None

    @property
    def current(self) -> KeyInfo:
        return self.keys[-1]


def read_registry_keys(location: str, *, timeout: float = 30.0) -> KeyRecords:
    """The registry's key records (ids, fingerprints, times: no key), without opening it.

    Needs no key and writes nothing, so it works on any registry leaktrace can read, of any
    schema version (before version 3 a registry had only key 1).
    """
    location = os.fspath(location)
    if is_url(location):
        engine = postgres_engine(parse_postgres_url(location), timeout, read_only=True)
        public = parse_postgres_url(location).public
        folder = None
    else:
        root = Path(location)
        _check_folder(root)
        engine = sqlite_engine(root / DB_FILE, timeout, mode=_sqlite_read_mode(root))
        public, folder = location, root
    reg = SqlRegistry(
        engine,
        backend="postgresql" if is_url(location) else "sqlite",
        location=public,
        sources=KeySources(),
        store=OriginalStore(Path()),
        timeout=timeout,
        secret=parse_postgres_url(location).secret if is_url(location) else None,
        read_only_reason="reading its keys",
    )
    try:
        with reg._tx("reading the registry's keys") as conn:
            if not sa.inspect(conn).has_table("meta"):
                raise RegistryNotFoundError(f"no registry at {public}: run leaktrace init")
            version = int(get_meta(conn, "schema_version") or 0)
            records = read_key_records(conn, min(version, schema.SCHEMA_VERSION))
    finally:
        reg.close()
    return KeyRecords(public, records[0].fingerprint, records, folder)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with suppress(OSError):
            path.unlink()
