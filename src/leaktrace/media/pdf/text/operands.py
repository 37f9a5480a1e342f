"""Operands of content-stream instructions: type checks, numbers and matrices."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class MalformedStream(Exception):
    """The content stream is not what it seems; the whole page is left alone."""


class UnsupportedText(Exception):
    """One font or piece of text cannot be measured; that text is left alone."""


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def is_string(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.String)


def is_name(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Name)


def is_dictionary(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Dictionary | pikepdf.Stream)


def is_stream(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Stream)


def lookup(container: Any, key: str) -> Any:
    """container[key] if container is a dictionary that has it, else None."""
    return container.get(key) if is_dictionary(container) else None


def is_array(value: Any) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Array)


def numbers(op: str, operands: Any, count: int) -> list[float]:
    if len(operands) != count or not all(is_number(v) for v in operands):
        raise MalformedStream(f"{op} needs {count} number{'s' if count > 1 else ''}")
    values = [float(v) for v in operands]
    if not all(math.isfinite(v) for v in values):
        raise MalformedStream(f"{op} has a non-finite operand")
    return values


def matrix(op: str, operands: Any) -> Matrix:
    a, b, c, d, e, f = numbers(op, operands, 6)
    return (a, b, c, d, e, f)


def mul(m: Matrix, n: Matrix) -> Matrix:
    """m then n, for row vectors (PDF's convention: p' = p m n)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )
