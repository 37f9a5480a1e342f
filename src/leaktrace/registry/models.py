"""Value types of the registry: recipients, assets, copies and the audit log.

They are frozen dataclasses with no behaviour, so every back end returns the same objects and
callers can compare them with ``==``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from leaktrace.errors import InvalidRecipientIdError, UnknownAssetError

__all__ = [
    "ASSET_KINDS",
    "Asset",
    "AuditEntry",
    "AuditReport",
    "Copy",
    "HolderCodes",
    "KeyInfo",
    "Recipient",
    "UnknownAssetError",
    "validate_recipient_id",
]

#: The kinds of asset the registry accepts.
ASSET_KINDS = frozenset({"image", "pdf", "pdf-page", "text", "video"})

_RECIPIENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def validate_recipient_id(rid: str) -> str:
    """Return ``rid`` if it is a safe recipient id, else raise :class:`InvalidRecipientIdError`.

    A recipient id is a slug: 1 to 64 characters from ``a-z 0-9 . _ -``, starting with a letter or a
    digit, and never containing ``..``. Ids become parts of file names, so nothing that could be a
    path separator or a parent-directory reference is allowed.
    """
    if not isinstance(rid, str) or _RECIPIENT_ID.fullmatch(rid) is None or ".." in rid:
        shown = repr(rid) if len(repr(rid)) <= 80 else repr(rid)[:77] + "..."
        raise InvalidRecipientIdError(
            f"invalid recipient id {shown}: use 1-64 characters from a-z, 0-9, '.', '_' and '-', "
            "starting with a letter or a digit and without '..'"
        )
    return rid


@dataclass(frozen=True)
class Recipient:
    """Someone who receives marked copies."""

    id: str
    name: str
    email: str | None = None
    org: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Asset:
    """An original file (or one page of a PDF) that recipients receive marked copies of.

    ``phash`` and ``dhash`` are 64-bit unsigned perceptual hashes (``0 <= h < 2**64``); ``params``
    is the JSON-serialisable dict of watermark parameters used for this asset. A ``pdf-page`` asset
    names its document in ``parent_id`` and its 0-based or 1-based page number in ``page`` (the
    caller's convention; the registry only stores it).
    """

    id: str
    sha256: str
    file_name: str
    kind: str
    width: int
    height: int
    phash: int
    dhash: int
    params: dict = field(hash=False)
    created_at: datetime | None = None
    parent_id: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Copy:
    """One marked copy of an asset, given to one recipient.

    ``code`` is the recipient's packed code for the asset (``code_bits / 8`` bytes), cached so that
    identify need not derive it again; ``None`` for copies recorded without it. ``key_id`` is the
    registry key that made the copy (``None`` when recording: the current key; copies made before
    keys had ids are key 1). ``commitment`` is the copy's commitment to its code (64 lowercase hex
    characters, see :func:`leaktrace.registry.subkeys.code_commitment`), ``None`` for copies
    recorded without one.
    """

    asset_id: str
    recipient_id: str
    output_sha256: str
    output_name: str
    created_at: datetime | None = None
    id: int | None = None
    code: bytes | None = field(default=None, repr=False)
    key_id: int | None = None
    commitment: str | None = None


@dataclass(frozen=True)
class KeyInfo:
    """One of a registry's keys, as the registry records it: never the key itself.

    ``available`` says whether this process holds the key; the newest key is the current one,
    which marks new copies.
    """

    id: int
    fingerprint: str
    created_at: datetime | None
    available: bool = False
    current: bool = False


@dataclass(frozen=True)
class HolderCodes:
    """Who holds copies of one asset, one entry per (recipient, key that made the copy).

    Parallel lists sorted by recipient id, then key id. A recipient who received copies made under
    two keys (before and after a rotation) appears twice, once per key: each is a hypothesis of
    its own. ``codes`` holds the cached packed code (``None`` where only copies without a cached
    code exist: derive it with the key ``key_ids[i]``), ``commitments`` the commitment recorded
    with it (``None`` where none was).
    """

    recipient_ids: list[str]
    key_ids: list[int]
    codes: list[bytes | None] = field(repr=False)
    commitments: list[str | None] = field(repr=False)

    def __len__(self) -> int:
        return len(self.recipient_ids)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the append-only, hash-chained audit log."""

    seq: int
    at: datetime
    action: str
    detail: dict = field(hash=False)
    prev_hash: str
    row_hash: str


@dataclass(frozen=True)
class AuditReport:
    """The result of re-computing the audit chain.

    ``ok`` is true when every row links to the previous one and its hash matches its content;
    otherwise ``first_broken_seq`` is the first row that does not and ``reason`` says why.
    """

    ok: bool
    rows: int
    first_broken_seq: int | None
    reason: str | None
