"""Reading a leaked picture: which registered raster it shows, its alignment, and the residual
projected onto that raster's codes.

Other media register pictures of themselves (a PDF page's render; a video's key frames) as
rasters of their own kinds. A screenshot or photo of one is found and registered here like any
image; the medium that owns the kind may read more from it (a page's word shifts) through a
:class:`ViewReader`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from leaktrace.engine.watermark.pattern import AssetKeying
from leaktrace.media.image.locate import Located, find_assets
from leaktrace.pipeline.evidence import Block, Findings, Group, Outcome, packed_codes
from leaktrace.pipeline.session import Session

__all__ = [
    "UNRELATED_NCC",
    "StillReader",
    "ViewEvidence",
    "ViewReader",
    "keyed_blocks",
    "raster_blocks",
    "read_picture",
    "rekeyed",
]

# Below this correlation an unverified candidate shares nothing recognisable with the leak.
UNRELATED_NCC = 0.3
MIN_LEAK_SIDE = 32


@dataclass
class ViewEvidence:
    """What the medium owning a raster kind adds to a picture of one of its rasters.

    ``layer`` names the raster's own mark; ``blocks`` are further readings of the picture
    (decided together with the raster's block); ``evidence`` lines are reported when it decides.
    """

    layer: str
    blocks: list[Block] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)


class ViewReader(Protocol):
    """A further reading of a picture of a raster of the reader's kind; ``rasters`` are the
    raster's own blocks (one per key that made copies), whose holders it scores."""

    def __call__(
        self, session: Session, located: Located, leak_luma: np.ndarray, rasters: list[Block]
    ) -> ViewEvidence: ...


class StillReader(Protocol):
    """Another medium's reading of a picture no registered raster explains (a video's frame):
    findings whose groups and evidence join the picture's, or None when it has nothing to try."""

    def __call__(
        self, session: Session, path: Path, leak_rgb: np.ndarray, leak_luma: np.ndarray
    ) -> Findings | None: ...


def raster_blocks(
    session: Session, located: Located, leak_luma: np.ndarray, *, layer: str, part: int = 0
):
    """The leak's residual against a located raster, projected onto its holders' codes: one
    block per registry key that made copies of it (the current key first); with the residual
    itself (its pixels used and scale, which do not depend on the key). No blocks when nobody
    received the raster."""
    from leaktrace.engine.match.residual import prepare

    analysis = located.analysis
    per_key = session.holders_by_key(analysis.asset.id)
    if not per_key:
        return [], None
    residual = prepare(
        analysis.reference_luma,
        analysis.detection_mask,
        leak_luma,
        located.registration.homography,
        analysis.keying.layout.layers[0].cols,
        local_warp=located.registration.local_warp,
    )
    blocks = keyed_blocks(analysis, residual, per_key, layer=layer, part=part, origin=located)
    return blocks, residual


def keyed_blocks(analysis, residual, per_key, *, layer: str, part: int, origin) -> list[Block]:
    """One block per registry key among ``per_key`` (:meth:`Session.holders_by_key`): the one
    residual projected onto that key's pattern, scored against those holders' codes."""
    blocks = []
    for holders in per_key:
        keying = rekeyed(analysis.keying, holders.key)
        blocks.append(
            Block(
                analysis.asset,
                layer,
                part,
                residual.project(keying).y,
                list(holders.ids),
                packed_codes(keying, holders.ids, holders.codes),
                decoys=keying.decoy_codes,
                keyed_code=lambda rid, k=keying: np.packbits(k.recipient_code(rid) > 0).tobytes(),
                origin=origin,
                key_id=holders.key_id,
            )
        )
    return blocks


def rekeyed(keying: AssetKeying, key: bytes) -> AssetKeying:
    """The same asset's pattern geometry under another registry key (a copy made before or
    after a rotation)."""
    return keying if keying.key == key else replace(keying, key=key)


def read_picture(
    session: Session,
    path: Path,
    data: bytes,
    views: Mapping[str, ViewReader],
    stills: Sequence[StillReader] = (),
) -> Findings:
    """The findings for a leaked picture (see the module's docstring)."""
    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.media.image.files import load_display_rgb

    leak_rgb = load_display_rgb(data, name=str(path))
    findings = Findings({"leak": {"width": leak_rgb.shape[1], "height": leak_rgb.shape[0]}})
    if min(leak_rgb.shape[:2]) < MIN_LEAK_SIDE:
        findings.outcome = Outcome(
            "unknown", "the image is too small to identify (under 32 pixels on a side)"
        )
        return findings
    leak_luma = luminance(leak_rgb)
    verified, failure = find_assets(
        session.registry,
        leak_rgb,
        leak_luma,
        findings.evidence,
        kinds={"image", *views},
        view_kinds=views,
        on_candidate=lambda asset: session.prefetch(asset.id),
    )
    if not verified:
        findings.outcome = _not_verified(failure)
        for still in stills:
            found = still(session, path, leak_rgb, leak_luma)
            if found is None:
                continue
            findings.evidence.update(found.evidence)
            findings.groups.extend(found.groups)
            if found.groups:
                findings.outcome = None
            elif found.outcome is not None and findings.outcome.verdict == "unknown":
                findings.outcome = found.outcome
        return findings
    for located in verified:
        kind = located.asset.kind
        view = views.get(kind)
        blocks, projection = raster_blocks(session, located, leak_luma, layer="image")
        if not blocks:
            continue
        extra = ViewEvidence("image") if view is None else view(session, located, leak_luma, blocks)
        for block in blocks:
            block.layer = extra.layer
        findings.groups.append(
            Group(
                located.asset,
                [*blocks, *extra.blocks],
                describe=_describer(located, projection, extra),
            )
        )
    if not findings.groups:
        asset = verified[0].asset
        findings.outcome = Outcome(
            "inconclusive",
            f"asset {asset.id} was registered but no copy of it was ever distributed",
            asset,
            {"registration": verified[0].registration.to_dict()},
        )
    return findings


def _not_verified(failure: Located | None) -> Outcome:
    if failure is None or failure.registration.ncc < UNRELATED_NCC:
        evidence = {}
        if failure is not None:
            evidence["closest_candidate"] = {
                "asset": failure.asset.id,
                "registration": failure.registration.to_dict(),
            }
        return Outcome("unknown", "the image matches no registered asset", None, evidence)
    asset = failure.asset
    return Outcome(
        "inconclusive",
        f"asset {asset.id} is a candidate, but the alignment is unverified: "
        f"{failure.registration.reason}",
        asset,
        {"registration": failure.registration.to_dict()},
    )


def _describer(located: Located, projection, extra: ViewEvidence):
    def describe(decision) -> dict:
        lines = {
            "asset_found_by": located.found_by,
            "registration": located.registration.to_dict(),
            "pixels_used": projection.pixels_used,
            "scale": round(projection.scale, 4),
            "code_bits": located.analysis.keying.layout.code_bits,
        }
        lines.update(extra.evidence)
        if len(decision.layers) > 1:
            lines.update(
                layer_scores=decision.by_layer,
                decided_by=decision.statistic,
                statistics_compared=decision.tests,
            )
        return lines

    return describe
