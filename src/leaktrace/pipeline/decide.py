"""The decision: blocks of evidence combined per registered work, every statistic corrected for
every hypothesis tested, and an accusation only below the bound.

Recipient *j*'s codes in different blocks (pages, layers, frames) are independent keyed signs,
so concatenating the blocks' projections, each scaled to unit length, gives one statistic
``sum_b z_bj / sqrt(B)`` (Stouffer's) whose innocent null is again exactly N(0, 1); decoy codes
are concatenated the same way. Nothing here knows which medium produced a block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leaktrace.engine.watermark.agreement import attribute_agreements
from leaktrace.engine.watermark.detect import Attribution, attribute
from leaktrace.errors import RegistryError
from leaktrace.pipeline.evidence import AgreementBlock, Block

__all__ = [
    "SMALLEST_REPORTED_P",
    "Decision",
    "by_key",
    "combine",
    "confirm_codes",
    "decide",
    "per_part",
]

# Stouffer sums over many pages reach z > 38, whose tail underflows a double.
SMALLEST_REPORTED_P = 1e-300


def combine(blocks: list[Block], decoys: int, bound: float, family: int) -> Attribution | None:
    """One attribution over blocks of one work (Stouffer's sum of their scores, or the exact
    agreement count of agreement blocks); None when no block carries any signal or no holder is
    common to them all."""
    if any(isinstance(block, AgreementBlock) for block in blocks):
        return _combine_agreements(blocks, bound, family)
    # Every recipient of a work receives all of it; one who lacks a block (a partial record)
    # cannot be scored on the same statistic and is left out rather than guessed.
    first = blocks[0].ids
    if all(block.ids == first for block in blocks):
        ids = list(first)
    else:
        ids = sorted(set.intersection(*(set(block.ids) for block in blocks)))
    usable = [
        (block, norm)
        for block in blocks
        if (norm := float(np.linalg.norm(block.y))) > 0.0 and np.isfinite(norm)
    ]
    if not usable or not ids:
        return None
    code_blocks = []
    for block, _ in usable:
        if block.ids == ids:
            code_blocks.append(block.codes)
        else:
            row = {rid: i for i, rid in enumerate(block.ids)}
            code_blocks.append(block.codes[[row[rid] for rid in ids]])
    decoy_blocks = [block.decoy_codes(decoys) for block, _ in usable]
    if len(usable) == 1:  # one block is its own statistic: scores are scale-free already
        y, codes, decoy_codes = usable[0][0].y, code_blocks[0], decoy_blocks[0]
    else:
        y = np.concatenate([block.y / norm for block, norm in usable])
        codes = np.concatenate(code_blocks, axis=1)
        decoy_codes = np.concatenate(decoy_blocks, axis=1)
    return attribute(y, codes, ids, decoy_codes, bound=bound, family_size=family)


def _combine_agreements(blocks, bound: float, family: int) -> Attribution | None:
    """Agreement blocks of one work: their observed points (independent keyed draws) pooled
    into one exact count per holder."""
    if not all(isinstance(block, AgreementBlock) for block in blocks):
        raise ValueError("a work's evidence mixes agreement blocks with projection blocks")
    ids = sorted(set.intersection(*(set(block.ids) for block in blocks)))
    usable = [block for block in blocks if block.q.size]
    if not usable or not ids:
        return None
    columns = []
    for block in usable:
        row = {rid: i for i, rid in enumerate(block.ids)}
        columns.append(block.agreements[[row[rid] for rid in ids]])
    q = np.concatenate([block.q for block in usable])
    scores, _ = attribute_agreements(
        np.concatenate(columns, axis=1), q, ids, bound=bound, family_size=family
    )
    return scores


def by_key(blocks: list[Block], current: int) -> dict[int, list[Block]]:
    """A work's blocks per registry key, the current key first.

    Copies made under different keys carry unrelated patterns: a leak's projection under one
    key says nothing about the codes of another, so each key's blocks are scored as their own
    statistic and every (recipient, key) pair counts in the correction.
    """
    found: dict[int, list[Block]] = {}
    for block in blocks:
        key_id = getattr(block, "key_id", None)
        found.setdefault(current if key_id is None else key_id, []).append(block)
    return dict(sorted(found.items(), key=lambda item: (item[0] != current, item[0])))


def holders(blocks: list[Block]) -> int:
    """How many recipients a work's blocks can be scored for (the hypotheses it adds)."""
    return len(set.intersection(*(set(block.ids) for block in blocks))) if blocks else 0


@dataclass
class Decision:
    """The decision on one work's evidence.

    Attributes
    ----------
    scores : Attribution
        The scores of the statistic that decided (smallest family-wise p-value).
    statistic : str
        "all layers", or the one layer that decided.
    tests : int
        Statistics computed, each corrected for all of them (``hypotheses = family * tests``).
    by_layer : list of dict
        Each statistic's best recipient, z and family-wise p-value.
    layers : list of str
        The layers found, in order of appearance.
    family : int
        Hypotheses each statistic was corrected for, before the factor ``tests``.
    """

    scores: Attribution
    statistic: str
    tests: int
    by_layer: list[dict]
    layers: list[str]
    family: int
    removal: Attribution | None = None  # the statistic with the strongest removal evidence

    @property
    def p_value(self) -> float:
        return float(self.scores.p_family[0])


def _by_layer(blocks: list[Block]) -> dict[str, list[Block]]:
    found: dict[str, list[Block]] = {}
    for block in blocks:
        found.setdefault(block.layer, []).append(block)
    return found


def decide(blocks: list[Block], decoys: int, bound: float, family: int) -> Decision | None:
    """The combined score of every layer, and each layer's own, the strongest deciding.

    Stouffer's sum weighs every block alike, so a layer a leaker removed (a PDF's page layer
    blanked, leaving its word shifts) would dilute the others. With more than one layer, each
    is therefore also scored alone, and all the statistics share one Bonferroni correction
    (family x tests), so taking the smallest p-value of them stays within the bound.
    """
    subsets = {"all layers": blocks}
    layers = _by_layer(blocks)
    if len(layers) > 1:
        subsets.update(layers)
    tests = len(subsets)
    results = {
        label: scores
        for label, chosen in subsets.items()
        if (scores := combine(chosen, decoys, bound, family * tests)) is not None
    }
    if not results:
        return None
    statistic = min(results, key=lambda label: results[label].p_family[0])
    by_layer = [
        {
            "layer": label,
            "blocks": len(subsets[label]),
            "best": scores.best,
            "z": round(float(scores.z[0]), 2),
            "p_family": max(float(scores.p_family[0]), SMALLEST_REPORTED_P),
            # the null spread this statistic's z was divided by (an evidence case of one layer
            # compares scores before that division)
            "std_used": round(float(getattr(scores.null, "std", 1.0)), 4),
        }
        for label, scores in results.items()
        if label != "all layers" or tests == 1
    ]
    removal = min(results.values(), key=lambda scores: scores.p_removal)
    return Decision(results[statistic], statistic, tests, by_layer, list(layers), family, removal)


def per_part(
    blocks: list[Block], decoys: int, bound: float, family: int, *, label: str = "part"
) -> list[dict]:
    """Each part of the leak's own best recipient (all its blocks together).

    Reported, never used to accuse on its own: it shows a file assembled from several copies,
    where the combined score points at whoever supplied most parts. Each part's p-value is
    corrected for the parts compared as well.
    """
    numbers = sorted({block.part for block in blocks if block.part >= 0})
    lines = []
    for number in numbers:
        scores = combine(
            [block for block in blocks if block.part == number],
            decoys,
            bound,
            family * len(numbers),
        )
        if scores is None:
            continue
        lines.append(
            {
                label: number + 1,
                "best": scores.best,
                "z": round(float(scores.z[0]), 2),
                "p_family": max(float(scores.p_family[0]), SMALLEST_REPORTED_P),
                "significant": scores.attributed,
            }
        )
    return lines


def confirm_codes(blocks: list[Block], accused: list[str]) -> None:
    """Refuse to accuse on a cached code that the key does not reproduce.

    Codes are cached in the registry for speed; anyone able to write to the database could copy
    the guilty recipient's code onto an innocent one. Re-deriving the few accused codes from the
    key costs microseconds and makes such an edit an error instead of an accusation.
    """
    for block in blocks:
        if block.keyed_code is None:
            continue
        if isinstance(block, AgreementBlock):
            _confirm_rows(block, accused)
            continue
        row = {rid: i for i, rid in enumerate(block.ids)}
        for rid in accused:
            if rid in row and block.codes[row[rid]].tobytes() != block.keyed_code(rid):
                raise RegistryError(
                    f"the registry's record of the code given to {rid} does not match the key: "
                    "the registry was altered, so no accusation is made; run leaktrace audit"
                )


def _confirm_rows(block: AgreementBlock, accused: list[str]) -> None:
    # Every copy of an accused holder (one per key that made one) must match its key.
    for i, rid in enumerate(block.ids):
        if rid in accused and block.codes[i] != block.keyed_code(i):
            raise RegistryError(
                f"the registry's record of the code given to {rid} does not match the key: "
                "the registry was altered, so no accusation is made; run leaktrace audit"
            )
