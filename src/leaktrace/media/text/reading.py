"""Reading a leak as text: which registered documents it quotes, and, for each, every holder's
agreements with the variants it shows, as evidence for the pipeline's decision.

A leak is a text file (plain, Markdown, HTML, DOCX), standard input, or the text OCR recognised
in a picture. The holders' choices come from the codes cached at mark time; the decision
re-derives an accused holder's code from the key before any accusation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from leaktrace.errors import LeaktraceError, RegistryError
from leaktrace.pipeline.evidence import AgreementBlock, Findings, Group, Outcome

from .align import ReferenceIndex, RegisteredText, read_leak
from .choices import decode_code, encode_code, keyed_choices
from .document import decode_text, format_for_name
from .identify import MIN_MATCHED_CHARS, agreement_matrix
from .marking import load_registered

__all__ = ["LAYER", "findings_for_text", "leak_text"]

LAYER = "text choices"
# Unrelated prose shares scattered 5-grams with any document ("in the first year"): a document
# counts as quoted from this many aligned characters, or from a fifth of the leak.
QUOTED_CHARS = 120
QUOTED_SHARE = 0.2


def _quotes(reading) -> bool:
    if reading.matched_chars < MIN_MATCHED_CHARS:
        return False
    return reading.matched_chars >= QUOTED_CHARS or reading.coverage >= QUOTED_SHARE


def leak_text(path: Path, data: bytes) -> str:
    """The text a leaked file shows: HTML without its tags, a DOCX's paragraphs, else the
    decoded text (UTF-8, or UTF-16/32 with a byte-order mark)."""
    name = str(path)
    try:
        kind = format_for_name(name)
    except LeaktraceError:
        kind = "plain"  # standard input, or a name without a text extension
    if kind == "docx":
        from .wordml import load_docx

        return "\n".join(segment.text for segment in load_docx(data, name).segments)
    text, _, _ = decode_text(data, name=os.path.basename(name) or name)
    if kind == "html":
        from .markup import html_visible_text

        return html_visible_text(text)
    return text


def findings_for_text(session, text: str, *, source: str = "text") -> Findings:
    """Align ``text`` to every registered text document and read what each shows.

    ``source`` says where the text came from ("text", "ocr") for the evidence.
    """
    registry = session.registry
    assets = registry.list_assets("text")
    evidence: dict = {
        "text": {"source": source, "characters": len(text), "words": len(text.split())}
    }
    if source == "text":
        evidence["leak"] = {"kind": "text", "characters": len(text), "words": len(text.split())}
    if not assets:
        return Findings(evidence, outcome=Outcome("unknown", "no text document is registered"))
    plans = {asset.id: load_registered(registry, asset) for asset in assets}
    by_id = {asset.id: asset for asset in assets}
    index = ReferenceIndex([RegisteredText(aid, plan) for aid, plan in plans.items()])
    readings = [r for r in read_leak(index, text) if _quotes(r)]
    evidence["text"]["documents_matched"] = [
        {
            "asset": r.document.document_id,
            "sentences": r.sentences,
            "matched_chars": r.matched_chars,
            "coverage": round(r.coverage, 3),
            "observed_points": len(r.observations),
            "unread_clusters": r.unread,
        }
        for r in readings
    ]
    if not readings:
        return Findings(
            evidence, outcome=Outcome("unknown", "the text matches no registered document")
        )
    groups = []
    outcome = None
    for reading in readings:
        asset = by_id[reading.document.document_id]
        if not reading.observations:
            outcome = outcome or Outcome(
                "inconclusive",
                f"the text quotes {asset.file_name} but shows none of its choice points",
                asset,
            )
            continue
        block = _block(registry, asset, reading)
        if block is None:
            outcome = outcome or Outcome(
                "inconclusive", f"nobody received a copy of {asset.file_name}", asset
            )
            continue
        groups.append(Group(asset, [block], describe=_describe(reading, block)))
    return Findings(
        evidence, groups=groups, outcome=outcome, asset=groups[0].asset if groups else None
    )


def _block(registry, asset, reading) -> AgreementBlock | None:
    holders = registry.holder_codes(asset.id)
    if not len(holders):
        return None
    plan = reading.document.plan
    # One hypothesis per recipient: the copy made under the newest key they hold one under.
    latest: dict[str, int] = {}
    for i, rid in enumerate(holders.recipient_ids):
        latest[rid] = i  # sorted by recipient, then key id: the last one is the newest key
    rows = sorted(latest.values(), key=lambda i: holders.recipient_ids[i])
    ids = [holders.recipient_ids[i] for i in rows]
    key_ids = [holders.key_ids[i] for i in rows]

    def keyed_code(row: int) -> bytes:
        key = registry.key_for(key_ids[row])
        return encode_code(
            plan.digest, plan.ks, keyed_choices(key, asset.id, ids[row], plan.points)
        )

    codes = [
        holders.codes[i] if holders.codes[i] is not None else keyed_code(n)
        for n, i in enumerate(rows)
    ]
    try:
        choices = np.array(
            [decode_code(code, plan.digest, plan.ks) for code in codes], dtype=np.int64
        ).reshape(len(ids), len(plan.points))
    except LeaktraceError as exc:
        raise RegistryError(f"asset {asset.id}: {exc}") from None
    agreements = agreement_matrix(reading, choices)
    q = np.array([o.q for o in reading.observations], dtype=np.float64)
    return AgreementBlock(asset, LAYER, -1, ids, agreements, q, codes, keyed_code, reading)


def _describe(reading, block: AgreementBlock):
    plan = reading.document.plan

    def describe(decision) -> dict:
        best = decision.scores.best
        row = block.ids.index(best) if best in block.ids else None
        points = []
        for column, observation in enumerate(reading.observations):
            point = plan.points[observation.point]
            points.append(
                {
                    "point": point.id,
                    "rule": point.rule,
                    "k": point.k,
                    "shown": observation.shown,
                    "q": round(observation.q, 6),
                    "best_agrees": bool(block.agreements[row, column]) if row is not None else None,
                    "holders_agreeing": int(block.agreements[:, column].sum()),
                }
            )
        counts = {
            rid: int(n) for rid, n in zip(block.ids, block.agreements.sum(axis=1), strict=True)
        }
        top = decision.scores.recipient_ids[:5]
        return {
            "text_reading": {
                "asset": reading.document.document_id,
                "points_in_document": len(plan.points),
                "observed_points": len(reading.observations),
                "expected_agreements_innocent": round(float(block.q.sum()), 3),
                "agreements": {rid: counts[rid] for rid in top},
                "points": points,
            }
        }

    return describe
