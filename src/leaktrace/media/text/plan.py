"""A document's plan: its choice points, the copies they make, and the records kept of them.

:func:`make_plan` finds every choice point of a parsed document: the author's alternatives
(:mod:`.alternatives`), unordered lists, and the automatic rules (:mod:`.rules`,
:mod:`.formatting`), outside protected spans and without overlapping one another (authored
first, then the phrase table, then the format rules). A plan is recorded as a canonical JSON
manifest (``leaktrace-text-plan/1``); its SHA-256 names it, and identification reads choice
points from the manifest, so a later phrase table never changes what an old copy means.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace

from .alternatives import parse_blocks
from .document import Edits, TextDocument
from .errors import AlternativeSyntaxError, NoChoicePointsError
from .formatting import format_candidates
from .protect import digit_spans, find_protected, merge_spans
from .rules import lexical_candidates, phrase_table

__all__ = [
    "MANIFEST_VERSION",
    "MAX_UNORDERED_ITEMS",
    "PARAMS_VERSION",
    "ChoicePoint",
    "Flat",
    "Location",
    "TextPlan",
    "bits_needed",
    "flatten",
    "load_plan",
    "make_plan",
    "plan_edits",
    "plan_manifest",
    "plan_params",
    "require_choice_points",
]

MANIFEST_VERSION = "leaktrace-text-plan/1"
PARAMS_VERSION = "leaktrace-text/1"
MAX_UNORDERED_ITEMS = 9


@dataclass(frozen=True)
class Location:
    """One place of a choice point: ``segment``'s text ``[start, end)`` shows ``texts[c]``."""

    segment: int
    start: int
    end: int
    texts: tuple[str, ...]
    original: int


@dataclass(frozen=True)
class ChoicePoint:
    """A choice point: ``k`` variants, one keyed draw per recipient.

    ``family`` is ``"authored"``, ``"lexical"``, ``"format"``, ``"typographic"`` or ``"order"``
    (an unordered list: ``k = n!`` orders of the segments ``items``). A linked rule's point has
    one location per place; others have one. ``natural`` marks the typographic variant that
    retyping produces by itself.
    """

    id: str
    rule: str
    family: str
    k: int
    locations: tuple[Location, ...] = ()
    natural: int | None = None
    items: tuple[int, ...] = ()

    @property
    def bits(self) -> float:
        return math.log2(self.k)


@dataclass(frozen=True)
class TextPlan:
    """A document and its choice points (see :func:`make_plan`)."""

    document: TextDocument
    points: tuple[ChoicePoint, ...]
    fixed: tuple[Location, ...]
    rules_version: str
    digest: str = field(default="")

    @property
    def bits(self) -> float:
        return sum(p.bits for p in self.points)

    @property
    def ks(self) -> tuple[int, ...]:
        return tuple(p.k for p in self.points)

    def base_choices(self) -> tuple[int, ...]:
        """The choices that reproduce the original wording (authored points: the first)."""
        return tuple(p.locations[0].original if p.locations else 0 for p in self.points)


def _accept(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    for a, b in spans:
        if start < b and a < end:
            return False
        if start == end and a < start < b:
            return False
        if a == b and start < a < end:
            return False
        if start == end == a == b:
            return False
    return True


def make_plan(document: TextDocument, *, automatic: bool = True) -> TextPlan:
    """Find the choice points of ``document``.

    Parameters
    ----------
    document : TextDocument
    automatic : bool
        Include the automatic rules (phrase table and formats); ``False`` keeps only the
        author's alternatives and unordered lists.

    Raises
    ------
    AlternativeSyntaxError
        A malformed alternative block, or a marked list that cannot be shuffled.
    """
    version, _ = phrase_table()
    points: list[ChoicePoint] = []
    fixed: list[Location] = []
    linked: dict[str, list] = {}
    segments = document.segments
    for index, segment in enumerate(segments):
        if segment.kind == "marker":
            continue
        where = f"{document.name or 'document'}: segment {index + 1} ({segment.text[:30]!r})"
        blocks = parse_blocks(segment.text, segment.protected, where=where)
        taken: list[tuple[int, int]] = []
        for block in blocks:
            taken.append((block.start, block.end))
            if block.literal:
                fixed.append(Location(index, block.start, block.end, block.alternatives, 0))
                continue
            location = Location(index, block.start, block.end, block.alternatives, 0)
            points.append(
                ChoicePoint(
                    f"authored@{index}:{block.start}",
                    "authored",
                    "authored",
                    len(block.alternatives),
                    (location,),
                )
            )
        if not automatic:
            continue
        hard = merge_spans([*segment.protected, *find_protected(segment.text), *taken])
        words = lexical_candidates(segment.text, merge_spans([*hard, *digit_spans(segment.text)]))
        formats = format_candidates(segment.text, hard)
        words = [c for c in map(_without_repetition(segment.text), words) if c is not None]
        ordered = sorted(words, key=lambda c: (c.start, -(c.end - c.start))) + sorted(
            formats, key=lambda c: c.start
        )
        for candidate in ordered:
            if not _accept(taken, candidate.start, candidate.end):
                continue
            taken.append((candidate.start, candidate.end))
            location = Location(
                index, candidate.start, candidate.end, candidate.texts, candidate.original
            )
            if candidate.linked:
                linked.setdefault(candidate.rule, []).append((candidate, location))
            else:
                point_id = f"{candidate.rule}@{index}:{candidate.start}"
                points.append(
                    ChoicePoint(
                        point_id,
                        candidate.rule,
                        candidate.family,
                        len(candidate.texts),
                        (location,),
                    )
                )
    for rule, entries in sorted(linked.items()):
        first = entries[0][0]
        locations = tuple(
            sorted((loc for _, loc in entries), key=lambda loc: (loc.segment, loc.start))
        )
        points.append(
            ChoicePoint(
                f"{rule}@document", rule, first.family, len(first.texts), locations, first.natural
            )
        )
    points.extend(_unordered_lists(document))
    points.sort(key=_point_order)
    plan = TextPlan(document, tuple(points), tuple(fixed), version)
    return TextPlan(document, plan.points, plan.fixed, version, _digest(plan))


_NEARBY = 100


def _without_repetition(text: str):
    """Drop the alternatives that already stand near a candidate in the original.

    "once the family has been chosen, an option must be selected" must not become "...selected,
    ... selected". The filter reads the original only, so every copy has the same alternatives.
    """

    def keep(candidate):
        window = (
            text[max(0, candidate.start - _NEARBY) : candidate.start]
            + " "
            + text[candidate.end : candidate.end + _NEARBY]
        ).lower()
        texts = [
            (i, t)
            for i, t in enumerate(candidate.texts)
            if i == candidate.original or _common(t) or t.strip(" ,").lower() not in window
        ]
        if len(texts) < 2:
            return None
        original = next(n for n, (i, _) in enumerate(texts) if i == candidate.original)
        return replace(candidate, texts=tuple(t for _, t in texts), original=original)

    return keep


# Function words and single Chinese characters stand everywhere: repeating them is not the
# "selected … selected" a reader notices, and the substring test would find 将 in every 将来.
_FUNCTION_WORDS = frozenset(
    [
        "to",
        "can",
        "that",
        "before",
        "whether",
        "and",
        "or",
        "as",
        "so",
        "while",
        "over",
        "under",
        "from",
        "which",
        "the",
        "a",
        "an",
        "but",
    ]
)


def _common(text: str) -> bool:
    word = text.strip(" ,，").lower()
    return word in _FUNCTION_WORDS or (len(word) == 1 and not word.isascii())


def _point_order(point: ChoicePoint):
    if point.items:
        return (point.items[0], -1, point.id)
    first = point.locations[0]
    return (first.segment, first.start, point.id)


def _unordered_lists(document: TextDocument) -> list[ChoicePoint]:
    points = []
    segments = document.segments
    for index, segment in enumerate(segments):
        if segment.kind != "marker":
            continue
        items = []
        for follower in range(index + 1, len(segments)):
            if segments[follower].kind != "item":
                break
            items.append(follower)
        where = f"{document.name or 'document'}: {{{{unordered}}}} at segment {index + 1}"
        if len(items) < 2:
            raise AlternativeSyntaxError(f"{where} is not followed by a list of two or more items")
        if len(items) > MAX_UNORDERED_ITEMS:
            raise AlternativeSyntaxError(
                f"{where}: {len(items)} items; mark lists of at most {MAX_UNORDERED_ITEMS}"
            )
        if document.format != "docx" and any(
            segments[i].text.lstrip()[:1].isdigit() for i in items
        ):
            raise AlternativeSyntaxError(
                f"{where}: a numbered list cannot be shuffled; use bullets"
            )
        if document.format == "html":
            raise AlternativeSyntaxError(f"{where}: unordered lists are not supported in HTML yet")
        points.append(
            ChoicePoint(
                f"order@{items[0]}",
                "order",
                "order",
                math.factorial(len(items)),
                (),
                None,
                tuple(items),
            )
        )
    return points


def plan_edits(plan: TextPlan, choices) -> Edits:
    """The edits that make the copy with ``choices`` (one index per point, in plan order)."""
    from .choices import permutation_of

    replace: dict[int, list[tuple[int, int, str]]] = {}
    orders = []
    for location in plan.fixed:
        replace.setdefault(location.segment, []).append(
            (location.start, location.end, location.texts[0])
        )
    for point, choice in zip(plan.points, choices, strict=True):
        if point.items:
            orders.append((point.items, permutation_of(choice, len(point.items))))
            continue
        for location in point.locations:
            replace.setdefault(location.segment, []).append(
                (location.start, location.end, location.texts[choice])
            )
    delete = frozenset(i for i, s in enumerate(plan.document.segments) if s.kind == "marker")
    return Edits(replace, orders, delete)


@dataclass(frozen=True)
class Flat:
    """A copy as plain text: segments joined by line breaks, with where every location landed.

    ``spans[p][j]`` is the ``(start, end)`` in ``text`` of location ``j`` of point ``p``;
    ``items[p]`` lists, for an order point, each item's ``(start, end)`` in item order.
    """

    text: str
    spans: tuple[tuple[tuple[int, int], ...], ...]
    items: dict[int, tuple[tuple[int, int], ...]]


def flatten(plan: TextPlan, choices=None) -> Flat:
    """The plain text of the copy with ``choices`` (default: the original wording)."""
    choices = plan.base_choices() if choices is None else tuple(choices)
    edits = plan_edits(plan, choices)
    segments = plan.document.segments
    # Each segment's new text, and where in it each (point, location) ended up.
    texts, where = [], [{} for _ in segments]
    owner: dict[tuple[int, int], tuple[int, int]] = {}
    for p, point in enumerate(plan.points):
        for j, location in enumerate(point.locations):
            owner[(location.segment, location.start, location.end)] = (p, j)
    for index, segment in enumerate(segments):
        pieces, cursor, length = [], 0, 0
        for start, end, value in sorted(edits.replace.get(index, ()), key=lambda r: (r[0], r[1])):
            pieces.append(segment.text[cursor:start])
            length += start - cursor
            key = owner.get((index, start, end))
            if key is not None:
                where[index][key] = (length, length + len(value))
            pieces.append(value)
            length += len(value)
            cursor = end
        pieces.append(segment.text[cursor:])
        texts.append("".join(pieces))
    order = list(range(len(segments)))
    for items, permutation in edits.orders:
        for position, p in zip(items, permutation, strict=True):
            order[position] = items[p]
    out, offsets = [], {}
    length = 0
    for index in order:
        if index in edits.delete:
            continue
        if out:
            out.append("\n")
            length += 1
        offsets[index] = length
        out.append(texts[index])
        length += len(texts[index])
    spans = []
    for p, point in enumerate(plan.points):
        row = []
        for j, location in enumerate(point.locations):
            a, b = where[location.segment][(p, j)]
            base = offsets[location.segment]
            row.append((base + a, base + b))
        spans.append(tuple(row))
    items = {
        p: tuple((offsets[i], offsets[i] + len(texts[i])) for i in point.items)
        for p, point in enumerate(plan.points)
        if point.items
    }
    return Flat("".join(out), tuple(spans), items)


def plan_manifest(plan: TextPlan) -> dict:
    """The JSON-able record of a plan (``leaktrace-text-plan/1``), stored as a blob."""
    segments = hashlib.sha256(
        "\x1e".join(s.text for s in plan.document.segments).encode("utf-8")
    ).hexdigest()
    return {
        "version": MANIFEST_VERSION,
        "rules_version": plan.rules_version,
        "format": plan.document.format,
        "segments": len(plan.document.segments),
        "segments_sha256": segments,
        "points": [
            {
                "id": p.id,
                "rule": p.rule,
                "family": p.family,
                "k": p.k,
                "natural": p.natural,
                "items": list(p.items),
                "locations": [
                    [loc.segment, loc.start, loc.end, loc.original, list(loc.texts)]
                    for loc in p.locations
                ],
            }
            for p in plan.points
        ],
        "fixed": [[loc.segment, loc.start, loc.end, loc.texts[0]] for loc in plan.fixed],
    }


def manifest_bytes(manifest: dict) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8): the bytes whose SHA-256 names a plan."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _digest(plan: TextPlan) -> str:
    return hashlib.sha256(manifest_bytes(plan_manifest(plan))).hexdigest()


def load_plan(document: TextDocument, manifest: dict) -> TextPlan:
    """Rebuild a registered plan from its document and manifest (no rule is run again).

    Raises
    ------
    ValueError
        When the manifest has another version or does not describe this document.
    """
    if manifest.get("version") != MANIFEST_VERSION:
        raise ValueError(f"unknown text plan version {manifest.get('version')!r}")
    check = hashlib.sha256(
        "\x1e".join(s.text for s in document.segments).encode("utf-8")
    ).hexdigest()
    if check != manifest["segments_sha256"]:
        raise ValueError("the manifest describes another document")
    points = tuple(
        ChoicePoint(
            p["id"],
            p["rule"],
            p["family"],
            p["k"],
            tuple(
                Location(loc[0], loc[1], loc[2], tuple(loc[4]), loc[3]) for loc in p["locations"]
            ),
            p["natural"],
            tuple(p["items"]),
        )
        for p in manifest["points"]
    )
    fixed = tuple(Location(f[0], f[1], f[2], (f[3],), 0) for f in manifest["fixed"])
    plan = TextPlan(document, points, fixed, manifest["rules_version"])
    return TextPlan(document, points, fixed, manifest["rules_version"], _digest(plan))


def plan_params(plan: TextPlan, original_sha256: str) -> dict:
    """The JSON-able ``Asset.params`` of a registered text document (``leaktrace-text/1``)."""
    return {
        "text": PARAMS_VERSION,
        "format": plan.document.format,
        "encoding": plan.document.encoding,
        "bom": plan.document.bom,
        "rules_version": plan.rules_version,
        "plan_sha256": plan.digest,
        "original_sha256": original_sha256,
        "points": len(plan.points),
        "bits": round(plan.bits, 3),
        "code_version": 1,
    }


def bits_needed(recipients: int, bound: float) -> float:
    """Bits a leak must show, all agreeing, to name one of ``recipients`` below ``bound``."""
    return math.log2(max(1, recipients) / bound)


def require_choice_points(plan: TextPlan, *, recipients: int, bound: float = 1e-9) -> None:
    """Raise :class:`NoChoicePointsError` when a plan has no choice point at all."""
    if not plan.points:
        need = bits_needed(recipients, bound)
        raise NoChoicePointsError(
            f"{plan.document.name or 'document'}: no choice point; add alternatives such as {{{{flagship|top model}}}} "
            f"(at least {need:.0f} bits are needed to name one of {recipients} recipients at {bound:g})"
        )
