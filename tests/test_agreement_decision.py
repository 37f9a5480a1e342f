"""The pipeline's decision on agreement evidence (text choice points): the exact null, the
Bonferroni family, pooling blocks, and refusing a cached code the key does not reproduce."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaktrace.engine.watermark.agreement import attribute_agreements, log_tail
from leaktrace.errors import RegistryError
from leaktrace.pipeline.decide import confirm_codes, decide
from leaktrace.pipeline.evidence import AgreementBlock, Block
from leaktrace.registry.models import Asset

ASSET = Asset("a" * 16, "a" * 64, "sheet.md", "text", 0, 0, 0, 0, {})


def block(agreements, q, ids, codes=None, keyed=None) -> AgreementBlock:
    return AgreementBlock(
        ASSET,
        "text choices",
        -1,
        list(ids),
        np.asarray(agreements, bool),
        np.asarray(q),
        codes or [],
        keyed,
    )


def test_the_p_value_is_the_exact_tail_times_the_family():
    rng = np.random.default_rng(5)
    q = rng.choice([0.5, 1 / 3, 0.25], size=40)
    agreements = rng.random((6, 40)) < q
    agreements[2] = True  # the leaker agrees everywhere
    ids = [f"r{i}" for i in range(6)]
    decision = decide([block(agreements, q, ids)], decoys=0, bound=1e-9, family=600)
    assert decision.scores.best == "r2" and decision.scores.significant == ["r2"]
    expected = math.exp(log_tail(q)[40]) * 600
    assert decision.p_value == pytest.approx(expected, rel=1e-9)
    assert decision.scores.null.to_dict()["observed_points"] == 40


def test_blocks_pool_their_points_and_a_short_reading_is_not_enough():
    q = np.full(20, 0.5)
    ids = ["x", "y"]
    one = block(np.array([[True] * 20, [False] * 20]), q, ids)
    alone = decide([one], 0, 1e-9, 2)
    assert not alone.scores.attributed  # 2**-20 * 2 > 1e-9
    two = block(np.array([[True] * 20, [True] * 20]), q, list(reversed(ids)))
    pooled = decide([one, two], 0, 1e-9, 2)
    assert pooled.scores.best == "x" and pooled.scores.attributed
    assert pooled.p_value == pytest.approx(2 * 2.0**-40, rel=1e-9)


def test_innocents_stay_below_the_nominal_rate():
    rng = np.random.default_rng(11)
    q = rng.choice([0.5, 0.25], size=30)
    hits = 0
    for _ in range(200):
        agreements = rng.random((50, 30)) < q
        scores, _ = attribute_agreements(agreements, q, [str(i) for i in range(50)], bound=0.05)
        hits += scores.attributed
    assert hits <= 20  # nominal 5 % of 200 = 10, with room for chance


def test_mixing_agreement_and_projection_blocks_is_refused():
    agreement = block(np.ones((1, 3), bool), [0.5] * 3, ["x"])
    projection = Block(
        ASSET, "image", -1, np.ones(8), ["x"], np.zeros((1, 1), np.uint8), lambda n: np.ones((n, 8))
    )
    with pytest.raises(ValueError, match="mixes"):
        decide([agreement, projection], 16, 1e-9, 1)


def test_an_accused_code_that_the_key_does_not_give_is_refused():
    good = block(
        np.ones((2, 3), bool),
        [0.5] * 3,
        ["x", "y"],
        [b"cx", b"cy"],
        {0: b"cx", 1: b"cy"}.__getitem__,
    )
    confirm_codes([good], ["x", "y"])
    edited = block(
        np.ones((2, 3), bool),
        [0.5] * 3,
        ["x", "y"],
        [b"cy", b"cy"],
        {0: b"cx", 1: b"cy"}.__getitem__,
    )
    confirm_codes([edited], ["y"])  # y's record is intact
    with pytest.raises(RegistryError, match="does not match the key"):
        confirm_codes([edited], ["x"])
