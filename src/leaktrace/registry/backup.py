"""Key backups: every key of a registry, sealed with a passphrase, in a small JSON file.

Sealing uses standard primitives from PyCA ``cryptography`` only: the passphrase (NFC-normalised,
UTF-8) is stretched with scrypt (RFC 7914; n = 2^17, r = 8, p = 1: ~128 MiB and ~0.5 s, a random
16-byte salt) into a 256-bit key for AES-256-GCM (a random 96-bit nonce). The authenticated data
is the canonical JSON of the file's header (format, version, the registry's fingerprint, the key
ids and fingerprints, the KDF and its parameters), so a header that was edited, or the keys of one
registry presented as another's, fail to open like a wrong passphrase does. The file::

    {"format": "leaktrace-key-backup", "version": 1, "registry": "<key 1's fingerprint>",
     "keys": [{"id": 1, "fingerprint": "..."}, ...], "created_at": "...",
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<hex>"},
     "cipher": "AES-256-GCM", "nonce": "<hex>", "ciphertext": "<base64>"}

The plaintext is ``{"keys": {"1": "<hex>", ...}}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leaktrace.errors import KeyBackupError
from leaktrace.registry.audit import canonical_json
from leaktrace.registry.keys import check_key, key_fingerprint

__all__ = [
    "BACKUP_FORMAT",
    "MIN_PASSPHRASE",
    "KeyBackup",
    "open_backup",
    "read_header",
    "seal_keys",
]

BACKUP_FORMAT = "leaktrace-key-backup"
BACKUP_VERSION = 1
#: The shortest passphrase a new backup accepts (it guards every key of the registry).
MIN_PASSPHRASE = 12
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**17, 8, 1
# What a backup may ask of scrypt when opened: a crafted file must not take hours or all memory.
_N_RANGE = (2**14, 2**20)
_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class KeyBackup:
    """The keys a backup holds, by id, and the registry they belong to."""

    registry: str
    keys: dict[int, bytes] = field(repr=False)
    created_at: str | None = None


def _passphrase_bytes(passphrase: str) -> bytes:
    if not isinstance(passphrase, str) or not passphrase:
        raise KeyBackupError("the passphrase is empty")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _scrypt(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _aad(header: dict[str, Any]) -> bytes:
    return canonical_json(header).encode("utf-8")


def seal_keys(
    keys: dict[int, bytes],
    *,
    registry_fingerprint: str,
    passphrase: str,
    scrypt_n: int = _SCRYPT_N,
) -> bytes:
    """The backup file's bytes, holding ``keys`` (by id) sealed under ``passphrase``.

    Parameters
    ----------
    keys
        Every key of the registry, by id; key 1's fingerprint must be ``registry_fingerprint``.
    registry_fingerprint
        The registry's identity (the fingerprint of its first key).
    passphrase
        At least :data:`MIN_PASSPHRASE` characters.
    scrypt_n
        scrypt's cost (a power of two); the default is for real backups.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(passphrase or "") < MIN_PASSPHRASE:
        raise KeyBackupError(
            f"the passphrase is too short: use at least {MIN_PASSPHRASE} characters (a few "
            "random words), it protects every key of the registry"
        )
    if not keys or 1 not in keys or key_fingerprint(keys[1]) != registry_fingerprint:
        raise KeyBackupError("a backup must hold the registry's first key")
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "registry": registry_fingerprint,
        "keys": [{"id": i, "fingerprint": key_fingerprint(keys[i])} for i in sorted(keys)],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kdf": {
            "name": "scrypt",
            "n": scrypt_n,
            "r": _SCRYPT_R,
            "p": _SCRYPT_P,
            "salt": salt.hex(),
        },
        "cipher": "AES-256-GCM",
    }
    secret = _scrypt(_passphrase_bytes(passphrase), salt, scrypt_n, _SCRYPT_R, _SCRYPT_P)
    plaintext = canonical_json({"keys": {str(i): check_key(keys[i]).hex() for i in sorted(keys)}})
    sealed = AESGCM(secret).encrypt(nonce, plaintext.encode("ascii"), _aad(header))
    document = {**header, "nonce": nonce.hex(), "ciphertext": base64.b64encode(sealed).decode()}
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def read_header(data: bytes, source: str = "the backup") -> dict[str, Any]:
    """The backup's header (which registry, which keys), checked for shape but not opened.

    Raises :class:`KeyBackupError` when the data is not a leaktrace key backup (corrupt,
    truncated, another format).
    """
    if len(data) > _MAX_BYTES:
        raise KeyBackupError(f"{source} is not a leaktrace key backup: it is far too large")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise KeyBackupError(
            f"{source} is not a leaktrace key backup: not JSON (corrupt or truncated?)"
        ) from None
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise KeyBackupError(f"{source} is not a leaktrace key backup")
    if document.get("version") != BACKUP_VERSION:
        raise KeyBackupError(
            f"{source} is a version {document.get('version')!r:.20} key backup; this leaktrace "
            f"reads version {BACKUP_VERSION}: upgrade leaktrace"
        )
    kdf = document.get("kdf")
    keys = document.get("keys")
    try:
        ok = (
            isinstance(document.get("registry"), str)
            and isinstance(keys, list)
            and all(isinstance(k["id"], int) and isinstance(k["fingerprint"], str) for k in keys)
            and isinstance(kdf, dict)
            and kdf.get("name") == "scrypt"
            and isinstance(kdf.get("n"), int)
            and _N_RANGE[0] <= kdf["n"] <= _N_RANGE[1]
            and kdf["n"] & (kdf["n"] - 1) == 0
            and (kdf.get("r"), kdf.get("p")) == (_SCRYPT_R, _SCRYPT_P)
            and len(bytes.fromhex(kdf["salt"])) == 16
            and document.get("cipher") == "AES-256-GCM"
            and len(bytes.fromhex(document["nonce"])) == 12
            and isinstance(document.get("ciphertext"), str)
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise KeyBackupError(
            f"{source} is a damaged leaktrace key backup: a field is missing or malformed"
        )
    return document


def open_backup(data: bytes, passphrase: str, source: str = "the backup") -> KeyBackup:
    """The keys sealed in a backup.

    Raises
    ------
    KeyBackupError
        When the data is not a key backup, the passphrase is wrong, or the file was altered
        (AES-GCM cannot tell these two apart, and says neither more nor less).
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    document = read_header(data, source)
    header = {k: v for k, v in document.items() if k not in ("nonce", "ciphertext")}
    kdf = document["kdf"]
    try:
        sealed = base64.b64decode(document["ciphertext"], validate=True)
    except (binascii.Error, ValueError):
        raise KeyBackupError(
            f"{source} is a damaged leaktrace key backup (corrupt or truncated?)"
        ) from None
    secret = _scrypt(
        _passphrase_bytes(passphrase), bytes.fromhex(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"]
    )
    try:
        plaintext = AESGCM(secret).decrypt(bytes.fromhex(document["nonce"]), sealed, _aad(header))
    except InvalidTag:
        raise KeyBackupError(
            f"cannot open {source}: wrong passphrase, or the file was altered"
        ) from None
    try:
        keys = {
            int(i): check_key(bytes.fromhex(h)) for i, h in json.loads(plaintext)["keys"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyBackupError(f"{source} holds no valid keys") from None
    listed = {k["id"]: k["fingerprint"] for k in document["keys"]}
    if set(listed) != set(keys) or any(
        not hmac.compare_digest(key_fingerprint(keys[i]), listed[i]) for i in keys
    ):
        raise KeyBackupError(f"{source} is inconsistent: its keys do not match its header")
    if 1 not in keys or not hmac.compare_digest(key_fingerprint(keys[1]), document["registry"]):
        raise KeyBackupError(f"{source} is inconsistent: it lacks the registry's first key")
    return KeyBackup(document["registry"], keys, document.get("created_at"))
