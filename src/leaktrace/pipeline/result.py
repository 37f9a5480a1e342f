"""What an identification reports, whatever the medium of the leak.

Verdicts:

``attributed``
    A recipient's mark is present with a family-wise false-accusation probability at or below the
    bound. Every other recipient that also passes (colluders) is listed in ``significant``.
``inconclusive``
    The asset was found but nobody could be proved: the alignment could not be verified, or no
    score passed the bound. An honest answer, not a failure.
``removed``
    The leak is anti-correlated with exactly one copy far beyond chance: its mark was removed
    on purpose by someone holding the original (the subtraction overshot). ``recipient`` names
    that copy's holder and ``p_value`` is the family-wise probability of so low a score by
    chance, corrected for both tails. It says whose copy was altered; it is not an attribution.
``unknown``
    The leak matches no registered asset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leaktrace import __version__
from leaktrace.registry.models import Asset, Recipient

MAX_CANDIDATES_REPORTED = 20
STATEMENT = (
    "This result identifies whose registered copy the leaked file was made from. It identifies a "
    "copy, not a person: it does not show who published it or how it left the recipient."
)


@dataclass
class Identification:
    verdict: str
    file: str
    sha256: str
    threshold: float
    recipient: Recipient | None = None
    asset: Asset | None = None
    p_value: float | None = None
    reason: str | None = None
    candidates: list[dict] = field(default_factory=list)
    significant: list[dict] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    # Where the identification was recorded: the audit log, or a case file when the registry
    # is read-only ({"to"}, and for a case file "path", "seq" and "why").
    logged: dict | None = None

    @property
    def attributed(self) -> bool:
        return self.verdict == "attributed"

    def to_dict(self) -> dict:
        asset = None
        if self.asset is not None:
            asset = {
                "id": self.asset.id,
                "file": self.asset.file_name,
                "sha256": self.asset.sha256,
                "width": self.asset.width,
                "height": self.asset.height,
            }
        recipient = None
        if self.recipient is not None:
            recipient = {
                "id": self.recipient.id,
                "name": self.recipient.name,
                "org": self.recipient.org,
            }
        return {
            "verdict": self.verdict,
            "file": self.file,
            "sha256": self.sha256,
            "recipient": recipient,
            "asset": asset,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "reason": self.reason,
            "significant": self.significant,
            "candidates": self.candidates,
            "evidence": self.evidence,
            "statement": STATEMENT,
            "logged": self.logged,
            "tool": {"name": "leaktrace", "version": __version__},
        }


def candidate_list(scores, recipients: dict[str, Recipient]) -> list[dict]:
    """The best-scoring recipients as reported (at most MAX_CANDIDATES_REPORTED), best first."""
    return [
        {
            "id": rid,
            "name": recipients[rid].name,
            "score": round(float(z), 3),
            "p_value": float(p_family),
            "p_value_single": float(p_single),
        }
        for rid, z, p_family, p_single in zip(
            scores.recipient_ids[:MAX_CANDIDATES_REPORTED],
            scores.z,
            scores.p_family,
            scores.p_single,
            strict=False,
        )
    ]
