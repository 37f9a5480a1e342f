"""The distribution record: which recipient received which copy of which asset.

A mixin of :class:`~leaktrace.registry.sql.SqlRegistry`, kept apart because it is the part that
grows with a team's scale: batches of 10^5 copies are recorded in one transaction, and identify
reads an asset's recipients with their cached codes in one query.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from leaktrace.errors import RegistryKeyError, UnknownRecipientError
from leaktrace.registry.models import Copy, HolderCodes, Recipient, validate_recipient_id
from leaktrace.registry.rows import (
    CHUNK,
    SHA256,
    check_sha,
    chunks,
    copy_from_row,
    copy_key,
    recipient_from_row,
    utcnow,
)
from leaktrace.registry.tables import as_utc, copies_t, keys_t, recipients_t

MAX_CODE_BYTES = 1024


def code_sha256(code: bytes | None) -> str | None:
    """What a copy's audit row records of its cached code: its SHA-256 (the code itself would
    grow every row by a kilobyte), or None for a copy recorded without a code."""
    return None if code is None else hashlib.sha256(code).hexdigest()


def _check_copy(c: Copy) -> None:
    check_sha(c.output_sha256, "output_sha256")
    validate_recipient_id(c.recipient_id)
    if c.code is not None and (
        not isinstance(c.code, bytes) or not 0 < len(c.code) <= MAX_CODE_BYTES
    ):
        raise ValueError(f"copy code must be 1-{MAX_CODE_BYTES} bytes")
    if c.commitment is not None and (
        not isinstance(c.commitment, str) or SHA256.fullmatch(c.commitment) is None
    ):
        raise ValueError(
            f"copy commitment must be 64 lowercase hex characters, got {c.commitment!r:.80}"
        )
    if c.key_id is not None and (
        not isinstance(c.key_id, int) or isinstance(c.key_id, bool) or c.key_id < 1
    ):
        raise ValueError(f"copy key_id must be a key id (1, 2, ...), got {c.key_id!r:.40}")


class CopiesMixin:
    """Copies of assets given to recipients (needs the registry's transactions and checks)."""

    # -- copies ----------------------------------------------------------------------------

    def record_copy(self, c: Copy) -> Copy:
        """Record that a recipient received a copy, with its audit row, in one transaction.

        Recording the same (asset, recipient, output SHA-256) again returns the first record.
        """
        return self.record_copies([c])[0]

    def record_copies(
        self, cs: Sequence[Copy], *, patterns: Mapping[str, bytes] | None = None
    ) -> list[Copy]:
        """Record many copies, with their audit rows, in one transaction (all or nothing).

        A copy whose (asset, recipient, output SHA-256) is already recorded, or appears earlier in
        the batch, is not recorded again: its first record is returned in its place. Raises
        :class:`UnknownAssetError` or :class:`UnknownRecipientError` for a dangling reference.

        ``key_id`` defaults to the current key (:attr:`key_id`); another id must be one of the
        registry's keys (a batch that began before a rotation records the key it marked with).
        A ``commitment`` is a copy's public commitment to its code
        (:meth:`public_commit`); ``patterns`` gives, per asset id, the description of the
        asset's pattern it was made with, and every commitment of such an asset recorded with a
        ``code`` must then be the one :meth:`public_commit` gives (``ValueError`` otherwise): a
        commitment that does not match its code is a bug in the caller, and would later look
        like tampering. The audit row of each copy records its key id, commitment and the
        SHA-256 of its code, so ``leaktrace audit`` notices when any of them is edited.
        """
        for c in cs:
            _check_copy(c)
        if not cs:
            return []
        now = utcnow()
        cs = [c if c.key_id is not None else _with_key(c, self.key_id) for c in cs]
        for c in cs:
            pattern = (patterns or {}).get(c.asset_id)
            if c.code is not None and c.commitment is not None and pattern is not None:
                expected = self.public_commit(
                    c.asset_id, c.recipient_id, c.code, pattern=pattern, key_id=c.key_id
                )
                if not hmac.compare_digest(expected, c.commitment):
                    raise ValueError(
                        f"the commitment of the copy of {c.asset_id} for {c.recipient_id} does "
                        f"not match its code under key {c.key_id}"
                    )
        with self._tx("recording copies", write=True) as conn:
            self._check_references(conn, cs)
            known: dict[tuple[str, str, str], Copy] = {}
            for asset_id in sorted({c.asset_id for c in cs}):
                shas = sorted({c.output_sha256 for c in cs if c.asset_id == asset_id})
                for chunk in chunks(shas):
                    query = sa.select(copies_t).where(
                        copies_t.c.asset_id == asset_id, copies_t.c.output_sha256.in_(chunk)
                    )
                    known.update(
                        (copy_key(copy), copy) for copy in map(copy_from_row, conn.execute(query))
                    )
            fresh: list[Copy] = []
            for c in cs:
                if copy_key(c) not in known:
                    known[copy_key(c)] = c  # a placeholder: later duplicates in the batch skip
                    fresh.append(c)
            if fresh:
                rows = [
                    {
                        "asset_id": c.asset_id,
                        "recipient_id": c.recipient_id,
                        "output_sha256": c.output_sha256,
                        "output_name": c.output_name,
                        "created_at": as_utc(c.created_at or now),
                        "code": c.code,
                        "key_id": c.key_id,
                        "commitment": c.commitment,
                    }
                    for c in fresh
                ]
                ids = (
                    conn.execute(
                        sa.insert(copies_t).returning(copies_t.c.id, sort_by_parameter_order=True),
                        rows,
                    )
                    .scalars()
                    .all()
                )
                items = []
                for row, copy_id in zip(rows, ids, strict=True):
                    copy = Copy(
                        row["asset_id"],
                        row["recipient_id"],
                        row["output_sha256"],
                        row["output_name"],
                        row["created_at"],
                        copy_id,
                        row["code"],
                        row["key_id"],
                        row["commitment"],
                    )
                    known[copy_key(copy)] = copy
                    detail = {k: row[k] for k in ("asset_id", "recipient_id", "output_sha256")}
                    items.append(
                        (
                            "copy recorded",
                            {
                                "copy_id": copy_id,
                                **detail,
                                "output_name": row["output_name"],
                                "key_id": row["key_id"],
                                "commitment": row["commitment"],
                                "code_sha256": code_sha256(row["code"]),
                            },
                        )
                    )
                self._append(conn, items)
        return [known[copy_key(c)] for c in cs]

    def _check_references(self, conn: sa.Connection, cs: Sequence[Copy]) -> None:
        for asset_id in sorted({c.asset_id for c in cs}):
            self._asset_exists(conn, asset_id)
        wanted = sorted({c.recipient_id for c in cs})
        missing = sorted(set(wanted) - self._existing_recipients(conn, wanted))
        if missing:
            raise UnknownRecipientError(
                f"no recipient {missing[0]} in the registry at {self.location}"
            )
        known_keys = set(conn.execute(sa.select(keys_t.c.id)).scalars())
        unknown = sorted({c.key_id for c in cs} - known_keys)
        if unknown:
            raise RegistryKeyError(f"the registry at {self.location} has no key {unknown[0]}")

    def list_copies(
        self,
        *,
        asset_id: str | None = None,
        recipient_id: str | None = None,
        recipient_ids: Sequence[str] | None = None,
        output_sha256: str | None = None,
    ) -> list[Copy]:
        """Copies in the order they were recorded; every filter given must hold."""
        query = sa.select(copies_t).order_by(copies_t.c.id)
        if asset_id is not None:
            query = query.where(copies_t.c.asset_id == asset_id)
        if recipient_id is not None:
            query = query.where(copies_t.c.recipient_id == recipient_id)
        if output_sha256 is not None:
            query = query.where(copies_t.c.output_sha256 == output_sha256)
        if recipient_ids is not None:
            wanted = sorted(set(recipient_ids))
            if not wanted:
                return []
            if len(wanted) > CHUNK:  # an IN list that long: filter here instead
                keep = set(wanted)
                return [c for c in self.list_copies(asset_id=asset_id) if c.recipient_id in keep]
            query = query.where(copies_t.c.recipient_id.in_(wanted))
        with self._tx("listing copies") as conn:
            return [copy_from_row(row) for row in conn.execute(query)]

    def copies_of_asset(self, asset_id: str) -> list[Copy]:
        """Every copy of one asset; :class:`UnknownAssetError` if the asset is unknown."""
        with self._tx("listing copies") as conn:
            self._asset_exists(conn, asset_id)
            rows = conn.execute(
                sa.select(copies_t).where(copies_t.c.asset_id == asset_id).order_by(copies_t.c.id)
            ).all()
        return [copy_from_row(row) for row in rows]

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
        return [recipient_from_row(row) for row in rows]

    def recipient_codes(self, asset_id: str) -> tuple[list[str], list[bytes | None]]:
        """The distinct recipients holding a copy of one asset, sorted by id, with the packed
        code cached for them (``None`` where only copies recorded without a code exist).

        The one query identify needs per asset: no recipient or copy objects are built, so it
        stays fast with 10^5 recipients.
        """
        query = (
            sa.select(copies_t.c.recipient_id, copies_t.c.code)
            .where(copies_t.c.asset_id == asset_id)
            .order_by(copies_t.c.recipient_id)
        )
        with self._tx("reading the codes of an asset's recipients") as conn:
            self._asset_exists(conn, asset_id)
            rows = _fetch_plain(conn, query)
        codes: dict[str, bytes | None] = dict(rows)
        if len(codes) < len(rows):  # some recipient has several copies: prefer a cached code
            codes = {}
            for rid, code in rows:
                if codes.get(rid) is None:
                    codes[rid] = code
        return list(codes), list(codes.values())  # both drivers return bytes for binary

    def holder_codes(self, asset_id: str) -> HolderCodes:
        """Who holds copies of one asset, per (recipient, key that made the copy), with the
        cached code and commitment of each: what identify needs once a registry's key has been
        rotated (see :class:`~leaktrace.registry.models.HolderCodes`).

        One query, as :meth:`recipient_codes`; :class:`UnknownAssetError` if the asset is
        unknown. Where a recipient has several copies made under one key, a cached code is
        preferred, then the first recorded.
        """
        query = (
            sa.select(
                copies_t.c.recipient_id,
                copies_t.c.key_id,
                copies_t.c.code,
                copies_t.c.commitment,
            )
            .where(copies_t.c.asset_id == asset_id)
            .order_by(copies_t.c.recipient_id, copies_t.c.key_id, copies_t.c.id)
        )
        with self._tx("reading the codes of an asset's holders") as conn:
            self._asset_exists(conn, asset_id)
            rows = _fetch_plain(conn, query)
        best: dict[tuple[str, int], tuple[bytes | None, str | None]] = {}
        for rid, key_id, code, commitment in rows:
            slot = (rid, int(key_id))
            if slot not in best or (best[slot][0] is None and code is not None):
                best[slot] = (None if code is None else bytes(code), commitment)
        return HolderCodes(
            [rid for rid, _ in best],
            [key_id for _, key_id in best],
            [code for code, _ in best.values()],
            [commitment for _, commitment in best.values()],
        )


def _with_key(c: Copy, key_id: int) -> Copy:
    return replace(c, key_id=key_id)


def _fetch_plain(conn: sa.Connection, query: sa.Select) -> list[tuple]:
    """All rows of ``query`` as the driver's plain tuples, in the connection's transaction.

    For 10^5 rows, building SQLAlchemy rows costs as much as the query itself.
    """
    compiled = query.compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()
