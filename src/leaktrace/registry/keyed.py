"""The registry's keys as a :class:`~leaktrace.registry.sql.SqlRegistry` sees them.

A mixin, kept apart from the SQL of records: which keys this process holds, which one is current,
the subkeys that chain the audit log, and recording a new key (the database side of a rotation;
:mod:`.rotation` stores the key itself first). Key material never leaves through ``repr``, a
message or the database: only fingerprints do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from leaktrace.errors import RegistryKeyError
from leaktrace.registry import audit, schema
from leaktrace.registry.keyring import KEYS_DIR, KeySources, resolve_keys
from leaktrace.registry.keys import check_key, key_fingerprint
from leaktrace.registry.models import KeyInfo
from leaktrace.registry.subkeys import code_commitment, copy_nonce, public_commitment
from leaktrace.registry.tables import as_utc, get_meta, keys_t

__all__ = ["KeysMixin", "read_key_records"]


def read_key_records(conn: sa.Connection, version: int) -> list[KeyInfo]:
    """The registry's keys as its database records them (no key material), oldest first.

    Before schema version 3 a registry had one key, known by ``meta.key_fingerprint``.
    """
    if version >= 3:
        rows = conn.execute(sa.select(keys_t).order_by(keys_t.c.id)).all()
        return [KeyInfo(int(r.id), r.fingerprint, r.created_at) for r in rows]
    fingerprint = get_meta(conn, "key_fingerprint") or ""
    created = get_meta(conn, "created_at")
    try:
        at = datetime.fromisoformat(created) if created else None
    except ValueError:
        at = None
    return [KeyInfo(1, fingerprint, at)]


class KeysMixin:
    """Keys by id for a registry (needs the registry's ``location`` and transactions)."""

    location: str
    _tx: Callable

    def _init_keys(self, sources: KeySources) -> None:
        self._sources = sources
        self._keys: dict[int, bytes] = {}
        self._records: dict[int, KeyInfo] = {}
        self._key_id = 0

    # -- the keys this process holds -------------------------------------------------------

    @property
    def key(self) -> bytes:
        """The current key: the one that marks new copies. Never shown by ``repr`` or in any
        message."""
        return self._keys[self._key_id]

    @property
    def key_id(self) -> int:
        """The id of the current key (1 until the registry's key is first rotated)."""
        return self._key_id

    @property
    def key_sources(self) -> KeySources:
        """Where this process found its keys (a folder, a keyring file, or given)."""
        return self._sources

    @property
    def registry_fingerprint(self) -> str:
        """The fingerprint of the registry's first key: the registry's identity, safe to show."""
        return self._records[1].fingerprint

    def list_keys(self) -> list[KeyInfo]:
        """Every key the registry records now, oldest first, with ``available`` (held by this
        process) and ``current`` (the newest) set. Never the keys themselves."""
        with self._tx("reading the registry's keys") as conn:
            records = read_key_records(conn, schema.SCHEMA_VERSION)
        newest = max(r.id for r in records)
        return [
            KeyInfo(r.id, r.fingerprint, r.created_at, r.id in self._keys, r.id == newest)
            for r in records
        ]

    def key_for(self, key_id: int) -> bytes:
        """The key with this id, e.g. to derive the code of a copy it made.

        Raises
        ------
        RegistryKeyError
            When the registry has no such key, or this process was not given it.
        """
        if key_id in self._keys:
            return self._keys[key_id]
        if key_id not in self._records:
            self._refresh_keys()
        if key_id not in self._records:
            raise RegistryKeyError(f"the registry at {self.location} has no key {key_id}")
        self._refresh_keys()
        if key_id in self._keys:
            return self._keys[key_id]
        raise RegistryKeyError(
            f"copies made under key {key_id} need that key, which is not available here "
            f"(fingerprint {self._records[key_id].fingerprint}): {self._where_keys_go(key_id)}"
        )

    def key_material(self) -> dict[int, bytes]:
        """Every key this process holds, by id: what a worker process needs to open the same
        registry with every key (``open_registry(location, key=registry.key, keyring=...)``).
        Never print or log it."""
        return dict(self._keys)

    def commit_code(
        self, asset_id: str, recipient_id: str, code: bytes, *, key_id: int | None = None
    ) -> str:
        """The commitment of a copy to its code, under the key that made it (default: the
        current key); see :func:`leaktrace.registry.subkeys.code_commitment`."""
        kid = self._key_id if key_id is None else int(key_id)
        return code_commitment(
            self.key_for(kid), asset_id=asset_id, recipient_id=recipient_id, key_id=kid, code=code
        )

    def copy_nonce(self, asset_id: str, recipient_id: str, *, key_id: int | None = None) -> bytes:
        """The nonce of a copy's public commitment, under the key that made it (default: the
        current key); see :func:`leaktrace.registry.subkeys.copy_nonce`. Revealed only in the
        evidence case of that copy."""
        kid = self._key_id if key_id is None else int(key_id)
        return copy_nonce(
            self.key_for(kid), asset_id=asset_id, recipient_id=recipient_id, key_id=kid
        )

    def public_commit(
        self,
        asset_id: str,
        recipient_id: str,
        code: bytes,
        *,
        pattern: bytes,
        key_id: int | None = None,
    ) -> str:
        """A copy's public commitment to its code (what ``copies.commitment`` holds), under the
        key that made it; see :func:`leaktrace.registry.subkeys.public_commitment`."""
        kid = self._key_id if key_id is None else int(key_id)
        return public_commitment(
            asset_id=asset_id,
            recipient_id=recipient_id,
            key_id=kid,
            pattern=pattern,
            code=code,
            nonce=self.copy_nonce(asset_id, recipient_id, key_id=kid),
        )

    def _where_keys_go(self, key_id: int) -> str:
        if self._sources.folder is not None:
            where = f"{self._sources.folder / KEYS_DIR / str(key_id)} (mode 0600)"
            return f"put it in {where}, e.g. with leaktrace key restore, or in LEAKTRACE_KEYRING"
        return "give it in LEAKTRACE_KEYRING (a mode-0600 file of ID:HEX lines)"

    # -- matching keys to the registry -----------------------------------------------------

    def _adopt_keys(self, records: list[KeyInfo]) -> None:
        """Match the keys this process finds to ``records``; the current one must be among them."""
        keys = resolve_keys(records, self._sources.candidates(), self.location)
        current = max(r.id for r in records)
        if current not in keys:
            record = {r.id: r for r in records}[current]
            held = ", ".join(str(i) for i in sorted(keys))
            raise RegistryKeyError(
                f"the registry at {self.location} has a newer key: its current key is key "
                f"{current} (fingerprint {record.fingerprint}), the keys given are key {held}; "
                f"{self._where_keys_go(current)}, or set LEAKTRACE_KEY to it"
            )
        self._records = {r.id: r for r in records}
        self._keys = keys
        self._key_id = current

    def _refresh_keys(self) -> None:
        """Read the key records and sources again: another process may have rotated the key."""
        with self._tx("reading the registry's keys") as conn:
            records = read_key_records(conn, schema.SCHEMA_VERSION)
        try:
            keys = resolve_keys(records, self._sources.candidates(), self.location)
        except RegistryKeyError:
            return  # keep what was valid at opening; the caller reports the missing key
        self._records = {r.id: r for r in records}
        self._keys.update(keys)

    def _subkey_for(self) -> audit.SubkeyFor:
        def subkey_for(key_id: int) -> bytes:
            if key_id not in self._keys:
                self._refresh_keys()
            if key_id not in self._keys:
                raise RegistryKeyError(
                    f"the audit log of the registry at {self.location} is chained under key "
                    f"{key_id}, which is not available here (was the key rotated while this "
                    f"process ran?): {self._where_keys_go(key_id)}"
                )
            return audit.chain_subkey(self._keys[key_id])

        return subkey_for

    # -- a new key -------------------------------------------------------------------------

    def record_key(self, new_key: bytes, *, previous: int) -> KeyInfo:
        """Record ``new_key`` as the registry's next key, with its audit row, and make it current.

        The database side of a rotation: :func:`leaktrace.registry.rotation.rotate_key` stores
        the key where this and other processes find it first, then calls this.

        Parameters
        ----------
        new_key
            The new key (it must not be one of the registry's keys already).
        previous
            The current key's id as the caller saw it: if another process rotated the key in
            between, nothing is recorded and :class:`RegistryKeyError` says so.
        """
        new_key = check_key(new_key)
        fingerprint = key_fingerprint(new_key)
        with self._tx("recording a new key", write=True) as conn:
            records = read_key_records(conn, schema.SCHEMA_VERSION)
            current = max(r.id for r in records)
            if current != previous:
                raise RegistryKeyError(
                    f"the key of the registry at {self.location} was rotated by another process "
                    f"meanwhile (its current key is now key {current}): run leaktrace key check"
                )
            if any(r.fingerprint == fingerprint for r in records):
                raise RegistryKeyError("that key is already one of the registry's keys")
            record = KeyInfo(current + 1, fingerprint, as_utc(None))
            self._append(  # chained under the key it retires, before the new key exists
                conn,
                [
                    (
                        audit.ROTATION,
                        {
                            "key_id": record.id,
                            "key_fingerprint": fingerprint,
                            "previous_key_id": current,
                        },
                    )
                ],
            )
            conn.execute(
                sa.insert(keys_t).values(
                    id=record.id, fingerprint=fingerprint, created_at=record.created_at
                )
            )
        self._records[record.id] = record
        self._keys[record.id] = new_key
        self._key_id = record.id
        return KeyInfo(record.id, fingerprint, record.created_at, True, True)

    def _append(self, conn: sa.Connection, items: list[tuple[str, dict]]) -> list:
        return audit.append(conn, items, self._subkey_for())
