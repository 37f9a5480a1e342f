"""Registering a video and writing its recipients' copies.

The video is an asset of kind ``video`` whose SHA-256 is the file's. Its parameters are
:meth:`~leaktrace.media.video.analysis.VideoAnalysis.params` (pattern, segment schedule, gains,
probe facts, duration and frame rate); its per-frame signatures and key-frame features are two
blobs beside the original (:func:`fingerprint_blob_names`). The source is decoded once, then
each recipient's copy is encoded straight into a temporary file beside its target and renamed:
a copy is never held in memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leaktrace.media.video.analysis import VideoAnalysis, analyse_video
from leaktrace.registry.models import Asset

__all__ = ["PreparedVideo", "fingerprint_blob_names", "prepare_video", "register_video"]


def fingerprint_blob_names(sha256: str) -> dict[str, str]:
    """The store's names for the fingerprint's blobs (:meth:`VideoFingerprint.blobs` keys)."""
    return {
        "frames.npz": f"{sha256}.video-frames.npz",
        "keyframe-features.npz": f"{sha256}.video-keyframes.npz",
    }


def register_video(registry, path: Path, data: bytes, analysis: VideoAnalysis) -> Asset:
    """Record the video asset (idempotent by content), its original and its fingerprint."""
    existing = registry.find_asset_by_sha256(analysis.sha256)
    if existing is not None:
        return existing
    from leaktrace.media.image.asset import asset_id_for

    fingerprint = analysis.fingerprint
    registry.store.put(data)
    names = fingerprint_blob_names(analysis.sha256)
    for name, blob in fingerprint.blobs().items():
        registry.store.put_blob(names[name], blob)
    height, width = analysis.layout.height, analysis.layout.width
    asset = Asset(
        id=asset_id_for(analysis.sha256),
        sha256=analysis.sha256,
        file_name=path.name,
        kind="video",
        width=width,
        height=height,
        # The first frame's hashes: the registry's hash table holds one pair per asset.
        phash=int(fingerprint.phashes[0]),
        dhash=int(fingerprint.dhashes[0]),
        params=analysis.params(),
    )
    return registry.add_asset(asset)


@dataclass
class PreparedVideo:
    """A video decoded and analysed once; each recipient's copy is one encode."""

    asset: Asset
    analysis: VideoAnalysis
    marker: object  # leaktrace.media.video.mark.VideoMarker

    def __repr__(self) -> str:  # the marker holds the key
        return f"PreparedVideo({self.asset.id!r})"

    @property
    def asset_id(self) -> str:
        return self.asset.id

    def write_copy(self, recipient_id: str, output: Path) -> list[tuple[str, bytes | None]]:
        """Encode the recipient's copy into ``output`` (atomically) and return
        ``(asset id, packed code)`` of what it carries."""
        self.marker.mark(recipient_id, output)
        code = self.marker.keying.recipient_code(recipient_id)
        return [(self.asset.id, np.packbits(code > 0).tobytes())]

    def copy_for(self, recipient_id: str):
        raise TypeError("a video copy is written to a file: use write_copy")

    def close(self) -> None:
        """Remove the decoded frames' temporary files."""
        self.analysis.close()


def prepare_video(registry, path: Path, data: bytes) -> PreparedVideo:
    """Probe and decode the video once (refusing what cannot be marked before anything is
    recorded), then register it."""
    from leaktrace.errors import InputError
    from leaktrace.media.video.mark import VideoMarker

    analysis = analyse_video(path)
    try:
        if analysis.sha256 != hashlib.sha256(data).hexdigest() or not analysis.timings:
            raise InputError(f"{path}: the file changed while it was read")
        asset = register_video(registry, path, data, analysis)
        return PreparedVideo(asset, analysis, VideoMarker(analysis, registry.key))
    except BaseException:
        analysis.close()
        raise
