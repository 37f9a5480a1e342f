"""A signed head of the audit log: a few hundred bytes that pin the whole log as it is now.

Whoever can write to the registry's database, even with the key, can still cut off its newest
rows or replace the log wholesale; nothing inside the database can show that. A head exported
now and kept elsewhere (printed, e-mailed, notarised, or its hash read out over the phone) can:
later, :func:`check_head` proves that the log still extends it, i.e. that the row at the head's
``seq`` still has the head's hash and the chain from the first row through it verifies.

The file is JSON::

    {"format": "leaktrace-audit-head", "version": 1,
     "registry": <fingerprint of key 1>, "key_id": <signing key>, "key_fingerprint": ...,
     "seq": <head row>, "head_hash": <its row_hash>, "rows": <rows in the log>,
     "head_at": <the head row's time>, "exported_at": <now>, "tool_version": ...,
     "mac": HMAC-SHA256(audit-head subkey of key key_id, canonical JSON of all the other fields)}

The MAC shows the head was made by a holder of the registry key, not typed up by someone with
database access only; the fingerprints name the registry and key without revealing them.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from leaktrace.errors import HeadFileError, RegistryKeyError
from leaktrace.registry.audit import canonical_json
from leaktrace.registry.subkeys import AUDIT_HEAD, mac_hex, subkey

if TYPE_CHECKING:
    from leaktrace.registry.sql import SqlRegistry

__all__ = ["HEAD_FORMAT", "HeadCheck", "check_head", "export_head", "parse_head"]

HEAD_FORMAT = "leaktrace-audit-head"
HEAD_VERSION = 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")
_MAX_BYTES = 64 * 1024  # a head is ~500 bytes: anything far larger is not one


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    return mac_hex(subkey(key, AUDIT_HEAD), canonical_json(fields).encode("utf-8"))


def export_head(registry: SqlRegistry) -> dict[str, Any]:
    """The signed head of the registry's audit log now, signed with the current key.

    Verify the log first (``leaktrace audit`` does): a head of a broken log pins the break.
    """
    from leaktrace import __version__
    from leaktrace.registry.models import AuditEntry

    entries: list[AuditEntry] = []
    seq, head_hash = registry.audit_head()
    if seq:
        entries = registry.list_audit(after_seq=seq - 1, limit=1)
    fields: dict[str, Any] = {
        "format": HEAD_FORMAT,
        "version": HEAD_VERSION,
        "registry": registry.registry_fingerprint,
        "key_id": registry.key_id,
        "key_fingerprint": next(k.fingerprint for k in registry.list_keys() if k.current),
        "seq": seq,
        "head_hash": head_hash,
        "rows": seq,  # seq runs 1, 2, ... without gaps: the verified log has exactly seq rows
        "head_at": entries[0].at.isoformat(timespec="microseconds") if entries else None,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool_version": __version__,
    }
    return {**fields, "mac": _mac(registry.key, fields)}


def parse_head(text: str | bytes, source: str = "the head file") -> dict[str, Any]:
    """The fields of a head file, checked for shape (not yet for its MAC: see :func:`check_head`).

    Raises
    ------
    HeadFileError
        When it is not a leaktrace audit head (corrupt, truncated, another format).
    """
    if isinstance(text, bytes):
        if len(text) > _MAX_BYTES:
            raise HeadFileError(f"{source} is not a leaktrace audit head: it is far too large")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise HeadFileError(f"{source} is not a leaktrace audit head: not UTF-8 text") from None
    try:
        head = json.loads(text)
    except ValueError:
        raise HeadFileError(
            f"{source} is not a leaktrace audit head: not JSON (corrupt or truncated?)"
        ) from None
    if not isinstance(head, dict) or head.get("format") != HEAD_FORMAT:
        raise HeadFileError(f"{source} is not a leaktrace audit head (no format {HEAD_FORMAT!r})")
    if head.get("version") != HEAD_VERSION:
        raise HeadFileError(
            f"{source} is a version {head.get('version')!r:.20} audit head; this leaktrace reads "
            f"version {HEAD_VERSION}: upgrade leaktrace"
        )
    ok = (
        isinstance(head.get("seq"), int)
        and not isinstance(head.get("seq"), bool)
        and head["seq"] >= 0
        and isinstance(head.get("key_id"), int)
        and not isinstance(head.get("key_id"), bool)
        and head["key_id"] >= 1
        and all(
            isinstance(head.get(name), str) and _HEX64.fullmatch(head[name])
            for name in ("head_hash", "mac")
        )
        and all(
            isinstance(head.get(name), str) and _FINGERPRINT.fullmatch(head[name])
            for name in ("registry", "key_fingerprint")
        )
    )
    if not ok:
        raise HeadFileError(
            f"{source} is a damaged leaktrace audit head: a field is missing or malformed"
        )
    return head


@dataclass(frozen=True)
class HeadCheck:
    """Whether the audit log still extends a head: ``ok``, or ``reason`` why not."""

    ok: bool
    seq: int
    head_hash: str
    reason: str | None = None


def check_head(
    registry: SqlRegistry, head: dict[str, Any], source: str = "the head file"
) -> HeadCheck:
    """Prove that the registry's audit log still extends ``head`` (from :func:`parse_head`).

    Raises
    ------
    HeadFileError
        When the head belongs to another registry, or its MAC is wrong (altered or forged).
    RegistryKeyError
        When the key that signed it is not available here (that proves nothing either way).

    Returns
    -------
    HeadCheck
        ``ok`` when the chain from the first row through ``head["seq"]`` verifies and that row
        still has ``head["head_hash"]``; otherwise the reason (a broken log: exit code 5).
    """
    if not hmac.compare_digest(head["registry"], registry.registry_fingerprint):
        raise HeadFileError(
            f"{source} is the head of another registry (fingerprint {head['registry']}), not of "
            f"the registry at {registry.location} ({registry.registry_fingerprint})"
        )
    records = {k.id: k for k in registry.list_keys()}
    record = records.get(head["key_id"])
    if record is None or not hmac.compare_digest(record.fingerprint, head["key_fingerprint"]):
        raise HeadFileError(
            f"{source} names key {head['key_id']} ({head['key_fingerprint']}), which is not a key "
            f"of the registry at {registry.location}: it was altered or made elsewhere"
        )
    try:
        key = registry.key_for(head["key_id"])
    except RegistryKeyError as exc:
        raise RegistryKeyError(f"cannot check {source}: {exc}") from None
    fields = {name: value for name, value in head.items() if name != "mac"}
    if not hmac.compare_digest(_mac(key, fields), head["mac"]):
        raise HeadFileError(
            f"{source} does not carry a valid signature of this registry's key: it was altered "
            "or forged"
        )
    seq, wanted = head["seq"], head["head_hash"]
    chain = registry.verify_audit()
    if seq == 0:
        return HeadCheck(True, 0, wanted)
    if chain.first_broken_seq is not None and chain.first_broken_seq <= seq:
        return HeadCheck(
            False,
            seq,
            wanted,
            f"the log no longer verifies up to the head's row {seq}: {chain.reason}",
        )
    rows = registry.list_audit(after_seq=seq - 1, limit=1)
    if not rows or rows[0].seq != seq:
        return HeadCheck(
            False,
            seq,
            wanted,
            f"the head's row {seq} is gone: the log now ends at row {chain.rows} (rows were "
            "deleted, or the log was replaced)",
        )
    if not hmac.compare_digest(rows[0].row_hash, wanted):
        return HeadCheck(
            False,
            seq,
            wanted,
            f"row {seq} no longer has the head's hash: the log was rewritten since the head was "
            "exported",
        )
    return HeadCheck(True, seq, wanted)
