"""The registry's secret key: generation, parsing, fingerprint and the 0600 key file.

The key is 32 random bytes written as 64 hex characters. It derives every recipient's pattern, so it
never appears in messages, reprs or the database: the registry stores only :func:`key_fingerprint`,
which tells a wrong key from the right one without revealing anything about it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import string
from pathlib import Path

from leaktrace.errors import RegistryKeyError
from leaktrace.registry.files import write_new_file

__all__ = [
    "KEY_BYTES",
    "check_key",
    "generate_key",
    "key_fingerprint",
    "parse_key_text",
    "read_key_file",
    "write_key_file",
]

KEY_BYTES = 32
_FINGERPRINT_MESSAGE = b"leaktrace/key-fingerprint/v1"
_HEX = frozenset(string.hexdigits)


def generate_key() -> bytes:
    """Return a new random key of :data:`KEY_BYTES` bytes from the operating system."""
    return os.urandom(KEY_BYTES)


def check_key(key: object) -> bytes:
    """Return ``key`` if it is :data:`KEY_BYTES` bytes, else raise :class:`RegistryKeyError`."""
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise RegistryKeyError(
            f"the key must be {KEY_BYTES} bytes ({2 * KEY_BYTES} hex characters); "
            "generate one with leaktrace init"
        )
    return bytes(key)


def parse_key_text(text: str) -> bytes:
    """Parse the hex text form of a key (whitespace ignored) into its bytes.

    Raises :class:`RegistryKeyError` unless the text is exactly ``2 * KEY_BYTES`` hex digits. The
    message never repeats the text: it may be a real key with a typo.
    """
    compact = "".join(text.split()) if isinstance(text, str) else ""
    if len(compact) != 2 * KEY_BYTES or not set(compact) <= _HEX:
        raise RegistryKeyError(
            f"the key is malformed: expected {2 * KEY_BYTES} hex characters "
            f"({KEY_BYTES} bytes), as written by leaktrace init"
        )
    return bytes.fromhex(compact)


def key_fingerprint(key: bytes) -> str:
    """Return a 16-hex-character fingerprint of ``key``, safe to store and to show."""
    check_key(key)
    return hmac.new(bytes(key), _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def write_key_file(path: str | os.PathLike[str], key: bytes) -> None:
    """Write ``key`` as hex to a new file readable by its owner only (mode 0600).

    The file is written to a temporary file created with mode 0600 and linked into place, so the
    key is never readable by others, not even for an instant, a crash leaves no partial key file,
    and an existing file is never overwritten.
    """
    check_key(key)
    p = Path(path)
    try:
        write_new_file(p, (bytes(key).hex() + "\n").encode("ascii"))
    except FileExistsError:
        raise RegistryKeyError(
            f"a key file already exists at {p}: refusing to overwrite it"
        ) from None
    except OSError as exc:
        raise RegistryKeyError(f"cannot write the key file {p}: {exc.strerror or exc}") from None


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """Read a key file written by :func:`write_key_file`.

    Raises :class:`RegistryKeyError` if the file is missing, unreadable or malformed.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii")
    except FileNotFoundError:
        raise RegistryKeyError(
            f"no key file at {p}: pass the registry key (for example in LEAKTRACE_KEY)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise RegistryKeyError(f"cannot read the key file {p}: {reason}") from None
    try:
        return parse_key_text(text)
    except RegistryKeyError:
        raise RegistryKeyError(
            f"the key file {p} is malformed: expected {2 * KEY_BYTES} hex characters"
        ) from None
