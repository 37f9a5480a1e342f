"""Verifying an evidence case with no registry and no key.

Every step uses the library's own functions — the commitment, the registration, the residual,
the projection and the detection statistic of ``engine/`` and ``media/image/`` — on the bytes in
the case, and nothing the case merely asserts is taken on trust where it can be recomputed: the
commitment is recomputed from the opening, the alignment found again, the score recomputed and
its p-value measured against decoys the verifier draws itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from leaktrace.engine.watermark.detect import (
    DEFAULT_DECOYS,
    attribute,
    normal_sf,
    standardized_scores,
)
from leaktrace.engine.watermark.pattern import RevealedKeying
from leaktrace.errors import InputError, LeaktraceError
from leaktrace.pipeline.openings import CopyOpening
from leaktrace.proof.case import Case, read_case
from leaktrace.registry.models import Asset

__all__ = ["Verdict", "verify_case"]


@dataclass
class Verdict:
    """The verdict on a case: ``confirmed``, or the first ``reason`` it is not; and the checks
    made, in order, each ``{"check", "ok", "detail"}``."""

    confirmed: bool = False
    reason: str | None = None
    checks: list[dict] = field(default_factory=list)
    score: float | None = None
    recorded_score: float | None = None
    p_value: float | None = None
    bound: float | None = None
    tolerance: float | None = None
    copy: dict | None = None

    def to_dict(self) -> dict:
        return {
            "confirmed": self.confirmed,
            "reason": self.reason,
            "copy": self.copy,
            "score": self.score,
            "recorded_score": self.recorded_score,
            "tolerance": self.tolerance,
            "p_value": self.p_value,
            "bound": self.bound,
            "checks": self.checks,
        }


class _Failed(Exception):
    """A check failed: the case is not confirmed, for this reason."""


def _check(verdict: Verdict, name: str, ok: bool, detail: str) -> None:
    verdict.checks.append({"check": name, "ok": bool(ok), "detail": detail})
    if not ok:
        raise _Failed(detail)


def _field(data: dict, *path: str):
    value = data
    for name in path:
        if not isinstance(value, dict) or name not in value:
            raise _Failed(f"the case does not record {'.'.join(path)}")
        value = value[name]
    return value


def verify_case(path: str | Path, *, decoys: int = DEFAULT_DECOYS) -> Verdict:
    """Verify the case file at ``path``; raises :class:`InputError` only for a file that is not
    a readable case (everything else is a verdict, confirmed or not, with its reason)."""
    case = read_case(path)
    verdict = Verdict()
    try:
        _verify(case, verdict, decoys)
    except _Failed as failure:
        verdict.confirmed, verdict.reason = False, str(failure)
    except (LeaktraceError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        verdict.confirmed, verdict.reason = False, f"the case is malformed: {exc}"
    return verdict


def _verify(case: Case, verdict: Verdict, decoys: int) -> None:
    data = case.data
    leak_sha = hashlib.sha256(case.leak).hexdigest()
    original_sha = hashlib.sha256(case.original).hexdigest()
    _check(
        verdict,
        "leak",
        leak_sha == _field(data, "leak", "sha256"),
        f"the leak's SHA-256 is {leak_sha}"
        + ("" if leak_sha == data["leak"]["sha256"] else ", not the one the case records"),
    )
    _check(
        verdict,
        "original",
        original_sha == _field(data, "original", "sha256"),
        f"the original's SHA-256 is {original_sha}"
        + ("" if original_sha == data["original"]["sha256"] else ", not the one the case records"),
    )
    opening = _opening(data, verdict)
    keying = _pattern(data, opening, original_sha, verdict)
    _audit(data, leak_sha, verdict)
    _score(case, data, opening, keying, verdict, decoys)


def _opening(data: dict, verdict: Verdict) -> CopyOpening:
    try:
        opening = CopyOpening.from_dict(_field(data, "opening"))
    except ValueError as exc:
        raise _Failed(f"the revealed opening is malformed: {exc}") from None
    commitment = _field(data, "copy", "commitment")
    computed = opening.commitment()
    _check(
        verdict,
        "commitment",
        isinstance(commitment, str) and hmac.compare_digest(computed, commitment),
        f"the opening hashes to {computed}"
        + (
            ", the commitment recorded at marking"
            if computed == commitment
            else f", not to the commitment recorded at marking ({commitment!s:.64}): the code, "
            "the pattern or the nonce revealed is not the one committed to"
        ),
    )
    accused = _field(data, "accused", "id")
    copy = _field(data, "copy")
    same = (
        opening.recipient_id == accused == copy.get("recipient")
        and opening.asset_id == _field(data, "original", "asset") == copy.get("asset")
        and opening.key_id == copy.get("key_id")
    )
    _check(
        verdict,
        "copy",
        same,
        f"the opening is of the copy of asset {opening.asset_id} for {opening.recipient_id}"
        + ("" if same else ", not of the accused copy the case names"),
    )
    verdict.copy = {
        "asset": opening.asset_id,
        "recipient": opening.recipient_id,
        "output_sha256": copy.get("output_sha256"),
        "commitment": commitment,
    }
    return opening


def _pattern(data: dict, opening: CopyOpening, original_sha: str, verdict: Verdict):
    try:
        keying = RevealedKeying.from_revealed(opening.pattern)
    except (KeyError, TypeError, ValueError) as exc:
        raise _Failed(f"the revealed pattern is malformed: {exc}") from None
    layout = _field(data, "original", "params", "pattern")
    ok = keying.asset_sha256 == original_sha and keying.layout.to_params() == layout
    _check(
        verdict,
        "pattern",
        ok,
        "the committed pattern is that of this original"
        if ok
        else "the committed pattern belongs to another original than the one in the case",
    )
    return keying


def _audit(data: dict, leak_sha: str, verdict: Verdict) -> None:
    """The audit rows must say what the case says. Their MACs need the key; a key holder checks
    them (and the whole chain) with ``leaktrace audit``; a printed head exported earlier pins
    them (``audit --against``)."""
    rows = _field(data, "audit")
    copy = _field(data, "copy")
    recorded = [r for r in rows if isinstance(r, dict) and r.get("action") == "copy recorded"]
    detail = recorded[0].get("detail", {}) if recorded else {}
    ok = bool(recorded) and all(
        detail.get(name) == copy.get(theirs)
        for name, theirs in (
            ("asset_id", "asset"),
            ("recipient_id", "recipient"),
            ("output_sha256", "output_sha256"),
            ("commitment", "commitment"),
            ("key_id", "key_id"),
        )
    )
    _check(
        verdict,
        "audit",
        ok,
        f"audit row {recorded[0].get('seq')} recorded this copy and its commitment at marking"
        if ok
        else "no audit row of the case records the accused copy with this commitment",
    )
    identified = [r for r in rows if isinstance(r, dict) and r.get("action") == "identify"]
    if identified:
        ident = identified[-1].get("detail", {})
        ok = ident.get("file_sha256") == leak_sha and ident.get("recipient") == copy.get(
            "recipient"
        )
        _check(
            verdict,
            "audit",
            ok,
            f"audit row {identified[-1].get('seq')} recorded the identification of this leak"
            if ok
            else "the audit row of the identification is about another leak or recipient",
        )


def _score(case: Case, data: dict, opening, keying, verdict: Verdict, decoys: int) -> None:
    from leaktrace.engine.match import registration
    from leaktrace.engine.match.residual import extract
    from leaktrace.engine.match.verify import verify_alignment
    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.media.image.asset import unkeyed_analysis
    from leaktrace.media.image.files import load_display_rgb, load_image

    original = data["original"]
    asset = Asset(
        id=original["asset"],
        sha256=original["sha256"],
        file_name=str(original.get("file", "original")),
        kind=str(original.get("kind", "image")),
        width=keying.layout.width,
        height=keying.layout.height,
        phash=0,
        dhash=0,
        params=original["params"],
    )
    try:
        _, _, reference, detection = unkeyed_analysis(asset, load_image(case.original))
        leak_luma = luminance(load_display_rgb(case.leak))
    except InputError as exc:
        raise _Failed(f"a picture of the case cannot be read: {exc}") from None
    ok = reference.shape == (keying.layout.height, keying.layout.width)
    size = f"the original is {reference.shape[1]} x {reference.shape[0]} pixels"
    _check(verdict, "size", ok, size + ("" if ok else ", not the size of the committed pattern"))
    found = registration.register(
        reference, leak_luma, leak_features=registration.LazyFeatures(leak_luma)
    )
    homography, warp = found.homography, found.local_warp
    if found.verified:
        _check(
            verdict,
            "registration",
            True,
            f"the leak was registered onto the original again ({found.method}, "
            f"NCC {found.ncc:.3f})",
        )
    else:
        recorded = np.asarray(_field(data, "registration", "homography"), dtype=np.float64)
        ok = (
            recorded.shape == (3, 3) and verify_alignment(reference, leak_luma, recorded).verifies()
        )
        _check(
            verdict,
            "registration",
            ok,
            "the leak could not be registered again, and the recorded registration verifies"
            if ok
            else "the leak does not register onto the original (nor does the recorded "
            "registration verify): it is not a picture of this original",
        )
        homography, warp = recorded, None
    projection = extract(keying, reference, detection, leak_luma, homography, local_warp=warp)
    code = np.frombuffer(opening.code, dtype=np.uint8)[None, :]
    if code.shape[1] * 8 != keying.layout.code_bits:
        raise _Failed("the revealed code does not have the pattern's number of bits")
    # Decoys of the verifier's own: uniform random codes nobody could have chosen.
    fresh = np.frombuffer(secrets.token_bytes(decoys * code.shape[1]), dtype=np.uint8).reshape(
        decoys, code.shape[1]
    )
    parameters = _field(data, "parameters")
    bound, family = float(parameters["bound"]), int(parameters["family"])
    if not 0 < bound < 1 or family < 1:
        raise _Failed("the case's bound or family count is out of range")
    scores = attribute(
        projection.y, code, [opening.recipient_id], fresh, bound=bound, family_size=family
    )
    recorded_score = float(_field(data, "result", "score"))
    statistic = str(_field(data, "result").get("statistic") or "image")[:40]
    # Scores are compared before the null's spread divides them: code . y / |y| depends on the
    # leak and the code only, while the spread measured by decoys (the recorded ones, keyed; the
    # verifier's, fresh) differs by chance by a percent or two.
    raw = float(standardized_scores(projection.y, code)[0])
    spread = float((_field(data, "result").get("null") or {}).get("std_used") or 1.0)
    recorded_raw = recorded_score * spread
    tolerance = parameters.get("tolerance") or {}
    allowed = float(tolerance.get("relative", 0.05)) * abs(recorded_raw) + float(
        tolerance.get("absolute", 0.25)
    )
    verdict.score, verdict.recorded_score, verdict.tolerance = raw, recorded_raw, allowed
    verdict.p_value, verdict.bound = float(scores.p_family[0]), bound
    close = abs(raw - recorded_raw) <= allowed
    _check(
        verdict,
        "score",
        close,
        f"the revealed code scores {raw:.2f} on the {statistic} mark (recorded "
        f"{recorded_raw:.2f}, "
        f"tolerance ±{allowed:.2f}; code . y / |y|, N(0, 1) for a code the leak does not carry)"
        + ("" if close else ": the case's result does not match its leak and code"),
    )
    recorded_p = float(_field(data, "result", "p_value"))
    expected_p = min(1.0, float(normal_sf(np.array([recorded_score]))[0]) * family)
    consistent = recorded_p <= max(expected_p * 10.0, 1e-300) and recorded_p >= expected_p / 10.0
    _check(
        verdict,
        "result",
        consistent or expected_p < 1e-290,
        f"the recorded p-value {recorded_p:.3g} follows from the recorded score and "
        f"{family} hypotheses"
        if consistent or expected_p < 1e-290
        else f"the recorded p-value {recorded_p:.3g} does not follow from the recorded score "
        f"and {family} hypotheses ({expected_p:.3g})",
    )
    significant = verdict.p_value <= bound
    _check(
        verdict,
        "significance",
        significant,
        f"p = {verdict.p_value:.3g} with the verifier's {decoys} fresh decoys and Bonferroni over "
        f"{family} hypotheses, {'at or below' if significant else 'above'} the bound {bound:.0e}",
    )
    verdict.confirmed = True
