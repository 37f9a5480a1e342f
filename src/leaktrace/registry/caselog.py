"""Case files: what an investigation did while the registry was read-only, kept locally.

A registry on read-only media, or behind a database role that may only read, cannot take the
``identify`` rows of its audit log. The investigation logs them to a case file instead: JSON Lines,
one entry per line, each written by a single ``write`` to a file opened for appending (under an
exclusive ``flock``, so processes sharing a case file keep one chain), then fsynced. Entries are
chained like the audit log, under their own subkey (``leaktrace/case-log/v1``, see
:mod:`.subkeys`) of the registry's current key::

    {"format": "leaktrace-case", "version": 1, "case": <16 hex, per file>, "seq": 1, 2, ...,
     "at": <UTC ISO 8601>, "action": ..., "detail": {...}, "registry": <key 1's fingerprint>,
     "key_id": <key that chained it>, "prev": <previous line's mac, or 64 zeros>,
     "mac": HMAC-SHA256(case subkey, canonical JSON of every other field)}

The first line of a case file records that it was opened. :func:`verify_case_file` checks a case
file against the registry it belongs to; :func:`merge_case_file` copies its entries into the
registry's audit log once the registry is writable again (each merge once).
"""

from __future__ import annotations

import fcntl
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaktrace.errors import CaseLogError, RegistryKeyError, RegistryReadOnlyError
from leaktrace.registry.audit import GENESIS_HASH, canonical_json
from leaktrace.registry.subkeys import CASE_LOG, mac_hex, subkey

if TYPE_CHECKING:
    from leaktrace.registry.models import AuditEntry
    from leaktrace.registry.sql import SqlRegistry

__all__ = [
    "CASE_FORMAT",
    "CaseEntry",
    "CaseLog",
    "CaseReport",
    "default_case_file",
    "log_event",
    "merge_case_file",
    "read_case_file",
    "verify_case_file",
]

CASE_FORMAT = "leaktrace-case"
CASE_VERSION = 1
OPENED = "case opened"
MERGED = "case file merged"


@dataclass(frozen=True)
class CaseEntry:
    """One line of a case file."""

    case: str
    seq: int
    at: str
    action: str
    detail: dict = field(hash=False)
    registry: str
    key_id: int
    prev: str
    mac: str

    def body(self) -> dict[str, Any]:
        """Every field the MAC covers."""
        return {
            "format": CASE_FORMAT,
            "version": CASE_VERSION,
            "case": self.case,
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "detail": self.detail,
            "registry": self.registry,
            "key_id": self.key_id,
            "prev": self.prev,
        }


def _mac(key: bytes, body: dict[str, Any]) -> str:
    return mac_hex(subkey(key, CASE_LOG), canonical_json(body).encode("utf-8"))


def default_case_file(registry: SqlRegistry, directory: str | os.PathLike[str] = ".") -> Path:
    """Where a case file goes when none is named: ``leaktrace-case-<registry>.jsonl`` in
    ``directory`` (the working directory), one per registry."""
    return Path(directory) / f"leaktrace-case-{registry.registry_fingerprint}.jsonl"


class CaseLog:
    """Appends entries to one case file, chained under a subkey of the registry's current key.

    Parameters
    ----------
    path
        The case file; created (mode 0600) with its first line when it does not exist.
    key, key_id
        The registry key that chains new entries, and its id.
    registry_fingerprint
        The registry's identity (key 1's fingerprint): a case file holds one registry's entries.
    opened
        What the first line records (where the registry was, why it was read-only).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: bytes,
        key_id: int,
        registry_fingerprint: str,
        opened: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self._key = key
        self._key_id = int(key_id)
        self.registry_fingerprint = registry_fingerprint
        self._opened = dict(opened or {})

    def __repr__(self) -> str:
        return f"CaseLog({str(self.path)!r})"

    @classmethod
    def for_registry(
        cls, registry: SqlRegistry, path: str | os.PathLike[str] | None = None
    ) -> CaseLog:
        """The case log of an investigation on ``registry``, at ``path`` (default:
        :func:`default_case_file` in the working directory)."""
        from leaktrace import __version__

        return cls(
            default_case_file(registry) if path is None else path,
            key=registry.key,
            key_id=registry.key_id,
            registry_fingerprint=registry.registry_fingerprint,
            opened={
                "registry_location": registry.location,
                "read_only_reason": registry.read_only_reason,
                "tool_version": __version__,
            },
        )

    def _entry(self, case: str, seq: int, prev: str, action: str, detail: dict) -> CaseEntry:
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        draft = CaseEntry(
            case,
            seq,
            at,
            action,
            json.loads(canonical_json(detail)),
            self.registry_fingerprint,
            self._key_id,
            prev,
            "",
        )
        return CaseEntry(**{**draft.__dict__, "mac": _mac(self._key, draft.body())})

    def append(self, action: str, detail: dict) -> CaseEntry:
        """Append one entry (and, to a new file, the opening entry first); returns it.

        Raises
        ------
        CaseLogError
            When the file cannot be written, ends in a partial line, or belongs to another
            registry. Nothing is written then.
        """
        if not isinstance(action, str) or not 0 < len(action) <= 100:
            raise ValueError(f"case action must be 1-100 characters, got {action!r:.80}")
        canonical_json(detail)  # ValueError now, before anything is written
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise CaseLogError(
                f"cannot open the case file {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # one chain, whoever else appends
            last = _last_line(fd, self.path)
            lines: list[CaseEntry] = []
            if last is None:
                case, seq, prev = secrets.token_hex(8), 0, GENESIS_HASH
                lines.append(self._entry(case, 1, prev, OPENED, self._opened))
                seq, prev = 1, lines[-1].mac
            else:
                if last.registry != self.registry_fingerprint:
                    raise CaseLogError(
                        f"the case file {self.path} belongs to another registry "
                        f"({last.registry}): name a new case file"
                    )
                case, seq, prev = last.case, last.seq, last.mac
            lines.append(self._entry(case, seq + 1, prev, action, detail))
            data = b"".join(
                (canonical_json({**e.body(), "mac": e.mac}) + "\n").encode("utf-8") for e in lines
            )
            try:
                os.write(fd, data)  # one write: appended whole, or not at all
                os.fsync(fd)
            except OSError as exc:
                raise CaseLogError(
                    f"cannot write the case file {self.path}: {exc.strerror or exc}"
                ) from None
            return lines[-1]
        finally:
            os.close(fd)  # also releases the lock


def _last_line(fd: int, path: Path) -> CaseEntry | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    chunk, end, data = 1 << 16, size, b""
    while True:  # read backwards until a whole last line is in hand
        start = max(0, end - chunk)
        data = os.pread(fd, end - start, start) + data
        end = start
        if b"\n" in data[:-1] or start == 0:
            break
    if not data.endswith(b"\n"):
        raise CaseLogError(
            f"the case file {path} ends in a partial line (an interrupted write?): keep it as "
            "it is and name a new case file"
        )
    line = data[:-1].rsplit(b"\n", 1)[-1]
    entry = _parse(line)
    if entry is None:
        raise CaseLogError(f"the last line of the case file {path} is not a case entry")
    return entry


def _parse(line: bytes | str) -> CaseEntry | None:
    try:
        raw = json.loads(line)
        if not isinstance(raw, dict) or raw.get("format") != CASE_FORMAT:
            return None
        if raw.get("version") != CASE_VERSION:
            return None
        entry = CaseEntry(
            str(raw["case"]),
            raw["seq"],
            str(raw["at"]),
            str(raw["action"]),
            raw["detail"],
            str(raw["registry"]),
            raw["key_id"],
            str(raw["prev"]),
            str(raw["mac"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (entry.seq, entry.key_id))
    return entry if ints and isinstance(entry.detail, dict) else None


def read_case_file(path: str | os.PathLike[str]) -> list[CaseEntry | None]:
    """Every line of a case file, parsed (``None`` for a line that is not a case entry)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CaseLogError(f"no case file at {p}") from None
    except OSError as exc:
        raise CaseLogError(f"cannot read the case file {p}: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines[-1] = b"\x00"  # a partial last line is reported as damaged
    return [_parse(line) for line in lines]


@dataclass(frozen=True)
class CaseReport:
    """The result of verifying a case file: ``ok``, or the first broken line and why."""

    ok: bool
    case: str | None
    entries: int
    first_broken_line: int | None = None
    reason: str | None = None


def verify_case_file(registry: SqlRegistry, path: str | os.PathLike[str]) -> CaseReport:
    """Check every line of a case file: its chain, its MACs, and that it is this registry's.

    Raises
    ------
    CaseLogError
        When the file is missing, unreadable, empty or belongs to another registry.
    RegistryKeyError
        When a key that chained some entries is not available (that proves nothing either way).
    """
    entries = read_case_file(path)
    if not entries:
        raise CaseLogError(f"the case file {path} is empty")
    first = entries[0]
    if first is not None and first.registry != registry.registry_fingerprint:
        raise CaseLogError(
            f"the case file {path} belongs to another registry ({first.registry}), not to the "
            f"registry at {registry.location} ({registry.registry_fingerprint})"
        )
    prev, case = GENESIS_HASH, first.case if first is not None else None
    for number, entry in enumerate(entries, start=1):
        reason = _broken(entry, number, prev, case, registry)
        if reason is not None:
            return CaseReport(False, case, len(entries), number, f"line {number}: {reason}")
        prev = entry.mac  # type: ignore[union-attr]
    return CaseReport(True, case, len(entries))


def _broken(
    entry: CaseEntry | None, number: int, prev: str, case: str | None, registry: SqlRegistry
) -> str | None:
    if entry is None:
        return "not a case entry (damaged or truncated)"
    if entry.case != case or entry.registry != registry.registry_fingerprint:
        return "it belongs to another case file: lines were mixed in"
    if entry.seq != number or entry.prev != prev:
        return "it does not follow the line before: a line was changed, inserted or deleted"
    try:
        key = registry.key_for(entry.key_id)
    except RegistryKeyError as exc:
        raise RegistryKeyError(f"cannot verify line {number} of the case file: {exc}") from None
    if not hmac.compare_digest(_mac(key, entry.body()), entry.mac):
        return "its content does not match its MAC: the line was changed"
    if (number == 1) != (entry.action == OPENED):
        return "a case file opens with its first line, and only there"
    return None


def merge_case_file(registry: SqlRegistry, path: str | os.PathLike[str]) -> list[AuditEntry]:
    """Copy a verified case file's entries into the registry's audit log, once.

    Each entry becomes an audit row with its own action and detail plus ``from_case_file`` (the
    case id, line, time and MAC); a ``case file merged`` row follows. Entries merged before (an
    earlier merge of the same case file) are not merged again. Returns the rows appended.

    Raises
    ------
    CaseLogError
        When the case file does not verify (nothing is merged).
    """
    report = verify_case_file(registry, path)
    if not report.ok:
        raise CaseLogError(f"the case file {path} is broken at {report.reason}: nothing merged")
    entries = [e for e in read_case_file(path) if e is not None]

    def build(merged: list[dict]) -> list[tuple[str, dict]]:
        done = max(
            (d.get("through_seq", 0) for d in merged if d.get("case") == report.case), default=0
        )
        fresh = [e for e in entries if e.seq > done and e.action != OPENED]
        if not any(e.seq > done for e in entries):
            return []
        rows = [
            (
                e.action,
                {
                    **e.detail,
                    "from_case_file": {"case": e.case, "seq": e.seq, "at": e.at, "mac": e.mac},
                },
            )
            for e in fresh
        ]
        rows.append(
            (
                MERGED,
                {
                    "case": report.case,
                    "through_seq": entries[-1].seq,
                    "entries": len(fresh),
                    "head_mac": entries[-1].mac,
                    "opened": entries[0].detail,
                },
            )
        )
        return rows

    return registry.append_audit_once(MERGED, build)


def log_event(
    registry: SqlRegistry,
    action: str,
    detail: dict,
    *,
    case_file: str | os.PathLike[str] | None = None,
) -> AuditEntry | CaseEntry:
    """Record what an investigation did: in the audit log, or in a case file when the registry
    is read-only (``case_file``, default :func:`default_case_file` in the working directory).

    The one call identify needs instead of :meth:`SqlRegistry.append_audit`.
    """
    if not registry.read_only:
        try:
            return registry.append_audit(action, detail)
        except RegistryReadOnlyError as exc:
            # Writes were refused after all (a role or a mount changed since the registry
            # was opened): from now on this registry object is read-only.
            registry.read_only_reason = f"writes were refused: {exc}"
    return CaseLog.for_registry(registry, case_file).append(action, detail)
