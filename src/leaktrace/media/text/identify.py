"""Identification of a text leak: which documents, which recipients, with what evidence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .align import DocumentReading, ReferenceIndex, RegisteredText, read_leak
from .choices import decode_code, keyed_choices
from .score import DEFAULT_BOUND, TextAttribution, attribute_agreements

__all__ = [
    "DocumentEvidence",
    "agreement_matrix",
    "PointEvidence",
    "TextIdentification",
    "attribute_readings",
    "codes_for",
    "identify_text",
]

# A document must share this many aligned characters with the leak to be scored at all.
MIN_MATCHED_CHARS = 40


@dataclass(frozen=True)
class PointEvidence:
    """One observed choice point, for the report."""

    point_id: str
    rule: str
    k: int
    shown: str
    seen: tuple[str, ...]
    q: float
    best_agrees: bool
    agreeing_recipients: int


@dataclass(frozen=True)
class DocumentEvidence:
    """The verdict's material for one candidate document."""

    document_id: str
    sentences: int
    matched_chars: int
    coverage: float
    unread_clusters: int
    attribution: TextAttribution
    points: tuple[PointEvidence, ...]


@dataclass(frozen=True)
class TextIdentification:
    """``verdict`` is ``"attributed"``, ``"inconclusive"`` or ``"unknown"`` (no document matched)."""

    verdict: str
    documents: tuple[DocumentEvidence, ...] = ()
    bound: float = DEFAULT_BOUND
    family_size: int = 0
    reason: str = ""
    significant: tuple[tuple[str, str], ...] = field(default=())

    @property
    def best(self) -> tuple[str, str] | None:
        """``(document_id, recipient_id)`` of the strongest attribution, if any."""
        return self.significant[0] if self.significant else None

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "bound": self.bound,
            "family_size": self.family_size,
            "significant": [list(pair) for pair in self.significant],
            "documents": [
                {
                    "document": d.document_id,
                    "sentences": d.sentences,
                    "matched_chars": d.matched_chars,
                    "coverage": round(d.coverage, 3),
                    "unread_clusters": d.unread_clusters,
                    "attribution": d.attribution.to_dict(),
                    "points": [vars(p) for p in d.points],
                }
                for d in self.documents
            ],
        }


def codes_for(key: bytes, document: RegisteredText, recipient_ids) -> dict[str, tuple[int, ...]]:
    """Every recipient's choices re-derived from the key (what marking gave them)."""
    return {
        r: keyed_choices(key, document.document_id, r, document.plan.points) for r in recipient_ids
    }


def _choices_matrix(document: RegisteredText, copies) -> tuple[list[str], np.ndarray]:
    ids, rows = [], []
    plan = document.plan
    for recipient, code in copies.items():
        choices = (
            decode_code(code, plan.digest, plan.ks)
            if isinstance(code, bytes | bytearray)
            else tuple(code)
        )
        ids.append(recipient)
        rows.append(choices)
    return ids, np.array(rows, dtype=np.int64).reshape(len(ids), len(plan.points))


def agreement_matrix(reading: DocumentReading, choices: np.ndarray) -> np.ndarray:
    """``(N, observed)``: whether each recipient's variant lies in what the leak shows."""
    plan = reading.document.plan
    agreements = np.zeros((choices.shape[0], len(reading.observations)), dtype=bool)
    for column, observation in enumerate(reading.observations):
        n_items = len(plan.points[observation.point].items)
        for row in range(choices.shape[0]):
            agreements[row, column] = observation.agrees(
                int(choices[row, observation.point]), n_items
            )
    return agreements


def identify_text(
    leak: str,
    index: ReferenceIndex,
    copies,
    *,
    bound: float = DEFAULT_BOUND,
    family_size: int | None = None,
) -> TextIdentification:
    """Identify whose copy a leaked text comes from.

    Parameters
    ----------
    leak : str
        The leaked text.
    index : ReferenceIndex
        Every registered text document.
    copies : mapping
        ``document_id -> {recipient_id: code}``, the code being a copy's ``bytes`` (see
        :func:`leaktrace.media.text.choices.encode_code`) or its tuple of choices.
    bound : float
        Largest acceptable chance of accusing an innocent (default ``1e-9``).
    family_size : int, optional
        Hypotheses the Bonferroni correction covers; default: every (document, recipient) pair
        of the documents the leak matched.
    """
    return attribute_readings(read_leak(index, leak), copies, bound=bound, family_size=family_size)


def attribute_readings(
    readings, copies, *, bound: float = DEFAULT_BOUND, family_size: int | None = None
) -> TextIdentification:
    """Score the recipients of every document a leak was read against (see :func:`identify_text`).

    Reading a leak does not depend on any key, so one reading can be scored against many
    candidate sets (what the innocence benchmark does).
    """
    readings = [r for r in readings if r.matched_chars >= MIN_MATCHED_CHARS]
    readings = [r for r in readings if copies.get(r.document.document_id)]
    if not readings:
        return TextIdentification(
            "unknown", (), bound, 0, "the text matches no registered document that has copies"
        )
    family = family_size or sum(len(copies[r.document.document_id]) for r in readings)
    documents, significant = [], []
    for reading in readings:
        document = reading.document
        ids, choices = _choices_matrix(document, copies[document.document_id])
        agreements = agreement_matrix(reading, choices)
        q = [o.q for o in reading.observations]
        attribution = attribute_agreements(agreements, q, ids, bound=bound, family_size=family)
        best_row = ids.index(attribution.best) if attribution.best is not None else None
        points = []
        for column, observation in enumerate(reading.observations):
            point = document.plan.points[observation.point]
            if observation.seen is not None:
                seen = tuple(point.locations[0].texts[v] for v in sorted(observation.seen))
            else:
                seen = (observation.shown,)
            points.append(
                PointEvidence(
                    point.id,
                    point.rule,
                    point.k,
                    observation.shown,
                    seen,
                    round(observation.q, 6),
                    bool(agreements[best_row, column]) if best_row is not None else False,
                    int(agreements[:, column].sum()),
                )
            )
        documents.append(
            DocumentEvidence(
                document.document_id,
                reading.sentences,
                reading.matched_chars,
                reading.coverage,
                reading.unread,
                attribution,
                tuple(points),
            )
        )
        significant.extend((document.document_id, r) for r in attribution.significant)
    documents.sort(
        key=lambda d: float(d.attribution.log10_p_single[0]) if d.attribution.recipient_ids else 0.0
    )
    significant.sort(key=lambda pair: _log_p(documents, pair))
    if significant:
        verdict, reason = "attributed", ""
    else:
        verdict = "inconclusive"
        reason = "no recipient's agreements are improbable enough for an innocent at the bound"
    return TextIdentification(verdict, tuple(documents), bound, family, reason, tuple(significant))


def _log_p(documents, pair) -> float:
    for d in documents:
        if d.document_id == pair[0]:
            i = d.attribution.recipient_ids.index(pair[1])
            return float(d.attribution.log10_p_single[i])
    return 0.0
