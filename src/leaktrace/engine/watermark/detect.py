"""The detection statistic and the decision.

Every recipient's score is ``z = code . y / |y|`` where ``y`` is the residual projected onto the
code's groups (:func:`leaktrace.engine.watermark.pattern.project`). For a recipient whose code is
independent of the leak (an innocent), the code's signs are independent fair coins, so given
``y`` the score has mean 0 and variance exactly 1, however coloured, blocky or textured the
residual is. Decoy codes (recipients that do not exist) measure the same null empirically; the
larger of the two spreads is used, so a misbehaving residual can only make the test stricter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DEFAULT_BOUND = 1e-9
DEFAULT_DECOYS = 2048


# Recipients scored per block: the block's temporaries stay in the CPU cache and a 10^5 x 1024
# code matrix is never expanded to floats at once.
SCORE_BLOCK = 16384
# _BYTE_SIGNS[v, k] is the sign (+1 for a set bit) of bit k, most significant first, of byte v.
_BYTE_SIGNS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float64)
_BYTE_SIGNS = 2.0 * _BYTE_SIGNS - 1.0


def normal_sf(z: np.ndarray) -> np.ndarray:
    """Upper tail of the standard normal, accurate far into the tail."""
    z = np.asarray(z, dtype=np.float64)
    scaled = (z.ravel() / math.sqrt(2.0)).tolist()
    tail = np.fromiter(map(math.erfc, scaled), dtype=np.float64, count=len(scaled))
    return (0.5 * tail).reshape(z.shape)


@dataclass(frozen=True)
class NullModel:
    """How innocent scores are distributed for this query."""

    decoys: int
    decoy_mean: float
    decoy_std: float
    std: float  # the spread used: max(1, decoy_std)

    def to_dict(self) -> dict:
        return {
            "decoys": self.decoys,
            "decoy_mean": round(self.decoy_mean, 4),
            "decoy_std": round(self.decoy_std, 4),
            "std_used": round(self.std, 4),
            "exact_conditional_std": 1.0,
        }


@dataclass(frozen=True)
class Attribution:
    """Scores of every tested recipient, best first."""

    recipient_ids: list[str]
    z: np.ndarray
    p_single: np.ndarray
    p_family: np.ndarray
    null: NullModel
    bound: float
    significant: list[str] = field(default_factory=list)
    # The other tail: recipients whose score is so far *below* zero that the leak must have had
    # their copy's mark subtracted (overshooting), lowest first, with the family-wise p-value of
    # the lowest, corrected for both tails (2 x the hypotheses).
    removed: list[str] = field(default_factory=list)
    p_removal: float = 1.0

    @property
    def best(self) -> str | None:
        return self.recipient_ids[0] if self.recipient_ids else None

    @property
    def attributed(self) -> bool:
        return bool(self.significant)


def standardized_scores(y: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``codes @ y / |y|``: unit-variance scores under the null (zeros when ``y`` is zero).

    ``codes`` is either ``(N, K)`` int8 of +-1, or ``(N, K / 8)`` uint8: the same signs packed
    most significant bit first, a set bit meaning +1 (the form the registry caches). Packed codes
    are scored through a table of every byte's partial sum, 8 code bits per lookup, so 10^5
    recipients take tens of milliseconds and the codes are never unpacked.
    """
    codes = np.asarray(codes)
    n = codes.shape[0]
    norm = float(np.linalg.norm(y))
    if norm == 0.0 or not np.isfinite(norm):
        return np.zeros(n)
    unit = np.asarray(y, dtype=np.float64) / norm
    scores = np.empty(n, dtype=np.float64)
    if codes.dtype == np.uint8:
        if codes.ndim != 2 or codes.shape[1] * 8 != unit.size:
            raise ValueError(f"packed codes must be (N, {unit.size // 8}) uint8")
        table = unit.reshape(-1, 8) @ _BYTE_SIGNS.T  # (K / 8, 256)
        for start in range(0, n, SCORE_BLOCK):
            block = np.ascontiguousarray(codes[start : start + SCORE_BLOCK].T)
            acc = np.zeros(block.shape[1])
            for position, column in enumerate(block):
                acc += table[position].take(column)
            scores[start : start + SCORE_BLOCK] = acc
        return scores
    if codes.ndim != 2 or codes.shape[1] != unit.size:
        raise ValueError(f"codes must be (N, {unit.size}) +-1 values")
    unit32 = unit.astype(np.float32)
    for start in range(0, n, SCORE_BLOCK):
        scores[start : start + SCORE_BLOCK] = (
            codes[start : start + SCORE_BLOCK].astype(np.float32) @ unit32
        )
    return scores


def null_model(y: np.ndarray, decoy_codes: np.ndarray) -> NullModel:
    scores = standardized_scores(y, decoy_codes)
    mean = float(scores.mean()) if scores.size else 0.0
    std = float(scores.std(ddof=1)) if scores.size > 1 else 1.0
    return NullModel(len(scores), mean, std, max(1.0, std))


def attribute(
    y: np.ndarray,
    codes: np.ndarray,
    recipient_ids: list[str],
    decoy_codes: np.ndarray,
    *,
    bound: float = DEFAULT_BOUND,
    family_size: int | None = None,
) -> Attribution:
    """Score every recipient and decide which ones the evidence proves.

    Parameters
    ----------
    y : (K,) array
        The residual projected onto the code groups.
    codes : (N, K) int8 array of +-1, or (N, K / 8) uint8 array of packed codes
        Codes of the recipients who received this asset (see :func:`standardized_scores`).
    recipient_ids : list of str
        Their ids, in the order of ``codes``.
    decoy_codes : (D, K) int8 array
        Codes of recipients that do not exist.
    bound : float
        Largest acceptable probability that an accusation is a coincidence. The p-value of a
        recipient is corrected for the ``N`` recipients tested (Bonferroni), so it bounds the
        chance that *any* innocent among them scores as high by chance.
    family_size : int, optional
        Number of hypotheses the correction covers when more are tested than ``codes`` holds
        (recipients of several candidate assets); defaults to ``N``.
    """
    if not 0 < bound < 1:
        raise ValueError("bound must be between 0 and 1")
    if len(recipient_ids) != codes.shape[0]:
        raise ValueError("recipient_ids and codes differ in length")
    null = null_model(y, decoy_codes)
    z = standardized_scores(y, codes) / null.std
    order = np.argsort(-z, kind="stable")
    z = z[order]
    ids = np.array(recipient_ids, dtype=object)[order].tolist()
    p_single = normal_sf(z)
    family = max(1, len(ids), family_size or 0)
    p_family = np.minimum(1.0, p_single * family)
    significant = [ids[i] for i in np.flatnonzero(p_family <= bound)]
    # An innocent's score is the same exact N(0, 1) in both tails. A leak anti-correlated with
    # one copy beyond chance is that copy with its mark removed by someone holding the
    # original; testing both tails doubles the hypotheses.
    p_low = np.minimum(1.0, 2.0 * family * normal_sf(-z[::-1]))
    removed = [ids[len(ids) - 1 - i] for i in np.flatnonzero(p_low <= bound)]
    p_removal = float(p_low[0]) if len(p_low) else 1.0
    return Attribution(ids, z, p_single, p_family, null, bound, significant, removed, p_removal)
