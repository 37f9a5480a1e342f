"""``leaktrace text check FILE``: what a document's copies can tell apart."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .plan import TextPlan, bits_needed
from .score import DEFAULT_BOUND

__all__ = ["CheckReport", "PointSummary", "check_document"]

_RETYPING_SAFE = frozenset({"authored", "lexical", "format", "order"})


@dataclass(frozen=True)
class PointSummary:
    """One choice point as ``check`` lists it."""

    id: str
    rule: str
    family: str
    k: int
    bits: float
    places: int
    variants: tuple[str, ...]
    context: str


@dataclass(frozen=True)
class CheckReport:
    """A document's choice points and what they can separate.

    ``separable`` is the largest number of recipients of whom one can be named at ``bound``
    from a leak of the whole document (every point observed and agreeing): ``bound * 2**bits``.
    ``bits_retyped`` leaves out the typographic points, which retyping erases.
    """

    points: tuple[PointSummary, ...]
    bits: float
    bits_retyped: float
    bound: float
    separable: int
    separable_retyped: int

    def bits_by_family(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for p in self.points:
            out[p.family] = out.get(p.family, 0.0) + p.bits
        return out

    def needed_for(self, recipients: int) -> float:
        """Bits a leak must show to name one of ``recipients`` at this report's bound."""
        return bits_needed(recipients, self.bound)


def _separable(bits: float, bound: float) -> int:
    exponent = bits + math.log2(bound)
    return 0 if exponent < 0 else int(min(2.0**exponent, 2.0**62))


def check_document(plan: TextPlan, *, bound: float = DEFAULT_BOUND) -> CheckReport:
    """List every choice point of ``plan`` with the bits it carries, and the totals."""
    points = []
    segments = plan.document.segments
    for point in plan.points:
        if point.items:
            variants = tuple(segments[i].text.strip()[:30] for i in point.items)
            context = f"unordered list of {len(point.items)} items"
            places = len(point.items)
        else:
            variants = point.locations[0].texts
            first = point.locations[0]
            text = segments[first.segment].text
            context = text[max(0, first.start - 25) : first.end + 25].replace("\n", " ")
            places = len(point.locations)
        points.append(
            PointSummary(
                point.id, point.rule, point.family, point.k, point.bits, places, variants, context
            )
        )
    bits = sum(p.bits for p in points)
    retyped = sum(p.bits for p in points if p.family in _RETYPING_SAFE)
    return CheckReport(
        tuple(points), bits, retyped, bound, _separable(bits, bound), _separable(retyped, bound)
    )
