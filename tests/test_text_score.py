"""Text canaries: the exact null of the agreement count."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from leaktrace.media.text import attribute_agreements, log_tail
from leaktrace.media.text.score import z_from_log_p


def _brute_force_tail(q):
    tail = [0.0] * (len(q) + 1)
    for outcome in itertools.product([0, 1], repeat=len(q)):
        probability = math.prod(p if x else 1 - p for p, x in zip(q, outcome, strict=True))
        for a in range(sum(outcome) + 1):
            tail[a] += probability
    return np.array(tail)


@pytest.mark.parametrize("seed", range(6))
def test_dynamic_programme_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    q = 1.0 / rng.integers(1, 8, size=n)  # 1/k, k = 1 .. 7 (k = 1: a point everyone agrees with)
    np.testing.assert_allclose(np.exp(log_tail(q)), _brute_force_tail(q), rtol=1e-12, atol=1e-15)


def test_far_tail_stays_finite_in_log_space():
    tail = log_tail(np.full(2000, 1 / 3))
    assert np.isfinite(tail).all() and tail[-1] == pytest.approx(2000 * math.log(1 / 3))
    assert z_from_log_p(tail[-1]) > 50
    assert z_from_log_p(math.log(1e-9)) == pytest.approx(5.998, abs=1e-3)


def test_empirical_innocents_follow_the_exact_tail():
    rng = np.random.default_rng(7)
    ks = rng.integers(2, 6, size=40)
    q = 1.0 / ks
    truth = np.array([rng.integers(k) for k in ks])
    trials = 40_000
    draws = np.stack([rng.integers(0, k, size=trials) for k in ks], axis=1)
    counts = (draws == truth).sum(axis=1)
    tail = np.exp(log_tail(q))
    for a in (10, 14, 18, 22):
        empirical = float((counts >= a).mean())
        sd = math.sqrt(tail[a] * (1 - tail[a]) / trials)
        assert abs(empirical - tail[a]) < 5 * sd + 1e-4, (a, empirical, tail[a])


def test_attribution_orders_corrects_and_decides():
    q = np.full(60, 0.5)
    rng = np.random.default_rng(3)
    agreements = rng.random((50, 60)) < 0.5
    agreements[17] = True  # the leaker agrees everywhere
    ids = [f"r{i}" for i in range(50)]
    result = attribute_agreements(agreements, q, ids, family_size=200)
    assert result.best == "r17" and result.significant == ["r17"]
    assert result.p_family[0] == pytest.approx(min(1.0, 200 * 0.5**60))
    assert result.p_family[1] > 1e-9 and np.all(np.diff(result.p_single) >= 0)
    nothing = attribute_agreements(np.zeros((3, 0), dtype=bool), [], ["a", "b", "c"])
    assert nothing.significant == [] and np.all(nothing.p_single == 1.0)
    with pytest.raises(ValueError):
        attribute_agreements(agreements, q[:-1], ids)
