"""Keys derived from a registry key, one per purpose, and the MACs made with them.

Each purpose gets its own 32-byte subkey, ``HKDF-SHA256(ikm=registry key, salt=none,
info=LABEL)`` (RFC 5869, from PyCA ``cryptography``), so a MAC made for one purpose can never be
passed off as one made for another, and no subkey says anything about the registry key or about
the patterns it derives. The labels are part of the file formats: never change one; add a new
label (``.../v2``) instead.

==========================  ===================================================================
label                       used for
==========================  ===================================================================
``leaktrace/audit-chain/v1``  the audit log: ``row_hash = HMAC(subkey, prev_hash + canonical row)``
``leaktrace/audit-head/v1``   the MAC of an exported head of the audit log
``leaktrace/case-log/v1``     the chain of a case file written by a read-only investigation
``leaktrace/code-commitment/v1``  a key holder's MAC of a copy's code (checkable with the key)
``leaktrace/copy-nonce/v1``   the nonce that hides a copy's code in its public commitment
==========================  ===================================================================

A copy's **public commitment** (:func:`public_commitment`) needs no key to check: it is
``SHA-256(len-prefixed("leaktrace/copy-commitment/v1", asset id, recipient id, key id, pattern,
code, nonce))``, where ``pattern`` describes what fixes the asset's pattern (its layout and cell
seeds) and ``nonce`` is an HMAC of the key under ``leaktrace/copy-nonce/v1``. Revealing one copy's
*opening* (pattern, code, nonce) opens that commitment only.
"""

from __future__ import annotations

import hashlib
import hmac

from leaktrace.registry.keys import check_key

__all__ = [
    "AUDIT_CHAIN",
    "AUDIT_HEAD",
    "CASE_LOG",
    "CODE_COMMITMENT",
    "COPY_COMMITMENT",
    "COPY_NONCE",
    "code_commitment",
    "copy_nonce",
    "mac_hex",
    "public_commitment",
    "subkey",
]

AUDIT_CHAIN = b"leaktrace/audit-chain/v1"
AUDIT_HEAD = b"leaktrace/audit-head/v1"
CASE_LOG = b"leaktrace/case-log/v1"
CODE_COMMITMENT = b"leaktrace/code-commitment/v1"
COPY_NONCE = b"leaktrace/copy-nonce/v1"
# The domain tag of a public commitment: a hash input, not a subkey label.
COPY_COMMITMENT = b"leaktrace/copy-commitment/v1"


def subkey(key: bytes, label: bytes) -> bytes:
    """The 32-byte subkey of ``key`` for the purpose named by ``label``.

    Parameters
    ----------
    key
        A registry key (:data:`~leaktrace.registry.keys.KEY_BYTES` bytes).
    label
        One of this module's labels.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(check_key(key))


def mac_hex(sub: bytes, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under the subkey ``sub``, as 64 lowercase hex characters."""
    return hmac.new(sub, message, hashlib.sha256).hexdigest()


def _length_prefixed(*fields: bytes) -> bytes:
    # Each field carries its length, so no two different field lists give the same message.
    return b"".join(len(field).to_bytes(4, "big") + field for field in fields)


def code_commitment(
    key: bytes, *, asset_id: str, recipient_id: str, key_id: int, code: bytes
) -> str:
    """The commitment of one copy to its recipient's packed code, as 64 hex characters.

    ``HMAC-SHA256(subkey(key, CODE_COMMITMENT), len-prefixed("copy-code", asset_id, recipient_id,
    key_id, code))``. Only a holder of the key can make one, so a code cached in the database
    that no longer matches its commitment was edited by someone without the key; checking it
    costs one HMAC instead of re-deriving the recipient's pattern.

    Parameters
    ----------
    key
        The registry key that made the copy (the key with id ``key_id``).
    asset_id, recipient_id
        The copy's asset and recipient.
    key_id
        The id of ``key`` in the registry.
    code
        The packed code cached for the copy.
    """
    if not isinstance(code, bytes) or not code:
        raise ValueError("code must be non-empty bytes")
    message = _length_prefixed(
        b"copy-code",
        asset_id.encode("utf-8"),
        recipient_id.encode("utf-8"),
        str(int(key_id)).encode("ascii"),
        code,
    )
    return mac_hex(subkey(key, CODE_COMMITMENT), message)


def copy_nonce(key: bytes, *, asset_id: str, recipient_id: str, key_id: int) -> bytes:
    """The 32-byte nonce of one copy's public commitment: unpredictable without the key, so the
    commitment hides the code even from someone who guesses most of its bits, and reproducible
    by the key holder, so nothing needs storing."""
    message = _length_prefixed(
        b"copy-nonce",
        asset_id.encode("utf-8"),
        recipient_id.encode("utf-8"),
        str(int(key_id)).encode("ascii"),
    )
    return hmac.new(subkey(key, COPY_NONCE), message, hashlib.sha256).digest()


def public_commitment(
    *, asset_id: str, recipient_id: str, key_id: int, pattern: bytes, code: bytes, nonce: bytes
) -> str:
    """A copy's commitment to its code, checkable by anyone given the opening, as 64 hex
    characters (see the module's docstring). SHA-256 is binding (no other opening gives the same
    value) and, with a secret 32-byte nonce, hiding."""
    if not isinstance(code, bytes) or not code:
        raise ValueError("code must be non-empty bytes")
    if not isinstance(nonce, bytes) or len(nonce) != 32:
        raise ValueError("nonce must be 32 bytes")
    message = _length_prefixed(
        COPY_COMMITMENT,
        asset_id.encode("utf-8"),
        recipient_id.encode("utf-8"),
        str(int(key_id)).encode("ascii"),
        pattern,
        code,
        nonce,
    )
    return hashlib.sha256(message).hexdigest()
