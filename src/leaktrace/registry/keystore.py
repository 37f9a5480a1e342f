"""Managing a registry's keys: rotating to a new key, backing keys up, restoring and checking them.

Where keys live (see :mod:`.keyring`):

- a folder registry whose key is in ``DIR/key``: ``DIR/key`` holds the current key and, once the
  key has been rotated, ``DIR/keys/ID`` every key by id (all mode 0600, the folder 0700);
- any other registry (PostgreSQL, or a folder whose key comes from ``$LEAKTRACE_KEY``): a keyring
  file of ``ID:HEX`` lines (mode 0600) that the caller names, and keeps in a secret store.

A rotation is ordered so that a crash at any point loses no key and leaves a registry that opens:
the new key is written where it will be found first (a new file, never over another), then the
database records it (one transaction: the ``key rotated`` audit row and the key's row), and only
then does ``DIR/key`` become the new key. A key written but never recorded is adopted by the next
rotation.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from leaktrace.errors import KeyBackupError, RegistryKeyError
from leaktrace.registry.backup import KeyBackup, seal_keys
from leaktrace.registry.engines import KEY_FILE
from leaktrace.registry.files import replace_file, write_new_file
from leaktrace.registry.keyring import (
    KEYS_DIR,
    KeyCandidate,
    KeySources,
    format_keyring,
    read_keyring,
    resolve_keys,
)
from leaktrace.registry.keys import check_key, generate_key, key_fingerprint, read_key_file
from leaktrace.registry.models import KeyInfo
from leaktrace.registry.opening import KeyRecords, read_registry_keys
from leaktrace.registry.sql import SqlRegistry

__all__ = [
    "KeyCheck",
    "Restored",
    "Rotated",
    "backup_keys",
    "check_keys",
    "restore_keys",
    "rotate_key",
]


def _key_text(key: bytes) -> bytes:
    return (check_key(key).hex() + "\n").encode("ascii")


def _file_key(path: Path, key: bytes, written: list[Path]) -> None:
    """Make ``path`` hold ``key`` (a new 0600 file); an existing file must already hold it."""
    if path.exists():
        if not hmac.compare_digest(read_key_file(path), key):
            raise RegistryKeyError(f"{path} holds a different key: refusing to overwrite it")
        return
    try:
        write_new_file(path, _key_text(key))
    except OSError as exc:
        raise RegistryKeyError(f"cannot write the key file {path}: {exc.strerror or exc}") from None
    written.append(path)


@dataclass(frozen=True)
class Rotated:
    """The new current key, and the files the rotation wrote."""

    key: KeyInfo
    written: list[Path] = field(default_factory=list)


def _every_key(registry: SqlRegistry, doing: str) -> dict[int, bytes]:
    missing = [k.id for k in registry.list_keys() if not k.available]
    if missing:
        raise RegistryKeyError(
            f"{doing} needs every key of the registry at {registry.location}, and key "
            f"{missing[0]} is not available here: give it in LEAKTRACE_KEYRING first"
        )
    return registry.key_material()


def rotate_key(
    registry: SqlRegistry,
    *,
    keyring: str | os.PathLike[str] | None = None,
    new_key: bytes | None = None,
) -> Rotated:
    """Give the registry a new current key; copies made before keep the key that made them.

    Parameters
    ----------
    registry
        An open registry, writable, holding every one of its keys.
    keyring
        Where the keys go when the registry has no ``DIR/key`` (PostgreSQL, or a folder whose key
        is given): a keyring file, written (or extended) with every key, mode 0600. Default: the
        keyring the registry was opened with. A folder with ``DIR/key`` keeps its keys in
        ``DIR/keys/`` instead.
    new_key
        The new key; default a new random one. Tests only.

    Raises
    ------
    RegistryKeyError
        When a key is missing, a key file holds something else, no keyring is named where one is
        needed, or another process rotated the key meanwhile.
    """
    keys = _every_key(registry, "rotating the key")
    previous = registry.key_id
    new_id = previous + 1
    sources = registry.key_sources
    folder = sources.folder
    written: list[Path] = []
    if folder is not None and (folder / KEY_FILE).is_file():
        keys_dir = folder / KEYS_DIR
        orphan = keys_dir / str(new_id)
        new_key = _adopt(orphan, registry, new_key) if orphan.exists() else new_key
        new_key = check_key(new_key) if new_key is not None else generate_key()
        try:
            keys_dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise RegistryKeyError(f"cannot create {keys_dir}: {exc.strerror or exc}") from None
        for key_id, key in sorted({**keys, new_id: new_key}.items()):
            _file_key(keys_dir / str(key_id), key, written)
        info = registry.record_key(new_key, previous=previous)
        try:
            replace_file(folder / KEY_FILE, _key_text(new_key))
        except OSError as exc:  # the registry opens anyway: keys/ has every key
            raise RegistryKeyError(
                f"key {info.id} is recorded and in {keys_dir}, but {folder / KEY_FILE} could not "
                f"be updated ({exc.strerror or exc}): copy {keys_dir / str(info.id)} over it"
            ) from None
        written.append(folder / KEY_FILE)
        return Rotated(info, written)
    path = Path(keyring) if keyring is not None else sources.keyring_path
    if path is None:
        raise RegistryKeyError(
            f"the registry at {registry.location} keeps no key file, so its new key needs a "
            "keyring file to go to: name one (leaktrace key rotate --keyring FILE, or "
            "LEAKTRACE_KEYRING), and keep it in your secret store"
        )
    held = _keyring_entries(path, registry, new_id)
    if new_id in held:
        new_key = _adopted(held.pop(new_id), registry, new_key, path)
    new_key = check_key(new_key) if new_key is not None else generate_key()
    ring = {**held, **keys, new_id: new_key}
    try:
        replace_file(path, format_keyring(ring, registry_fingerprint=registry.registry_fingerprint))
    except OSError as exc:
        raise RegistryKeyError(f"cannot write the keyring {path}: {exc.strerror or exc}") from None
    written.append(path)
    return Rotated(registry.record_key(new_key, previous=previous), written)


def _adopted(key: bytes, registry: SqlRegistry, new_key: bytes | None, where: Path) -> bytes:
    if any(hmac.compare_digest(k.fingerprint, key_fingerprint(key)) for k in registry.list_keys()):
        raise RegistryKeyError(f"{where} files a key of the registry under the next key's id")
    if new_key is not None and not hmac.compare_digest(new_key, key):
        raise RegistryKeyError(f"{where} already holds another new key: remove it first")
    return key  # what an interrupted rotation wrote: it may hold no copy yet, but keep it


def _adopt(orphan: Path, registry: SqlRegistry, new_key: bytes | None) -> bytes:
    return _adopted(read_key_file(orphan), registry, new_key, orphan)


def _keyring_entries(path: Path, registry: SqlRegistry, new_id: int) -> dict[int, bytes]:
    """The keys an existing keyring file holds, by id. Each must be one of this registry's keys,
    or the key an interrupted rotation left under ``new_id``: a rewrite must drop nothing."""
    if not path.exists():
        return {}
    records = registry.list_keys()
    by_fingerprint = {r.fingerprint: r.id for r in records}
    held: dict[int, bytes] = {}
    for entry in read_keyring(path):
        key_id = by_fingerprint.get(entry.fingerprint)
        if key_id is None and entry.label == new_id:
            held[new_id] = entry.key
        elif key_id is None or (entry.label is not None and entry.label != key_id):
            raise RegistryKeyError(
                f"the keyring {path} holds a key that is not this registry's key "
                f"{entry.label or ''}: refusing to rewrite it; name another keyring file"
            )
        else:
            held[key_id] = entry.key
    return held


def backup_keys(registry: SqlRegistry, passphrase: str, *, scrypt_n: int | None = None) -> bytes:
    """A backup of every key of the registry, sealed with ``passphrase`` (see :mod:`.backup`)."""
    keys = _every_key(registry, "a key backup")
    options = {} if scrypt_n is None else {"scrypt_n": scrypt_n}
    return seal_keys(
        keys, registry_fingerprint=registry.registry_fingerprint, passphrase=passphrase, **options
    )


@dataclass(frozen=True)
class Restored:
    """What a restore wrote, which keys it restored, and which the backup lacked."""

    written: list[Path]
    keys: list[int]
    missing: list[int]


def restore_keys(
    location: str,
    backup: KeyBackup,
    *,
    out: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
) -> Restored:
    """Put the keys of a backup back: into a folder registry's key files, or a new keyring file.

    Nothing is written unless every file to write is new or already holds the same key: an
    existing, different key is never overwritten.

    Raises
    ------
    KeyBackupError
        When the backup holds the keys of another registry, or a key file holds another key.
    """
    records = read_registry_keys(location, timeout=timeout)
    if not hmac.compare_digest(backup.registry, records.registry_fingerprint):
        raise KeyBackupError(
            f"the backup holds the keys of another registry (fingerprint {backup.registry}), "
            f"not of the registry at {records.location} ({records.registry_fingerprint})"
        )
    by_id = {r.id: r for r in records.keys}
    for key_id, key in backup.keys.items():
        if key_id in by_id and not hmac.compare_digest(
            key_fingerprint(key), by_id[key_id].fingerprint
        ):
            raise KeyBackupError(
                f"the backup's key {key_id} is not the registry's key {key_id}: refusing it"
            )
    usable = {i: k for i, k in backup.keys.items() if i in by_id}
    missing = sorted(set(by_id) - set(usable))
    plan = _restore_plan(records, usable, out)
    for path, data in plan:
        if path.exists() and path.read_bytes() != data and not _same_key_file(path, data):
            raise KeyBackupError(f"{path} holds a different key: refusing to overwrite it")
    written: list[Path] = []
    for path, data in plan:
        if path.exists():
            continue
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_new_file(path, data)
        except OSError as exc:
            raise KeyBackupError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return Restored(written, sorted(usable), missing)


def _same_key_file(path: Path, data: bytes) -> bool:
    try:
        return hmac.compare_digest(read_key_file(path), bytes.fromhex(data.decode().strip()))
    except (RegistryKeyError, ValueError):
        return False


def _restore_plan(
    records: KeyRecords, usable: dict[int, bytes], out: str | os.PathLike[str] | None
) -> list[tuple[Path, bytes]]:
    if out is not None:
        if Path(out).exists():
            raise KeyBackupError(f"{out} already exists: refusing to overwrite it")
        return [
            (Path(out), format_keyring(usable, registry_fingerprint=records.registry_fingerprint))
        ]
    if records.folder is None:
        raise KeyBackupError(
            f"the registry at {records.location} keeps no key files: restore its keys into a "
            "keyring file with --out FILE, and point LEAKTRACE_KEYRING at it"
        )
    plan: list[tuple[Path, bytes]] = []
    if len(records.keys) > 1:
        plan += [
            (records.folder / KEYS_DIR / str(i), _key_text(k)) for i, k in sorted(usable.items())
        ]
    if records.current.id in usable:
        plan.append((records.folder / KEY_FILE, _key_text(usable[records.current.id])))
    return plan


@dataclass(frozen=True)
class KeyCheck:
    """Which of a registry's keys this process holds, and where it found each."""

    location: str
    registry_fingerprint: str
    keys: list[KeyInfo]
    sources: dict[int, list[str]]
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the keys given open the registry (its current key is among them)."""
        return self.problem is None and any(k.current and k.available for k in self.keys)


def check_keys(location: str, sources: KeySources, *, timeout: float = 30.0) -> KeyCheck:
    """Whether the keys from ``sources`` open the registry, checked against the fingerprints it
    stores (never a key): which are available, which missing, which belong elsewhere.

    Reads the registry without any key and writes nothing.
    """
    records = read_registry_keys(location, timeout=timeout)
    problem: str | None = None
    try:
        candidates = sources.candidates()
    except RegistryKeyError as exc:
        candidates, problem = [], str(exc)
    found: dict[int, bytes] = {}
    if candidates:
        try:
            found = resolve_keys(records.keys, candidates, records.location)
        except RegistryKeyError as exc:
            problem = str(exc)
    elif problem is None:
        problem = "no key was given"
    where = _where_found(records.keys, candidates)
    current = records.current
    keys = [
        KeyInfo(k.id, k.fingerprint, k.created_at, k.id in found, k.id == current.id)
        for k in records.keys
    ]
    if problem is None and current.id not in found:
        problem = (
            f"the current key (key {current.id}, fingerprint {current.fingerprint}) is not among "
            "the keys given"
        )
    warnings = []
    key_file = records.folder / KEY_FILE if records.folder is not None else None
    if key_file is not None and key_file.is_file() and sources.given is None:
        stale = [i for i, places in where.items() if str(key_file) in places and i != current.id]
        if stale:
            warnings.append(
                f"{key_file} holds key {stale[0]}, not the current key {current.id} (an "
                f"interrupted rotation?): copy {records.folder / KEYS_DIR / str(current.id)} over it"
            )
    return KeyCheck(records.location, records.registry_fingerprint, keys, where, problem, warnings)


def _where_found(records: list[KeyInfo], candidates: list[KeyCandidate]) -> dict[int, list[str]]:
    by_fingerprint = {r.fingerprint: r.id for r in records}
    where: dict[int, list[str]] = {}
    for candidate in candidates:
        key_id = by_fingerprint.get(candidate.fingerprint)
        if key_id is not None:
            where.setdefault(key_id, []).append(candidate.source)
    return where
