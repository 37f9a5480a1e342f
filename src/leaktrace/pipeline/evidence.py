"""The evidence a medium hands to the decision: blocks of scores' raw material, grouped by the
registered work they speak about, and exact keyed tokens.

A medium (image, PDF, video, text) reads a leak and produces :class:`Findings`. The decision
(:mod:`leaktrace.pipeline.decide`) and the report never look behind these types, so they never
know which medium produced the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leaktrace.registry.models import Asset

__all__ = [
    "AgreementBlock",
    "Block",
    "Findings",
    "Group",
    "Outcome",
    "TokenMatch",
    "packed_codes",
]


@dataclass
class Block:
    """One reading of a leak against the codes of one registered asset's holders.

    For an innocent holder, whose code is independent fair keyed signs, ``code . y / |y|`` is
    exactly N(0, 1) given ``y``: that is all the decision assumes of a block.

    Attributes
    ----------
    asset : Asset
        Whose codes are scored: an image, a PDF page or embedded image, a video.
    layer : str
        Which kind of mark was read ("image", "page layer", "word shifts", "embedded images",
        ...). Layers of one group are also decided alone (see :func:`~.decide.decide`).
    part : int
        Which piece of the leak was read (a leaked page, a frame), -1 for none; blocks of one
        part are also scored together for reporting (:func:`~.decide.per_part`).
    y : numpy.ndarray
        The leak projected onto the code's groups (K values).
    ids : list of str
        The holders, in the order of ``codes``.
    codes : numpy.ndarray
        ``(N, K / 8)`` uint8: the holders' codes packed most significant bit first.
    decoys : callable
        ``count -> (count, K)`` +-1 decoy codes for this block.
    keyed_code : callable, optional
        ``recipient id -> packed code`` derived from the key; when given, an accused holder's
        cached code must equal it (an edited registry must not frame anyone). None when
        ``codes`` were derived from the key in the first place.
    origin : object, optional
        The medium's own record of where the block came from (never read by the decision).
    key_id : int, optional
        The registry key whose pattern ``y`` was projected onto and whose copies ``ids`` hold;
        None for the current key. A work's blocks under different keys are decided as separate
        families of hypotheses (see :func:`~.decide.by_key`).
    """

    asset: Asset
    layer: str
    part: int
    y: np.ndarray
    ids: list[str]
    codes: np.ndarray
    decoys: Callable[[int], np.ndarray]
    keyed_code: Callable[[str], bytes] | None = None
    origin: Any = None
    key_id: int | None = None
    # Decoys drawn once per block: the combined score and each layer's own score reuse them.
    _decoy_cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def decoy_codes(self, count: int) -> np.ndarray:
        if count not in self._decoy_cache:
            self._decoy_cache[count] = self.decoys(count)
        return self._decoy_cache[count]


@dataclass
class AgreementBlock:
    """One reading of a leak as agreements: at each observed point, whether each holder's
    keyed variant agrees with what the leak shows (text canaries' choice points).

    For an innocent holder, whose variants are keyed fair draws independent of the leak, the
    agreement at point ``i`` is Bernoulli(``q[i]``), independently across points: the decision
    scores the count with that exact null. Blocks of one work concatenate their points.

    Attributes
    ----------
    asset : Asset
        Whose holders are scored.
    layer : str
        Which kind of mark was read (e.g. "text choices").
    part : int
        Which piece of the leak was read, -1 for none.
    ids : list of str
        The holders, in the order of ``agreements`` (one entry per copy's key).
    agreements : numpy.ndarray
        ``(N, n)`` bool.
    q : numpy.ndarray
        ``(n,)`` an innocent's chance of agreeing at each observed point.
    codes : list of bytes
        The holders' codes as cached in the registry (what ``agreements`` was computed from).
    keyed_code : callable, optional
        ``row -> code`` derived from the key; an accused holder's cached code must equal it.
    origin : object, optional
        The medium's own record of the reading (never read by the decision).
    """

    asset: Asset
    layer: str
    part: int
    ids: list[str]
    agreements: np.ndarray
    q: np.ndarray
    codes: list[bytes] = field(default_factory=list, repr=False)
    keyed_code: Callable[[int], bytes] | None = None
    origin: Any = None


@dataclass
class Group:
    """The evidence about one registered work, scored as one family of hypotheses.

    Attributes
    ----------
    asset : Asset
        The work reported when this group decides (an image, a PDF document, a video).
    blocks : list of Block
        Every reading of the leak against its holders' codes.
    describe : callable, optional
        ``decision -> dict``: the medium's evidence lines to report when this group decides
        (how the asset was found, the registration, which pages...).
    """

    asset: Asset
    blocks: list[Block | AgreementBlock]
    describe: Callable[[Any], dict] | None = None


@dataclass(frozen=True)
class TokenMatch:
    """A keyed token found in the leak (a PDF's document /ID): exact, not statistical.

    ``recipient`` is the holder whose keyed token it is, or None when it matches nobody who
    received ``asset_id``; ``p_value`` is the chance that an innocent holder's token matches
    by coincidence, corrected for the holders compared.
    """

    where: str
    asset_id: str
    recipient: str | None
    p_value: float | None
    layer: str = "file-level"

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "where": self.where,
            "asset": self.asset_id,
            "recipient": self.recipient,
            "p_value": self.p_value,
        }


@dataclass(frozen=True)
class Outcome:
    """A verdict reached before anything could be scored: ``unknown`` (nothing matches) or
    ``inconclusive`` (a candidate whose alignment is unverified, or that nobody received)."""

    verdict: str
    reason: str
    asset: Asset | None = None
    evidence: dict = field(default_factory=dict)


@dataclass
class Findings:
    """What a medium read from a leak.

    Attributes
    ----------
    evidence : dict
        Evidence lines reported whatever decides (the leak's size, hash matches, pages found).
    groups : list of Group
        The registered works whose holders can be scored.
    tokens : list of TokenMatch
        Exact keyed tokens found.
    outcome : Outcome, optional
        The verdict when there is nothing to score (no groups and no token proves anyone).
    asset : Asset, optional
        The work reported when only tokens were found.
    """

    evidence: dict = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    tokens: list[TokenMatch] = field(default_factory=list)
    outcome: Outcome | None = None
    asset: Asset | None = None


def packed_codes(keying, ids: list[str], cached: list[bytes | None]) -> np.ndarray:
    """The holders' codes packed 8 per byte: cached at mark time, derived from the key where
    missing (copies recorded before the registry cached codes)."""
    n_bytes = keying.layout.code_bits // 8
    if None not in cached:  # the usual case: every code was cached at mark time
        blob = b"".join(cached)
        if len(blob) == n_bytes * len(ids):
            return np.frombuffer(blob, dtype=np.uint8).reshape(len(ids), n_bytes)
    rows = [
        code
        if code is not None and len(code) == n_bytes
        else np.packbits(keying.recipient_code(rid) > 0).tobytes()
        for rid, code in zip(ids, cached, strict=True)
    ]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(ids), n_bytes)
