"""Keyed bit streams whose definition we own.

Marks made today must be readable in ten years, so nothing here depends on NumPy's random
distributions (which may change between versions). Every stream is HMAC-SHA256 of the registry
key over a length-prefixed label, expanded with SHAKE-256: both are fixed by FIPS standards.
``tests/test_keystream.py`` pins the output with golden vectors.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

_DOMAIN = b"leaktrace/v1"


def derive_seed(key: bytes, *parts: str | bytes) -> bytes:
    """Return a 32-byte seed bound to ``key`` and the ordered ``parts``.

    Parts are length-prefixed so that ``("ab", "c")`` and ``("a", "bc")`` never collide.
    """
    if len(key) < 16:
        raise ValueError("key must be at least 16 bytes")
    message = bytearray(_DOMAIN)
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else bytes(part)
        message += len(data).to_bytes(4, "big") + data
    return hmac.new(key, bytes(message), hashlib.sha256).digest()


def expand(seed: bytes, n_bytes: int) -> bytes:
    """Return ``n_bytes`` of keystream from a seed (SHAKE-256)."""
    return hashlib.shake_256(seed).digest(n_bytes)


def sign_bits(seed: bytes, n: int) -> np.ndarray:
    """Return ``n`` values in {-1, +1} (int8) drawn from the seed's keystream."""
    bits = np.unpackbits(np.frombuffer(expand(seed, (n + 7) // 8), dtype=np.uint8))[:n]
    return (bits.astype(np.int8) * 2 - 1).astype(np.int8)


def packed_code(seed: bytes, n_bits: int) -> bytes:
    """Return the first ``n_bits`` of the keystream packed MSB-first (the form codes are stored in)."""
    if n_bits % 8:
        raise ValueError("n_bits must be a multiple of 8")
    return expand(seed, n_bits // 8)


def unit_uniforms(seed: bytes, n: int) -> np.ndarray:
    """Return ``n`` floats uniform on [0, 1) with 53 bits each."""
    words = np.frombuffer(expand(seed, 8 * n), dtype=">u8").astype(np.uint64)
    return (words >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def permutation(seed: bytes, n: int) -> np.ndarray:
    """Return a keyed permutation of ``range(n)`` (argsort of keystream words, stable)."""
    words = np.frombuffer(expand(seed, 8 * n), dtype=">u8").astype(np.uint64)
    return np.argsort(words, kind="stable").astype(np.int64)
