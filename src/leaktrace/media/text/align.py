"""Finding a leak's source documents and reading the variants it shows.

1. **Which documents.** Every registered document's original wording is folded
   (:func:`leaktrace.media.text.normalize.fold`) and indexed by its character 5-grams. Each
   sentence of the leak votes for (document, diagonal) pairs; a sentence belongs to the
   documents where a band of diagonals collects enough votes. Sentences are placed one by one,
   so dropped, reordered or duplicated sentences cost nothing.
2. **Where exactly.** Each placed sentence is aligned to its window of the document by a
   longest-common-subsequence alignment (RapidFuzz ``Indel.opcodes``); matched characters map
   document positions to leak positions.
3. **What it shows.** Choice-point locations closer than three characters form a cluster read
   together. A cluster is read only when three matched characters on each side anchor it; the
   leak's text between the anchors is compared with every combination of the cluster's
   alternatives, first folded (so retyping and script changes do not matter), then, among the
   folded matches, in a light form where quotation marks, dashes, widths and spaces count.
   A combination within one edit of a longer reading is accepted when it is the only one.
   The variants of all matching combinations form the observed set ``S`` of each location.

Everything read here depends on the leak and the public plan only, never on a recipient's
choices: that is what keeps the null of :mod:`.score` exact.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from .normalize import Folded, fold, light
from .plan import Flat, TextPlan, flatten

__all__ = ["DocumentReading", "Observation", "ReferenceIndex", "RegisteredText", "read_leak"]

GRAM = 5
_MAX_POSTINGS = 40
_ANCHOR = 3
_MAX_COMBINATIONS = 512
_SLACK = 24
_SENTENCE = re.compile(r"[^\n.!?。！？；;]+(?:[.!?。！？；;]+|\n|$)")
_OCR_CJK_SPACING = re.compile(r"[\u3400-\u9fff] [\u3400-\u9fff] [\u3400-\u9fff]")


@dataclass(frozen=True)
class RegisteredText:
    """A registered document: its id and its plan."""

    document_id: str
    plan: TextPlan


@dataclass
class _Reference:
    document: RegisteredText
    flat: Flat
    folded: Folded
    clusters: list = field(default_factory=list)
    entries: list = field(default_factory=list)


@dataclass(frozen=True)
class Observation:
    """What the leak shows at one choice point.

    ``seen`` is the set of variant indices consistent with the leak (``None`` for an order
    point, whose ``order`` lists the observed items in the leak's order); ``q`` is an innocent's
    chance of agreeing; ``shown`` is the leak's text there, for the report.
    """

    point: int
    q: float
    seen: frozenset[int] | None = None
    order: tuple[int, ...] = ()
    shown: str = ""

    def agrees(self, choice: int, n_items: int = 0) -> bool:
        """Whether a copy with variant ``choice`` at this point agrees with the leak."""
        if self.seen is not None:
            return choice in self.seen
        from .choices import permutation_of

        permutation = permutation_of(choice, n_items)
        position = {item: p for p, item in enumerate(permutation)}
        return sorted(self.order, key=position.__getitem__) == list(self.order)


@dataclass(frozen=True)
class DocumentReading:
    """How a leak lines up with one document, and what it shows at its choice points."""

    document: RegisteredText
    sentences: int
    matched_chars: int
    coverage: float
    observations: tuple[Observation, ...]
    unread: int


def _cluster_locations(flat: Flat, folded: Folded, plan: TextPlan):
    """Locations grouped into clusters: lists of (point, location, folded start, folded end)."""
    origin = folded.origin[:-1]
    entries = []
    for p in range(len(plan.points)):
        for j, (a, b) in enumerate(flat.spans[p]):
            fa = bisect.bisect_left(origin, a)
            fb = bisect.bisect_left(origin, b)
            entries.append((fa, fb, p, j, a, b))
    entries.sort()
    clusters, current, end = [], [], -10
    for entry in entries:
        if current and entry[0] - end < _ANCHOR:
            current.append(entry)
            end = max(end, entry[1])
        else:
            if current:
                clusters.append(current)
            current, end = [entry], entry[1]
    if current:
        clusters.append(current)
    return clusters


class ReferenceIndex:
    """The n-gram index of every registered document's original wording.

    Parameters
    ----------
    documents : sequence of RegisteredText
    """

    def __init__(self, documents) -> None:
        self.references: list[_Reference] = []
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for number, document in enumerate(documents):
            flat = flatten(document.plan)
            folded = fold(flat.text)
            reference = _Reference(document, flat, folded)
            reference.clusters = _cluster_locations(flat, folded, document.plan)
            reference.entries = [entry for cluster in reference.clusters for entry in cluster]
            self.references.append(reference)
            text = folded.text
            for position in range(len(text) - GRAM + 1):
                postings[text[position : position + GRAM]].append((number, position))
        # Boilerplate grams (in many places) carry no information about where a sentence is.
        self.postings = {g: v for g, v in postings.items() if len(v) <= _MAX_POSTINGS}


def _sentences(leak: str, folded: Folded) -> list[tuple[int, int]]:
    """Folded spans of the leak's sentences (short pieces merged into the next one)."""
    origin = folded.origin[:-1]
    spans, pending = [], None
    for m in _SENTENCE.finditer(leak):
        a = bisect.bisect_left(origin, m.start())
        b = bisect.bisect_left(origin, m.end())
        if pending is not None:
            a = pending
        if b - a < 12:
            pending = a
            continue
        pending = None
        spans.append((a, b))
    if pending is not None and len(folded.text) - pending > 0:
        if spans and len(folded.text) - pending < 12:
            spans[-1] = (spans[-1][0], len(folded.text))
        else:
            spans.append((pending, len(folded.text)))
    return spans


def _place(index: ReferenceIndex, sentence: str) -> dict[int, int]:
    """Document number -> best diagonal (document position of the sentence's start)."""
    votes: dict[int, Counter] = defaultdict(Counter)
    grams = len(sentence) - GRAM + 1
    for j in range(max(0, grams)):
        for number, position in index.postings.get(sentence[j : j + GRAM], ()):
            votes[number][position - j] += 1
    placed = {}
    need = max(3, int(0.15 * grams))
    for number, diagonals in votes.items():
        keys = sorted(diagonals)
        best, best_key, low, total = 0, None, 0, 0
        for key in keys:
            total += diagonals[key]
            while keys[low] < key - 24:
                total -= diagonals[keys[low]]
                low += 1
            if total > best:
                best, best_key = total, key
        if best >= need and best_key is not None:
            placed[number] = best_key
    return placed


def _align(sentence: str, start: int, reference: str, offset: int, ref2leak: np.ndarray) -> int:
    from rapidfuzz.distance import Indel  # noqa: PLC0415

    lo = max(0, offset - 24)
    hi = min(len(reference), offset + len(sentence) + 24)
    matched = 0
    for tag, a0, a1, b0, _b1 in Indel.opcodes(sentence, reference[lo:hi]):
        if tag != "equal":
            continue
        for k in range(a1 - a0):
            if ref2leak[lo + b0 + k] < 0:
                ref2leak[lo + b0 + k] = start + a0 + k
                matched += 1
    return matched


def _good_runs(ref2leak: np.ndarray) -> np.ndarray:
    """``good[i]``: reference characters ``i .. i + _ANCHOR - 1`` map to consecutive leak characters."""
    good = np.zeros(len(ref2leak) + 1, dtype=bool)
    if len(ref2leak) >= _ANCHOR:
        a, b, c = ref2leak[:-2], ref2leak[1:-1], ref2leak[2:]
        good[: len(a)] = (a >= 0) & (b == a + 1) & (c == b + 1)
    return good


def _anchored(ref2leak: np.ndarray, good: np.ndarray, fa: int, fb: int) -> tuple[int, int] | None:
    """The nearest anchors around ``[fa, fb)``: reference positions ``(e, s)`` with ``e <= fa``
    ending a run of matched characters and ``s >= fb`` starting one (within ``_SLACK``)."""
    lo = max(0, fa - _SLACK - _ANCHOR)
    left_window = np.flatnonzero(good[lo : max(lo, fa - _ANCHOR + 1)])
    right_window = np.flatnonzero(good[fb : fb + _SLACK + 1])
    if left_window.size == 0 or right_window.size == 0:
        return None
    left = lo + int(left_window[-1]) + _ANCHOR
    right = fb + int(right_window[0])
    if right + _ANCHOR > len(ref2leak) or ref2leak[right] <= ref2leak[left - 1]:
        return None
    return left, right


def _read_cluster(reference: _Reference, cluster, ref2leak, good, leak: str, leak_folded: Folded):
    """``{(point, location): set of variants}`` for one cluster, or ``None`` if unread."""
    plan = reference.document.plan
    fa = min(e[0] for e in cluster)
    fb = max(e[1] for e in cluster)
    anchors = _anchored(ref2leak, good, fa, fb)
    if anchors is None:
        return None, ""
    e, s = anchors
    # Every location inside the widened window is read with this cluster; one that straddles
    # its edge would make the comparison meaningless.
    window = []
    for entry in reference.entries:
        if entry[0] == entry[1]:
            # A location of no folded width (a space) lies between the anchors when it touches them.
            if e <= entry[0] <= s:
                window.append(entry)
            continue
        if entry[1] <= e or entry[0] >= s:
            continue
        if entry[0] < e or entry[1] > s:
            return None, ""
        window.append(entry)
    cluster = window
    fa, fb = e, s
    l1, l2 = int(ref2leak[e - 1]), int(ref2leak[s])
    leak_raw = leak[leak_folded.origin[l1] + 1 : leak_folded.origin[l2]]
    ref_origin = reference.folded.origin
    raw_start, raw_end = ref_origin[fa - 1] + 1, ref_origin[fb]
    flat = reference.flat.text
    entries = sorted(cluster, key=lambda e: e[4])
    options = [plan.points[e[2]].locations[e[3]].texts for e in entries]
    if np.prod([len(o) for o in options]) > _MAX_COMBINATIONS:
        return None, leak_raw
    folded_leak = fold(leak_raw).text
    light_leak = light(leak_raw)
    combos, folded_texts, light_texts = [], [], []
    for combo in itertools.product(*[range(len(o)) for o in options]):
        pieces, cursor = [], raw_start
        for entry, choice, texts in zip(entries, combo, options, strict=True):
            pieces.append(flat[cursor : entry[4]])
            pieces.append(texts[choice])
            cursor = entry[5]
        pieces.append(flat[cursor:raw_end])
        candidate = "".join(pieces)
        combos.append(combo)
        folded_texts.append(fold(candidate).text)
        light_texts.append(light(candidate))
    matches = [i for i, t in enumerate(folded_texts) if t == folded_leak]
    if not matches and len(folded_leak) >= 4:
        from rapidfuzz.distance import Levenshtein  # noqa: PLC0415

        distances = [Levenshtein.distance(t, folded_leak) for t in folded_texts]
        best = min(distances)
        if best <= 1 and distances.count(best) == 1 and len(set(folded_texts)) == len(folded_texts):
            matches = [distances.index(best)]
    if not matches:
        return None, leak_raw
    exact = [i for i in matches if light_texts[i] == light_leak]
    chosen = exact or matches
    seen: dict[tuple[int, int], set[int]] = {}
    for i in chosen:
        for entry, choice in zip(entries, combos[i], strict=True):
            seen.setdefault((entry[2], entry[3]), set()).add(choice)
    return seen, leak_raw


def _order_observation(p, point, reference, leak_folded: Folded) -> Observation | None:
    import math

    from rapidfuzz import fuzz  # noqa: PLC0415

    positions = []
    for item, (a, b) in enumerate(reference.flat.items[p]):
        needle = fold(reference.flat.text[a:b]).text
        if len(needle) < 4:
            continue
        found = fuzz.partial_ratio_alignment(needle, leak_folded.text, score_cutoff=80)
        if found is not None:
            positions.append((found.dest_start, item))
    if len(positions) < 2 or len({pos for pos, _ in positions}) < len(positions):
        return None
    order = tuple(item for _, item in sorted(positions))
    return Observation(
        p, 1.0 / math.factorial(len(order)), None, order, "order " + ",".join(map(str, order))
    )


def read_leak(index: ReferenceIndex, leak: str) -> list[DocumentReading]:
    """Every registered document the leak comes from, with what it shows at its choice points.

    Parameters
    ----------
    index : ReferenceIndex
    leak : str
        The leaked text (already extracted from HTML or recognised by OCR).
    """
    leak_folded = fold(leak)
    spans = _sentences(leak, leak_folded)
    maps: dict[int, np.ndarray] = {}
    counts: Counter = Counter()
    matched: Counter = Counter()
    last_end: dict[int, int] = {}
    for a, b in spans:
        sentence = leak_folded.text[a:b]
        placed = _place(index, sentence)
        # A short sentence whose words all vary (dense Chinese variants) shares few grams with
        # the original; try it where the previous sentence of the leak ended.
        for number, end in last_end.items():
            if number not in placed:
                placed[number] = -end - 1
        for number, diagonal in placed.items():
            reference = index.references[number].folded.text
            ref2leak = maps.setdefault(number, np.full(len(reference), -1, dtype=np.int64))
            if diagonal < 0:
                trial = ref2leak.copy()
                gained = _align(sentence, a, reference, -diagonal - 1, trial)
                if gained < 0.6 * len(sentence):
                    continue
                ref2leak[:] = trial
                matched[number] += gained
                diagonal = -diagonal - 1
            else:
                matched[number] += _align(sentence, a, reference, diagonal, ref2leak)
            counts[number] += 1
            last_end[number] = diagonal + len(sentence)
    ocr_spacing = _OCR_CJK_SPACING.search(leak) is not None
    readings = []
    for number, ref2leak in maps.items():
        reference = index.references[number]
        plan = reference.document.plan
        seen: dict[int, set[int]] = defaultdict(set)
        shown: dict[int, list[str]] = defaultdict(list)
        unread = 0
        good = _good_runs(ref2leak)
        for cluster in reference.clusters:
            if not good[max(0, cluster[0][0] - _SLACK) : cluster[-1][1] + _SLACK].any():
                unread += 1
                continue
            result, raw = _read_cluster(reference, cluster, ref2leak, good, leak, leak_folded)
            if result is None:
                unread += 1
                continue
            for (p, _j), variants in result.items():
                seen[p].update(variants)
                shown[p].append(raw)
        observations = []
        for p, point in enumerate(plan.points):
            if point.items:
                observation = _order_observation(p, point, reference, leak_folded)
                if observation is not None:
                    observations.append(observation)
                continue
            variants = frozenset(seen.get(p, ()))
            if not variants or len(variants) >= point.k:
                continue
            if point.natural is not None and variants == {point.natural}:
                continue  # what retyping or OCR would produce anyway: proves nothing
            if point.rule == "zh.cjk-space" and ocr_spacing:
                continue  # OCR spaced out the Chinese: spaces prove nothing
            shown_text = " | ".join(dict.fromkeys(shown[p]))[:80]
            observations.append(Observation(p, len(variants) / point.k, variants, (), shown_text))
        total = max(1, len(leak_folded.text))
        readings.append(
            DocumentReading(
                reference.document,
                counts[number],
                int(matched[number]),
                matched[number] / total,
                tuple(observations),
                unread,
            )
        )
    readings.sort(key=lambda r: -r.matched_chars)
    return readings
