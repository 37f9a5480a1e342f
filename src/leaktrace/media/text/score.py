"""Scoring recipients with an exact null.

For a recipient who did not leak, the variant at each observed choice point is a keyed fair
draw made independently of the leak, so it falls in the set ``S_i`` of variants the leak is
consistent with with probability exactly ``q_i = |S_i| / k_i``, independently across points.
The number of agreements is then Poisson-binomial with success probabilities ``q``; its upper
tail is computed exactly by dynamic programming over the points, in log space (tails far below
``1e-300`` stay finite). Bonferroni over every (document, recipient) pair scored bounds the
chance that any innocent is named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from leaktrace.engine.watermark.agreement import log_tail, ranked_tails, z_from_log_p

__all__ = ["DEFAULT_BOUND", "TextAttribution", "attribute_agreements", "log_tail", "z_from_log_p"]

DEFAULT_BOUND = 1e-9


@dataclass(frozen=True)
class TextAttribution:
    """Scores of every tested recipient of one document, best first.

    Shaped like :class:`leaktrace.engine.watermark.detect.Attribution`: ``z`` is the normal-equivalent
    of ``p_single`` (for display), ``p_family`` the Bonferroni-corrected p-value, ``significant``
    the recipients at or below ``bound``. ``agreements[i]`` is how many observed points
    recipient ``i`` agrees with, of ``observed``; ``expected`` is an innocent's mean.
    """

    recipient_ids: list[str]
    z: np.ndarray
    p_single: np.ndarray
    p_family: np.ndarray
    log10_p_single: np.ndarray
    agreements: np.ndarray
    observed: int
    expected: float
    bound: float
    family_size: int
    significant: list[str] = field(default_factory=list)

    @property
    def best(self) -> str | None:
        return self.recipient_ids[0] if self.recipient_ids else None

    @property
    def attributed(self) -> bool:
        return bool(self.significant)

    def to_dict(self, top: int = 10) -> dict:
        """A JSON-able summary (the ``top`` best recipients)."""
        rows = []
        for i in range(min(top, len(self.recipient_ids))):
            rows.append(
                {
                    "recipient": self.recipient_ids[i],
                    "agreements": int(self.agreements[i]),
                    "z": round(float(self.z[i]), 3),
                    "p_single": float(self.p_single[i]),
                    "log10_p_single": round(float(self.log10_p_single[i]), 3),
                    "p_family": float(self.p_family[i]),
                }
            )
        return {
            "observed_points": self.observed,
            "expected_agreements_innocent": round(self.expected, 3),
            "bound": self.bound,
            "family_size": self.family_size,
            "significant": list(self.significant),
            "recipients": rows,
            "null": "exact Poisson-binomial tail of agreements under keyed fair draws; Bonferroni",
        }


def attribute_agreements(
    agreements: np.ndarray,
    q,
    recipient_ids: list[str],
    *,
    bound: float = DEFAULT_BOUND,
    family_size: int | None = None,
) -> TextAttribution:
    """Score recipients from their agreements with what a leak shows.

    Parameters
    ----------
    agreements : (N, n) bool array
        Whether recipient ``r``'s variant at observed point ``i`` lies in the leak's set ``S_i``.
    q : (n,) array
        ``|S_i| / k_i``: an innocent's chance of agreeing at point ``i``.
    recipient_ids : list of str
    bound : float
        Largest acceptable chance that an accusation is a coincidence.
    family_size : int, optional
        Hypotheses covered by the correction (every (document, recipient) pair scored);
        defaults to ``N``.
    """
    if not 0 < bound < 1:
        raise ValueError("bound must be between 0 and 1")
    order, counts, log_p = ranked_tails(agreements, q, len(recipient_ids))
    q = np.asarray(q, dtype=np.float64)
    ids = [recipient_ids[i] for i in order]
    family = max(1, len(ids), family_size or 0)
    p_single = np.exp(log_p)
    log_family = np.minimum(0.0, log_p + math.log(family))
    p_family = np.exp(log_family)
    significant = [ids[i] for i in np.flatnonzero(log_family <= math.log(bound))]
    z = np.array([z_from_log_p(v) for v in log_p])
    return TextAttribution(
        ids,
        z,
        p_single,
        p_family,
        log_p / math.log(10),
        counts,
        int(q.size),
        float(q.sum()),
        bound,
        family,
        significant,
    )
