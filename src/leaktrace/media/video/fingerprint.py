"""What identification needs to know about a registered video, computed once at registration.

Per frame: a tiny display-frame thumbnail (for time alignment under any geometry, see
:mod:`leaktrace.media.video.align`) and pHash/dHash (:mod:`leaktrace.engine.match.hashing`: which video,
which frame, for full-frame leaks and single frames). Per key frame (every couple of seconds and
the first frame of each shot): SIFT features (:func:`leaktrace.engine.match.registration.compute_features`)
for crops, stories and recordings whose global hashes changed. Everything is JSON-able params plus
content-addressed blobs (:meth:`VideoFingerprint.blobs`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from leaktrace.engine.match.hashing import perceptual_hashes
from leaktrace.engine.match.registration import Features, compute_features

THUMB_LONG = 64
HASH_SIDE = 256
KEY_FRAME_S = 1.0
FINGERPRINT_VERSION = "video-fingerprint-v1"


def thumbnail_size(height: int, width: int) -> tuple[int, int]:
    """(height, width) of a frame's thumbnail: ``THUMB_LONG`` on the long side."""
    factor = THUMB_LONG / max(height, width)
    return max(4, round(height * factor)), max(4, round(width * factor))


def frame_signature(luma: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Thumbnail (uint8), pHash and dHash of one display-frame luma image (0..255).

    One area resize to ``HASH_SIDE`` feeds both the hashes and the thumbnail: an area resize
    of a full frame is most of the cost, and the thumbnail of the small image is the same
    average."""
    import cv2

    height, width = luma.shape
    t_h, t_w = thumbnail_size(height, width)
    luma = np.asarray(luma, dtype=np.float32)
    factor = min(1.0, HASH_SIDE / max(height, width))
    small = luma
    if factor < 1.0:
        size = (max(t_w, round(width * factor)), max(t_h, round(height * factor)))
        small = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    thumb = cv2.resize(small, (t_w, t_h), interpolation=cv2.INTER_AREA)
    gray = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    phash, dhash = perceptual_hashes(np.repeat(gray[..., None], 3, axis=2))
    return np.clip(thumb + 0.5, 0, 255).astype(np.uint8), phash, dhash


@dataclass
class VideoFingerprint:
    """Per-frame signatures and key-frame features of a video, display frame."""

    height: int
    width: int
    times: np.ndarray  # (N,) float64 seconds from the first frame
    phashes: np.ndarray  # (N,) uint64
    dhashes: np.ndarray  # (N,) uint64
    thumbs: np.ndarray  # (N, th, tw) uint8
    cuts: list[int] = field(default_factory=list)  # first frames of new shots
    key_frames: list[int] = field(default_factory=list)
    features: list[Features] = field(default_factory=list)

    @property
    def frame_count(self) -> int:
        return int(self.times.size)

    def frame_at(self, seconds: float) -> int:
        """Index of the frame shown at ``seconds`` (from the first frame)."""
        index = int(np.searchsorted(self.times, seconds + 1e-9, side="right")) - 1
        return min(max(index, 0), self.frame_count - 1)

    def to_params(self) -> dict:
        return {
            "version": FINGERPRINT_VERSION,
            "height": self.height,
            "width": self.width,
            "frames": self.frame_count,
            "duration_s": float(self.times[-1] - self.times[0]) if self.frame_count else 0.0,
            "cuts": list(self.cuts),
            "key_frames": list(self.key_frames),
        }

    def blobs(self) -> dict[str, bytes]:
        """Content for the registry's blob store: frame signatures and key-frame features."""
        frames = io.BytesIO()
        np.savez_compressed(
            frames, times=self.times, phashes=self.phashes, dhashes=self.dhashes, thumbs=self.thumbs
        )
        features = io.BytesIO()
        arrays = {}
        for index, feats in enumerate(self.features):
            arrays[f"points_{index}"] = feats.points
            arrays[f"descriptors_{index}"] = feats.descriptors.astype(np.float16)
        np.savez_compressed(features, **arrays)
        return {"frames.npz": frames.getvalue(), "keyframe-features.npz": features.getvalue()}

    @classmethod
    def from_blobs(cls, params: dict, blobs: dict[str, bytes]) -> VideoFingerprint:
        if params.get("version") != FINGERPRINT_VERSION:
            raise ValueError(f"unknown video fingerprint {params.get('version')!r}")
        with np.load(io.BytesIO(blobs["frames.npz"])) as frames:
            times, phashes, dhashes, thumbs = (
                frames[k] for k in ("times", "phashes", "dhashes", "thumbs")
            )
        features = []
        with np.load(io.BytesIO(blobs["keyframe-features.npz"])) as arrays:
            for index in range(len(params["key_frames"])):
                features.append(
                    Features(
                        arrays[f"points_{index}"], arrays[f"descriptors_{index}"].astype(np.float32)
                    )
                )
        return cls(
            int(params["height"]),
            int(params["width"]),
            times,
            phashes,
            dhashes,
            thumbs,
            list(params["cuts"]),
            list(params["key_frames"]),
            features,
        )


class FingerprintBuilder:
    """Collects a fingerprint frame by frame while a video is decoded once."""

    def __init__(
        self, height: int, width: int, frame_rate: float, *, key_frame_s: float = KEY_FRAME_S
    ):
        self.height, self.width = height, width
        self._every = max(1, round(key_frame_s * frame_rate))
        self._times: list[float] = []
        self._phashes: list[int] = []
        self._dhashes: list[int] = []
        self._thumbs: list[np.ndarray] = []
        self._cuts: list[int] = []
        self._key_frames: list[int] = []
        self._features: list[Features] = []
        self._since_key = 0

    def add(self, seconds: float, luma: np.ndarray) -> bool:
        """Add the next frame's display luma; returns True when it starts a new shot."""
        thumb, phash, dhash = frame_signature(luma)
        index = len(self._times)
        cut = index > 0 and is_cut(self._thumbs[-1], thumb)
        if cut:
            self._cuts.append(index)
        self._times.append(seconds)
        self._phashes.append(phash)
        self._dhashes.append(dhash)
        self._thumbs.append(thumb)
        if index == 0 or cut or self._since_key >= self._every:
            self._key_frames.append(index)
            self._features.append(compute_features(luma))
            self._since_key = 0
        self._since_key += 1
        return cut

    def build(self) -> VideoFingerprint:
        times = np.asarray(self._times, dtype=np.float64)
        times = times - (times[0] if times.size else 0.0)
        return VideoFingerprint(
            self.height,
            self.width,
            times,
            np.asarray(self._phashes, dtype=np.uint64),
            np.asarray(self._dhashes, dtype=np.uint64),
            np.stack(self._thumbs) if self._thumbs else np.zeros((0, 1, 1), np.uint8),
            self._cuts,
            self._key_frames,
            self._features,
        )


def is_cut(previous: np.ndarray, current: np.ndarray) -> bool:
    """A scene cut between two consecutive thumbnails: they no longer correlate, and differ by
    more than a pan or a fade changes in one frame."""
    a = previous.astype(np.float32).ravel()
    b = current.astype(np.float32).ravel()
    mad = float(np.abs(a - b).mean())
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    ncc = float((a * b).sum() / denominator) if denominator > 0 else 1.0
    return ncc < 0.5 and mad > 8.0
