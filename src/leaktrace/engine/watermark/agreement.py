"""An exact test for marks read as agreements: each holder's keyed variant at an observed
point either agrees with what the leak shows or not.

For a holder who did not leak, the variant at each observed point is a keyed fair draw made
independently of the leak, so it agrees with probability exactly ``q_i`` (the share of the
point's variants the leak is consistent with), independently across points. The agreement
count is then Poisson-binomial with success probabilities ``q``; its upper tail is computed
exactly by dynamic programming, in log space, so tails far below ``1e-300`` stay ordered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from leaktrace.engine.watermark.detect import DEFAULT_BOUND, Attribution

__all__ = ["ExactNull", "attribute_agreements", "log_tail", "ranked_tails", "z_from_log_p"]


def log_tail(q) -> np.ndarray:
    """``log P(A >= a)`` for ``a = 0 .. n``, where ``A`` is a sum of Bernoulli(``q_i``).

    Parameters
    ----------
    q : sequence of float
        Success probabilities, each in ``(0, 1]``.

    Returns
    -------
    ndarray of shape (n + 1,)
        Natural logarithms of the upper tail; entry 0 is 0.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.size and (np.any(q <= 0) or np.any(q > 1)):
        raise ValueError("success probabilities must be in (0, 1]")
    log_pmf = np.full(q.size + 1, -np.inf)
    log_pmf[0] = 0.0
    with np.errstate(divide="ignore"):
        for count, p in enumerate(q, start=1):
            stay = log_pmf[: count + 1] + math.log1p(-p) if p < 1 else np.full(count + 1, -np.inf)
            move = np.concatenate(([-np.inf], log_pmf[:count])) + math.log(p)
            log_pmf[: count + 1] = np.logaddexp(stay, move)
    # Upper tail: sum from a to n, accumulated from the top.
    tail = np.logaddexp.accumulate(log_pmf[::-1])[::-1]
    tail[0] = 0.0
    return np.minimum(tail, 0.0)


def z_from_log_p(log_p: float) -> float:
    """The normal-equivalent score ``z = Φ⁻¹(1 − p)`` from ``log p`` (for display)."""
    if log_p >= 0:
        return -math.inf if log_p > 0 else -8.3
    if log_p > -700:
        p = math.exp(log_p)
        if p >= 1.0:
            return -8.3
        return -NormalDist().inv_cdf(p)
    # Far tail: log Φ(−z) ≈ −z²/2 − log z − log √(2π), solved by fixed-point iteration.
    z = math.sqrt(-2 * log_p)
    for _ in range(20):
        z = math.sqrt(max(1e-12, -2 * (log_p + math.log(z) + 0.5 * math.log(2 * math.pi))))
    return z


@dataclass(frozen=True)
class ExactNull:
    """The null of an agreement count: exact, so there is nothing to measure with decoys."""

    observed: int
    expected: float

    def to_dict(self) -> dict:
        return {
            "kind": "exact Poisson-binomial tail of agreements under keyed fair draws",
            "observed_points": self.observed,
            "expected_agreements_innocent": round(self.expected, 3),
        }


def ranked_tails(agreements, q, holders: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each holder's agreement count and exact log tail probability, best first.

    Returns ``(order, counts, log_p)``: ``order`` indexes the holders (fewest chance agreements
    first, ties by more agreements), ``counts`` and ``log_p`` are in that order. The log is kept
    because strong evidence underflows ``exp``.
    """
    agreements = np.asarray(agreements, dtype=bool).reshape(holders, -1)
    q = np.asarray(q, dtype=np.float64)
    if agreements.shape[1] != q.size:
        raise ValueError("agreements and q differ in length")
    counts = agreements.sum(axis=1)
    log_p = log_tail(q)[counts]
    order = np.lexsort((-counts, log_p))
    return order, counts[order], log_p[order]


def attribute_agreements(
    agreements: np.ndarray,
    q,
    recipient_ids: list[str],
    *,
    bound: float = DEFAULT_BOUND,
    family_size: int | None = None,
) -> tuple[Attribution, np.ndarray]:
    """Score holders from their agreements with what a leak shows.

    Parameters
    ----------
    agreements : (N, n) bool array
        Whether holder ``r``'s variant at observed point ``i`` agrees with the leak.
    q : (n,) array
        An innocent's chance of agreeing at point ``i``.
    recipient_ids : list of str
    bound : float
        Largest acceptable chance that an accusation is a coincidence.
    family_size : int, optional
        Hypotheses covered by the Bonferroni correction; defaults to ``N``.

    Returns
    -------
    attribution : Attribution
        Best first; ``z`` is the normal equivalent of the exact ``p_single`` (for display) and
        ``null`` an :class:`ExactNull`. No lower tail: disagreeing cannot prove a removal.
    counts : ndarray
        Each holder's agreements, in the attribution's order.
    """
    if not 0 < bound < 1:
        raise ValueError("bound must be between 0 and 1")
    order, counts, log_p = ranked_tails(agreements, q, len(recipient_ids))
    q = np.asarray(q, dtype=np.float64)
    ids = [recipient_ids[i] for i in order]
    family = max(1, len(ids), family_size or 0)
    log_family = np.minimum(0.0, log_p + math.log(family))
    significant = [ids[i] for i in np.flatnonzero(log_family <= math.log(bound))]
    z = np.array([z_from_log_p(v) for v in log_p])
    null = ExactNull(int(q.size), float(q.sum()))
    attribution = Attribution(
        ids, z, np.exp(log_p), np.exp(log_family), null, bound, significant, [], 1.0
    )
    return attribution, counts
