"""Identification, the same for every medium: read the leak, let its medium locate the
registered originals and read the evidence, decide, and record the result.

A medium is anything with the small interface of :class:`LeakMedium`: it claims the files it
reads and turns one into :class:`~leaktrace.pipeline.evidence.Findings`. Everything after that —
Bonferroni over every (asset, recipient) pair, the layers deciding alone, keyed tokens, the
verdict, the distribution record, the audit row — is done here, without knowing the medium.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from leaktrace.engine.watermark.detect import DEFAULT_BOUND, DEFAULT_DECOYS, normal_sf
from leaktrace.errors import InputError
from leaktrace.pipeline import decide as decision_rules
from leaktrace.pipeline.evidence import Block, Findings, Group
from leaktrace.pipeline.result import MAX_CANDIDATES_REPORTED, Identification, candidate_list
from leaktrace.pipeline.session import Session

__all__ = ["LeakMedium", "identify_file", "identify_bytes"]


class LeakMedium(Protocol):
    """What identification needs of a medium (images, PDFs, videos, text)."""

    name: str
    leak_suffixes: frozenset[str]

    def claims(self, path: Path, data: bytes) -> bool:
        """Whether this medium reads the file (by its content; the suffix is only a hint)."""

    def read(self, session: Session, path: Path, data: bytes) -> Findings:
        """Locate the registered originals the leak shows, register it onto them and read the
        evidence; raises :class:`~leaktrace.errors.InputError` for an unreadable file."""


def identify_file(
    registry,
    path: Path,
    *,
    media: Sequence[LeakMedium],
    bound: float = DEFAULT_BOUND,
    decoys: int = DEFAULT_DECOYS,
    password: str | None = None,
    case_file: Path | None = None,
) -> Identification:
    """Identify one leaked file.

    Parameters
    ----------
    registry : SqlRegistry
        The registry holding the assets, their originals and the distribution record.
    path : Path
        The leaked file.
    media : sequence of LeakMedium
        The media to read it with; the first that claims the file reads it.
    bound : float
        Largest acceptable family-wise probability that the accusation is a coincidence.
    decoys : int
        Number of decoy codes used to measure the null distribution for this query.
    password : str, optional
        Password of an encrypted leaked PDF.
    case_file : Path, optional
        Where the identification is logged when the registry is read-only (default:
        ``leaktrace-case-<registry>.jsonl`` in the working directory).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return identify_bytes(
        registry,
        path,
        data,
        media=media,
        bound=bound,
        decoys=decoys,
        password=password,
        case_file=case_file,
    )


def identify_bytes(
    registry,
    path: Path,
    data: bytes,
    *,
    media: Sequence[LeakMedium],
    bound: float = DEFAULT_BOUND,
    decoys: int = DEFAULT_DECOYS,
    password: str | None = None,
    case_file: Path | None = None,
) -> Identification:
    """:func:`identify_file` for a leak already in memory (``path`` names it)."""
    if not 0 < bound < 1:
        raise ValueError("bound must be between 0 and 1")
    medium = next((m for m in media if m.claims(path, data)), None)
    if medium is None:
        raise InputError(f"{path}: not a file leaktrace can identify")
    result = Identification("unknown", str(path), hashlib.sha256(data).hexdigest(), bound)
    with Session(registry, bound, decoys, password) as session:
        findings = medium.read(session, path, data)
        for other in media:
            # Another medium may read more from the same file (the text of a picture).
            supplement = getattr(other, "supplement", None)
            if other is not medium and supplement is not None:
                findings = _merge(findings, supplement(session, path, data))
    _settle(registry, result, findings, bound=bound, decoys=decoys)
    return _record(registry, result, case_file)


def _merge(findings: Findings, extra: Findings | None) -> Findings:
    """One medium's findings with another's supplement: all groups and tokens scored together
    (so under one correction); the supplement's outcome stands where the first found nothing."""
    if extra is None:
        return findings
    outcome = findings.outcome
    if extra.outcome is not None and (outcome is None or outcome.verdict == "unknown"):
        outcome = extra.outcome
    return Findings(
        {**findings.evidence, **extra.evidence},
        [*findings.groups, *extra.groups],
        [*findings.tokens, *extra.tokens],
        outcome,
        findings.asset or extra.asset,
    )


def _settle(registry, result: Identification, findings: Findings, *, bound, decoys) -> None:
    result.evidence = findings.evidence
    groups = _per_key([group for group in findings.groups if group.blocks], registry.key_id)
    if not groups and not findings.tokens:
        outcome = findings.outcome
        if outcome is None:  # a medium that found nothing and said nothing
            result.reason = "the file matches no registered asset"
            return
        result.verdict, result.asset, result.reason = outcome.verdict, outcome.asset, outcome.reason
        result.evidence.update(outcome.evidence)
        return
    # Every (work, recipient) pair that can be scored is one hypothesis: correct for all.
    family = sum(decision_rules.holders(group.blocks) for group in groups)
    decided: list[tuple[Group, decision_rules.Decision]] = []
    for group in groups:
        decision = decision_rules.decide(group.blocks, decoys, bound, family)
        if decision is not None:
            decision_rules.confirm_codes(group.blocks, decision.scores.significant)
            decided.append((group, decision))
    best = min(decided, key=lambda item: item[1].p_value) if decided else None
    removal = None
    if best is not None and not best[1].scores.attributed:
        removed = [item for item in decided if item[1].removal.removed]
        if removed and not any(token.recipient for token in findings.tokens):
            removal = best = min(removed, key=lambda item: item[1].removal.p_removal)
        else:
            # Nobody is proved anywhere: which work shows least chance agreement is itself
            # chance (sister pages of a document all score noise), so the work reported is the
            # one the medium located best, which it lists first.
            best = decided[0]
    result.asset = best[0].asset if best is not None else findings.asset
    if best is not None:
        _report_scores(registry, result, *best, family, [g.asset.id for g, _ in decided])
    _report_tokens(registry, result, findings)
    if removal is not None:
        _report_removal(registry, result, removal[1])
    _report_distribution(registry, result)
    if result.verdict == "removed":
        return
    if not result.attributed:
        result.verdict = "inconclusive"
        best_text = ""
        if best is not None:
            scores = best[1].scores
            best_text = (
                f": the best, {scores.best}, has a false-accusation probability of "
                f"{float(scores.p_family[0]):.2g}, above the bound {bound:.0e}"
            )
        result.reason = f"no recipient's mark is significant{best_text}"


def _per_key(groups: list[Group], current: int) -> list[Group]:
    """Each group split per registry key that made the copies its blocks were scored for."""
    split = []
    for group in groups:
        keyed = decision_rules.by_key(group.blocks, current)
        split += [Group(group.asset, blocks, group.describe) for blocks in keyed.values()]
    return split


def _copy_key(registry, group: Group) -> int | None:
    """The key that made the copies a group scored (None for evidence that is not keyed per
    block, as text canaries, whose rows carry their own keys)."""
    if not all(isinstance(block, Block) for block in group.blocks):
        return None
    key_id = group.blocks[0].key_id
    return registry.key_id if key_id is None else key_id


def _report_scores(registry, result, group, decision, family: int, scored: list[str]) -> None:
    scores = decision.scores
    shown = list(
        dict.fromkeys([*scores.recipient_ids[:MAX_CANDIDATES_REPORTED], *scores.significant])
    )
    names = {r.id: r for r in registry.get_recipients(shown)}
    result.candidates = candidate_list(scores, names)
    if group.describe is not None:
        result.evidence.update(group.describe(decision))
    copy_key = _copy_key(registry, group)
    if copy_key is not None:
        result.evidence["copy_key_id"] = copy_key
    correction = "Bonferroni over every (asset, recipient) pair scored"
    if decision.tests > 1:
        correction += f", times the {decision.tests} statistics compared"
    result.evidence.update(
        {
            "assets_scored": scored,
            "hypotheses_tested": family * decision.tests,
            "correction": correction,
            "null": scores.null.to_dict(),
            "runner_up": result.candidates[1] if len(result.candidates) > 1 else None,
        }
    )
    if scores.attributed:
        result.verdict = "attributed"
        result.recipient = names[scores.best]
        result.p_value = max(decision.p_value, decision_rules.SMALLEST_REPORTED_P)
        result.significant = [c for c in result.candidates if c["id"] in scores.significant]


def _report_tokens(registry, result: Identification, findings: Findings) -> None:
    """Keyed tokens prove a copy exactly; they attribute when the scores did not."""
    proved = [token for token in findings.tokens if token.recipient]
    if not proved:
        return
    holder = proved[0].recipient
    if not result.attributed:
        result.verdict = "attributed"
        result.recipient = registry.get_recipient(holder)
        result.p_value = min(token.p_value for token in proved)
    elif holder != result.recipient.id:
        result.evidence["conflict"] = (
            f"the {proved[0].layer} marks name {holder}, the scores {result.recipient.id}: "
            "the file was assembled from several copies"
        )


def _report_removal(registry, result: Identification, decision) -> None:
    """A leak strongly anti-correlated with exactly one copy: someone holding the original
    subtracted that copy's difference and overshot. No innocent leak can do that (an innocent's
    score is N(0, 1) in both tails), so it is its own verdict, never an attribution."""
    scores = decision.removal
    rid = scores.removed[0]
    at = scores.recipient_ids.index(rid)
    recipient = registry.get_recipient(rid)
    p_value = max(scores.p_removal, decision_rules.SMALLEST_REPORTED_P)
    line = {
        "id": rid,
        "name": recipient.name,
        "score": round(float(scores.z[at]), 3),
        "p_value": p_value,
        "p_value_single": float(normal_sf(-scores.z[at])),
    }
    result.verdict, result.recipient, result.p_value = "removed", recipient, p_value
    if all(c["id"] != rid for c in result.candidates):
        result.candidates.append(line)
    result.evidence["removal"] = {
        **line,
        "others_removed": scores.removed[1:],
        "correction": "Bonferroni over both tails: 2 x the hypotheses tested",
        "hypotheses_tested": 2 * decision.family * decision.tests,
    }
    result.reason = (
        f"the mark was deliberately removed from {rid}'s copy: the leak is anti-correlated with "
        f"that copy's keyed pattern (z = {float(scores.z[at]):.1f}), which no innocent leak can "
        "be; this shows whose copy was altered, and is not an attribution"
    )


def _report_distribution(registry, result: Identification) -> None:
    """Who received the accused copies, and whose copy the leak is byte for byte."""
    if result.asset is None:
        return
    accused = []
    if result.recipient is not None:  # attributed, or the copy whose mark was removed
        accused = list(dict.fromkeys([result.recipient.id, *(c["id"] for c in result.significant)]))
    copies = (
        registry.list_copies(asset_id=result.asset.id, recipient_ids=accused) if accused else []
    )
    seen = {c.id for c in copies}
    exact = [
        c
        for c in registry.list_copies(asset_id=result.asset.id, output_sha256=result.sha256)
        if c.id not in seen
    ]
    result.evidence["distribution"] = [
        {
            "recipient": c.recipient_id,
            "output_sha256": c.output_sha256,
            "output_name": c.output_name,
            "at": c.created_at.isoformat() if c.created_at else None,
        }
        for c in copies
    ]
    result.evidence["exact_copy_of"] = list(
        dict.fromkeys(c.recipient_id for c in copies + exact if c.output_sha256 == result.sha256)
    )


def _record(registry, result: Identification, case_file: Path | None) -> Identification:
    """The audit row of the identification; a read-only registry (read-only media, a role that
    may only read) gets nothing written, and the identification goes to a case file instead."""
    from leaktrace.registry.caselog import CaseEntry, default_case_file, log_event

    entry = log_event(
        registry,
        "identify",
        {
            "file_sha256": result.sha256,
            "verdict": result.verdict,
            "asset": result.asset.id if result.asset else None,
            "recipient": result.recipient.id if result.recipient else None,
            "p_value": result.p_value,
        },
        case_file=case_file,
    )
    if isinstance(entry, CaseEntry):
        path = default_case_file(registry) if case_file is None else Path(case_file)
        result.logged = {
            "to": "case file",
            "path": str(path.resolve()),
            "seq": entry.seq,
            "why": f"the registry is read-only ({registry.read_only_reason})",
        }
    else:
        # No row number: the same leak identified twice gives the same result.
        result.logged = {"to": "audit log"}
    return result
