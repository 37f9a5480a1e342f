"""Where a process finds a registry's keys, and which of the registry's keys each one is.

A registry has keys 1, 2, ... (:mod:`.schema` version 3); the database records each key's
fingerprint and creation time, never the key. The newest key is the current one: it marks new
copies. Older keys stay needed to identify the copies they made.

Key material comes from, in this order:

- the key given by the caller (``$LEAKTRACE_KEY`` in the CLI): it must be one of the registry's;
- a folder registry's ``DIR/key`` (the current key) when no key is given, and every file
  ``DIR/keys/ID`` (each key by id, written by ``leaktrace key rotate``), all mode 0600;
- a keyring: a mode-0600 text file of ``ID:HEX`` lines (``#`` comments allowed; a file holding
  one bare hex key, as ``leaktrace keygen --out`` writes, counts too), named by ``keyring=``
  (``$LEAKTRACE_KEYRING`` in the CLI), or a mapping of key ids to keys (for worker processes).

Each key is matched to the registry's keys by its fingerprint; an ``ID`` is a label that must
agree with it. A labelled key whose id the registry does not know yet is ignored (it is what an
interrupted ``key rotate`` leaves behind, and the next one adopts it).
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leaktrace.errors import RegistryKeyError
from leaktrace.registry.keys import (
    KEY_BYTES,
    check_key,
    key_fingerprint,
    parse_key_text,
    read_key_file,
)
from leaktrace.registry.models import KeyInfo

__all__ = [
    "KEYS_DIR",
    "KeyCandidate",
    "KeySources",
    "format_keyring",
    "parse_keyring",
    "read_keyring",
    "resolve_keys",
]

#: A folder registry keeps every key by id in ``DIR/keys/ID`` once it has more than one.
KEYS_DIR = "keys"
_LINE = re.compile(rf"(\d{{1,9}})\s*:\s*([0-9A-Fa-f]{{{2 * KEY_BYTES}}})")
_ID_FILE = re.compile(r"[1-9]\d{0,8}")


@dataclass(frozen=True)
class KeyCandidate:
    """A key found somewhere, before it is matched to one of the registry's keys.

    ``source`` says where it came from (for messages: never the key); ``label`` is the id it is
    filed under, if any; a ``primary`` key (given by the caller, or the folder's key file) must
    belong to the registry, or opening it fails.
    """

    key: bytes = field(repr=False)
    source: str
    label: int | None = None
    primary: bool = False

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key)


def parse_keyring(text: str, source: str) -> list[KeyCandidate]:
    """The keys of a keyring's text (``ID:HEX`` lines, or one bare hex key).

    Raises :class:`RegistryKeyError` naming the line, never repeating it (it may hold a key).
    """
    found: list[KeyCandidate] = []
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if len(lines) == 1 and ":" not in lines[0][1]:
        try:
            return [KeyCandidate(parse_key_text(lines[0][1]), source)]
        except RegistryKeyError:
            pass  # reported below, with the line number
    seen: set[int] = set()
    for number, line in lines:
        match = _LINE.fullmatch(line)
        if match is None or int(match.group(1)) < 1:
            raise RegistryKeyError(
                f"the keyring {source} is malformed at line {number}: expected ID:HEX, a key id "
                f"from 1 and {2 * KEY_BYTES} hex characters"
            )
        key_id = int(match.group(1))
        if key_id in seen:
            raise RegistryKeyError(f"the keyring {source} lists key {key_id} twice")
        seen.add(key_id)
        found.append(KeyCandidate(bytes.fromhex(match.group(2)), f"{source}", key_id))
    if not found:
        raise RegistryKeyError(f"the keyring {source} holds no key")
    return found


def read_keyring(path: str | os.PathLike[str]) -> list[KeyCandidate]:
    """The keys of a keyring file; :class:`RegistryKeyError` if it is missing or malformed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii")
    except FileNotFoundError:
        raise RegistryKeyError(f"no keyring file at {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise RegistryKeyError(f"cannot read the keyring {p}: {reason}") from None
    return parse_keyring(text, str(p))


def format_keyring(keys: Mapping[int, bytes], *, registry_fingerprint: str) -> bytes:
    """The text of a keyring file holding ``keys`` (by id), for :func:`read_keyring`."""
    lines = [
        "# leaktrace keyring: the keys of one registry, by key id. Keep it secret (mode 0600).",
        f"# registry {registry_fingerprint}",
        *(f"{key_id}:{check_key(keys[key_id]).hex()}" for key_id in sorted(keys)),
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


class KeySources:
    """Where this process looks for a registry's keys; read again when another process has
    rotated the key while this one runs.

    Parameters
    ----------
    key
        The key the caller gives, or None.
    folder
        A folder registry's directory (``DIR/key``, ``DIR/keys/``), or None.
    keyring
        A keyring file's path, or a mapping of key ids to keys, or None.
    """

    def __init__(
        self,
        *,
        key: bytes | None = None,
        folder: str | os.PathLike[str] | None = None,
        keyring: str | os.PathLike[str] | Mapping[int, bytes] | None = None,
    ) -> None:
        self._key = None if key is None else check_key(key)
        self.folder = None if folder is None else Path(folder)
        self._mapping: dict[int, bytes] | None = None
        self.keyring_path: Path | None = None
        if isinstance(keyring, Mapping):
            self._mapping = {int(k): check_key(v) for k, v in keyring.items()}
        elif keyring is not None:
            self.keyring_path = Path(keyring)

    def __repr__(self) -> str:
        return f"KeySources(folder={self.folder!r}, keyring={self.keyring_path!r})"

    @property
    def given(self) -> bytes | None:
        """The key the caller gave, if any."""
        return self._key

    def candidates(self) -> list[KeyCandidate]:
        """Every key found now, in the order of the module's docstring."""
        found: list[KeyCandidate] = []
        if self._key is not None:
            found.append(KeyCandidate(self._key, "the key given", primary=True))
        if self.folder is not None:
            from leaktrace.registry.engines import KEY_FILE

            key_file = self.folder / KEY_FILE
            if self._key is None and (key_file.exists() or not self._others_exist()):
                found.append(KeyCandidate(read_key_file(key_file), str(key_file), primary=True))
            found += self._filed_keys()
        if self._mapping is not None:
            found += [
                KeyCandidate(key, "the keys given", key_id)
                for key_id, key in sorted(self._mapping.items())
            ]
        if self.keyring_path is not None:
            found += read_keyring(self.keyring_path)
        return found

    def _others_exist(self) -> bool:
        return bool(self._filed_names()) or self._mapping is not None or bool(self.keyring_path)

    def _filed_names(self) -> list[str]:
        folder = self.folder / KEYS_DIR if self.folder is not None else None
        if folder is None or not folder.is_dir():
            return []
        try:
            return sorted(name for name in os.listdir(folder) if _ID_FILE.fullmatch(name))
        except OSError as exc:
            raise RegistryKeyError(
                f"cannot read the keys folder {folder}: {exc.strerror}"
            ) from None

    def _filed_keys(self) -> list[KeyCandidate]:
        assert self.folder is not None
        return [
            KeyCandidate(
                read_key_file(self.folder / KEYS_DIR / name),
                str(self.folder / KEYS_DIR / name),
                int(name),
            )
            for name in self._filed_names()
        ]


def resolve_keys(
    records: Sequence[KeyInfo], candidates: Sequence[KeyCandidate], location: str
) -> dict[int, bytes]:
    """Which of the registry's keys (``records``) the ``candidates`` are: ``{key id: key}``.

    Raises
    ------
    RegistryKeyError
        When a primary candidate is not one of the registry's keys, when a labelled key is filed
        under the id of another of its keys, or when no candidate is any of its keys. The current
        key being missing is the caller's concern (:meth:`SqlRegistry.list_keys` reports it).
    """
    by_fingerprint = {record.fingerprint: record for record in records}
    by_id = {record.id: record for record in records}
    found: dict[int, bytes] = {}
    for candidate in candidates:
        record = _match(by_fingerprint, candidate.fingerprint)
        if record is None:
            if candidate.primary:
                raise RegistryKeyError(
                    f"the key does not belong to this registry ({location})"
                    + ("" if candidate.source == "the key given" else f": {candidate.source}")
                )
            if candidate.label is not None and candidate.label in by_id:
                raise RegistryKeyError(
                    f"{candidate.source} gives key {candidate.label}, but that is not this "
                    f"registry's key {candidate.label} ({location}): a keyring of another registry?"
                )
            continue  # a key of no record yet: what an interrupted rotation leaves behind
        if candidate.label is not None and candidate.label != record.id:
            raise RegistryKeyError(
                f"{candidate.source} files this registry's key {record.id} as key "
                f"{candidate.label} ({location}): fix the key id"
            )
        found[record.id] = candidate.key
    if not found:
        raise RegistryKeyError(f"the key does not belong to this registry ({location})")
    return found


def _match(by_fingerprint: dict[str, KeyInfo], fingerprint: str) -> KeyInfo | None:
    for stored, record in by_fingerprint.items():
        if hmac.compare_digest(stored, fingerprint):
            return record
    return None
