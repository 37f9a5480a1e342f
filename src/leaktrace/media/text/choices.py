"""Keyed choices and the per-copy code.

Each recipient's variant at each choice point is a keyed fair draw: the seed is
``derive_seed(key, "text-choice/v1", document_id, recipient_id, point_id)`` and the index is
drawn uniformly from ``range(k)`` by rejection sampling on 64-bit keystream words, so every
index has probability exactly ``1/k`` and draws at different points are independent. This is
what the identification's exact null relies on.

The code of a copy (``Copy.code``) packs its choices:

- byte 0: the code version, ``1``;
- bytes 1-4: the first four bytes of the plan's SHA-256 (a code is never read against the
  wrong plan);
- then, for every choice point in plan order, its index in ``ceil(log2 k)`` bits, most
  significant bit first, zero-padded to a whole byte.
"""

from __future__ import annotations

import math

from leaktrace.engine.watermark.keystream import derive_seed, expand
from leaktrace.errors import LeaktraceError

__all__ = [
    "CODE_VERSION",
    "decode_code",
    "draw_index",
    "encode_code",
    "keyed_choices",
    "permutation_of",
]

CODE_VERSION = 1
_LABEL = "text-choice/v1"


def draw_index(seed: bytes, k: int) -> int:
    """A uniform integer in ``range(k)`` from ``seed``'s keystream (exact, by rejection)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    limit = (1 << 64) - ((1 << 64) % k)
    blocks = 4
    while True:
        stream = expand(seed, 8 * blocks)
        for offset in range(0, len(stream), 8):
            word = int.from_bytes(stream[offset : offset + 8], "big")
            if word < limit:
                return word % k
        # The chance of rejecting four words in a row is below 2**-200 for any k used here.
        blocks *= 2


def keyed_choices(key: bytes, document_id: str, recipient_id: str, points) -> tuple[int, ...]:
    """Every point's index for one recipient's copy of one document.

    Parameters
    ----------
    key : bytes
        The registry's secret key (16 bytes or more).
    document_id, recipient_id : str
    points : sequence of objects with ``id`` and ``k``
        The plan's choice points, in plan order.
    """
    return tuple(
        draw_index(derive_seed(key, _LABEL, document_id, recipient_id, point.id), point.k)
        for point in points
    )


def permutation_of(index: int, n: int) -> tuple[int, ...]:
    """The permutation of ``range(n)`` with rank ``index`` (Lehmer code, ``0`` = identity)."""
    if not 0 <= index < math.factorial(n):
        raise ValueError("index out of range")
    pool = list(range(n))
    out = []
    for position in range(n, 0, -1):
        digit, index = divmod(index, math.factorial(position - 1))
        out.append(pool.pop(digit))
    return tuple(out)


def _widths(ks) -> list[int]:
    return [max(1, (k - 1).bit_length()) for k in ks]


def encode_code(plan_digest: str, ks, choices) -> bytes:
    """Pack a copy's choices (see the module's notes for the layout)."""
    if len(ks) != len(choices):
        raise ValueError("one choice per point")
    value, total = 0, 0
    for width, k, choice in zip(_widths(ks), ks, choices, strict=True):
        if not 0 <= choice < k:
            raise ValueError("choice out of range")
        value = (value << width) | choice
        total += width
    pad = (-total) % 8
    body = (value << pad).to_bytes((total + pad) // 8, "big")
    return bytes([CODE_VERSION]) + bytes.fromhex(plan_digest[:8]) + body


def decode_code(code: bytes, plan_digest: str, ks) -> tuple[int, ...]:
    """Unpack a code made by :func:`encode_code` for the plan with ``plan_digest``.

    Raises
    ------
    LeaktraceError
        When the code has another version, belongs to another plan or is truncated.
    """
    if len(code) < 5 or code[0] != CODE_VERSION:
        raise LeaktraceError("a text copy's code has an unknown version: upgrade leaktrace")
    if code[1:5] != bytes.fromhex(plan_digest[:8]):
        raise LeaktraceError(
            "a text copy's code belongs to another plan: the registry is inconsistent"
        )
    widths = _widths(ks)
    total = sum(widths)
    body = code[5:]
    if len(body) * 8 < total:
        raise LeaktraceError("a text copy's code is truncated: the registry is inconsistent")
    value = int.from_bytes(body, "big") >> (len(body) * 8 - total)
    out = []
    for width, k in zip(reversed(widths), reversed(ks), strict=True):
        choice = value & ((1 << width) - 1)
        value >>= width
        if choice >= k:
            raise LeaktraceError(
                "a text copy's code holds an impossible choice: the registry is inconsistent"
            )
        out.append(choice)
    return tuple(reversed(out))
