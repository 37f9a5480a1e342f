"""Whose copy a leaked clip (or one frame of it) was: the detection core, without a registry.

For a sampled set of leak frames: find the original frame each one shows
(:mod:`leaktrace.media.video.align`), register it onto that frame
(:func:`leaktrace.engine.match.registration.register`), take the matched-filtered residual
(:func:`leaktrace.engine.match.residual.prepare`) and project it onto the code groups of the segment
patterns that frame carried, weighted as the marker weighted them. The projections of all frames
add up into one vector ``y`` (every segment carries the same recipient code), so an innocent
recipient's score ``code . y / |y|`` is still exactly N(0, 1) given ``y``, and
:func:`leaktrace.engine.watermark.detect.attribute` decides with its decoys and Bonferroni correction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from leaktrace.engine.match.hashing import popcount64
from leaktrace.engine.match.registration import (
    LazyFeatures,
    Registration,
    match_features,
    register,
    register_from,
)
from leaktrace.engine.match.residual import prepare
from leaktrace.engine.watermark.detect import DEFAULT_BOUND, DEFAULT_DECOYS, Attribution, attribute
from leaktrace.engine.watermark.pattern import CellSampler, project_cells
from leaktrace.errors import InputError
from leaktrace.media.video.align import TimeMap, align_frames, thumbnail_scores
from leaktrace.media.video.analysis import frame_mask
from leaktrace.media.video.fingerprint import frame_signature
from leaktrace.media.video.io import read_luma
from leaktrace.media.video.reference import VideoReference, original_lumas
from leaktrace.media.video.schedule import VideoKeying

MAX_SAMPLES = 12
CANDIDATES = 3
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".avif", ".tif", ".tiff", ".bmp")


@dataclass
class FrameEvidence:
    """One sampled leak frame."""

    leak_time: float
    original_index: int | None
    original_time: float | None = None
    registration: str | None = None
    ncc: float = 0.0
    pixels_used: int = 0
    z: float | None = None  # the best recipient's score from this frame alone

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class VideoDetection:
    """The outcome for one leak against one registered video."""

    verdict: str  # "attributed", "inconclusive" or "unknown"
    reason: str | None
    scores: Attribution | None
    frames: list[FrameEvidence] = field(default_factory=list)
    z_trace: list[float] = field(default_factory=list)  # best recipient, frames accumulated
    time_map: TimeMap | None = None
    matched_span: tuple[float, float] | None = None  # original seconds

    @property
    def best(self) -> str | None:
        return self.scores.best if self.scores is not None else None

    @property
    def z(self) -> float | None:
        return float(self.scores.z[0]) if self.scores is not None and len(self.scores.z) else None

    @property
    def p_value(self) -> float | None:
        return (
            float(self.scores.p_family[0])
            if self.scores is not None and len(self.scores.z)
            else None
        )

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "best": self.best,
            "z": self.z,
            "p_value": self.p_value,
            "significant": list(self.scores.significant) if self.scores is not None else [],
            "frames": [f.to_dict() for f in self.frames],
            "z_trace": [round(z, 3) for z in self.z_trace],
            "time_map": self.time_map.to_dict() if self.time_map else None,
            "matched_span_s": list(self.matched_span) if self.matched_span else None,
        }


def read_leak(
    path: str | os.PathLike[str], *, samples: int = MAX_SAMPLES
) -> list[tuple[float, np.ndarray]]:
    """Evenly spaced (time, luma) samples of a leaked clip, or the one picture of an image."""
    path = Path(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from leaktrace.engine.watermark.mask import luminance
        from leaktrace.media.image.files import load_display_rgb

        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        return [(0.0, luminance(load_display_rgb(data, name=str(path))))]
    return read_clip(path, samples=samples)


def read_clip(
    path: str | os.PathLike[str], *, samples: int = MAX_SAMPLES
) -> list[tuple[float, np.ndarray]]:
    """Evenly spaced (time, luma) samples of a leaked clip, whatever its name says."""
    import av

    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: has no video stream")
            count = sum(1 for p in container.demux(container.streams.video[0]) if p.size)
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a readable video ({exc.strerror or exc})") from exc
    every = max(1, count // samples)
    frames = list(read_luma(path, every=every))
    if len(frames) > samples:  # spread the surplus evenly rather than cutting the end off
        keep = np.linspace(0, len(frames) - 1, samples).round().astype(int)
        frames = [frames[i] for i in keep]
    if not frames:
        raise InputError(f"{path}: no frame could be decoded")
    return frames


def _hash_candidates(
    reference: VideoReference, luma: np.ndarray, _features: LazyFeatures, _found: list
) -> list[tuple[int, str]]:
    """Original frames the leak frame may show, nearest by perceptual hash."""
    fp = reference.fingerprint
    _, phash, dhash = frame_signature(luma)
    distance = popcount64(fp.phashes ^ np.uint64(phash)).astype(int) + popcount64(
        fp.dhashes ^ np.uint64(dhash)
    ).astype(int)
    found: list[tuple[int, str]] = []
    for index in np.argsort(distance, kind="stable"):
        if distance[index] > 28 or len(found) >= 2:
            break
        if all(abs(int(index) - f) > 5 for f, _ in found):
            found.append((int(index), "perceptual hash"))
    return found


def _feature_candidates(
    reference: VideoReference, _luma, features: LazyFeatures, found: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    """The best key frames by local features (crops, stories, recordings change the global
    hash), other than frames near those already ``found``."""
    fp = reference.fingerprint
    ranked = []
    for key_index, feats in zip(fp.key_frames, fp.features, strict=True):
        _, inliers = match_features(feats, features.get())
        if inliers >= 8:
            ranked.append((inliers, key_index))
    ranked.sort(reverse=True)
    more: list[tuple[int, str]] = []
    for _, index in ranked[:CANDIDATES]:
        if all(abs(index - f) > 5 for f, _ in found + more):
            more.append((index, "key-frame features"))
    return more


# A keyed cell layout no frame ever carries: the projection of a residual onto it measures the
# residual's own energy, with no mark in it.
_UNUSED_SEGMENT = -1
# A hypothesis whose residual holds this much more energy in the carried layout than in the
# unused one shows a mark (whoever's it is); below it the alignment's own rank decides.
MIN_ENERGY_RATIO = 1.15


def _same_geometry(a: Registration, b: Registration, shape: tuple[int, int]) -> bool:
    """Two alignments that put the original's corners within half a leak pixel of each other,
    neither refined tile by tile (a bending phone view is registered frame by frame)."""
    if a.local_warp is not None or b.local_warp is not None:
        return False
    height, width = shape
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float).T
    spots = []
    for h in (a.homography, b.homography):
        inverse = np.linalg.inv(h) @ corners
        spots.append(inverse[:2] / inverse[2])
    back = a.homography @ np.vstack([spots[1], np.ones(4)])
    return bool(np.abs(back[:2] / back[2] - corners[:2]).max() < 0.5)


def _project_frame(
    reference, keying, original, luma, registration, index, *, unused=True, sampler=None
):
    """The frame's projection onto the code groups of the segments it carried, and (when
    ``unused``) onto the never-used layout; Nones when nothing could be compared. Also the
    :class:`CellSampler` of the frame's positions: a frame held in the same geometry as this
    one may pass it back as ``sampler`` (its positions are the same)."""
    mask = frame_mask(original) * np.float32(reference.gains[index])
    weighted = prepare(
        original,
        mask,
        luma,
        registration.homography,
        reference.layout.layers[0].cols,
        local_warp=registration.local_warp,
    )
    if weighted.values.size == 0:
        return None, None, 0, None
    if sampler is None or sampler.size != weighted.rows.size:
        sampler = CellSampler(keying.layout, weighted.rows, weighted.cols)
    # Every segment's layout groups the same cells differently: the pixels are collected onto
    # the cells once, whatever the number of layouts scored.
    cells = sampler.cell_sums(weighted.values)
    y = np.zeros(keying.layout.code_bits)
    for segment, weight in reference.schedule.weights(index):
        y += weight * project_cells(keying.segment(segment), cells)
    spare = project_cells(keying.segment(_UNUSED_SEGMENT), cells) if unused else None
    return y, spare, weighted.pixels_used, sampler


@dataclass
class _Located:
    """The sample registered first, onto original frame ``index``, and its projection."""

    sample: int
    index: int
    registration: Registration
    y: np.ndarray
    pixels_used: int


def _locate(
    reference: VideoReference, keying: VideoKeying, samples: list[tuple[float, np.ndarray]]
) -> _Located | None:
    """One sample verifiably registered onto the original (the middle ones first).

    Smooth camera moves make other frames of the same shot register onto a leak frame too (a
    zoomed frame is a scaled copy of its neighbour), and only the right frame and alignment line
    the mark up. Which one does is asked of the residual without looking at any recipient's
    code: the alignment whose residual carries more energy in the segment layouts the frame was
    marked with than in a layout never used. Choosing by ``y`` alone keeps every innocent
    code's score exactly N(0, 1) given ``y``. A candidate aligned beyond doubt (``clear``) whose
    residual shows the mark ends the search: the other candidates are frames further away.
    """
    order = sorted(range(len(samples)), key=lambda i: abs(i - (len(samples) - 1) / 2))
    for attempt, sample in enumerate(order[:3]):
        luma = samples[sample][1]
        features = LazyFeatures(luma)
        candidates: list[tuple[int, str]] = []
        verified: list[tuple[float, float, _Located]] = []
        # The key frames are matched only when no frame found by its hash is clearly it.
        for batch in (_hash_candidates, _feature_candidates):
            found_now = batch(reference, luma, features, candidates)
            candidates += found_now
            lumas = original_lumas(reference, [c for c, _ in found_now])
            for index, _ in found_now:
                if index not in lumas:
                    continue
                result = register(
                    lumas[index], luma, leak_features=features, templates=attempt == 0
                )
                if not result.verified:
                    continue
                y, unused, used, _ = _project_frame(
                    reference, keying, lumas[index], luma, result, index
                )
                ratio = float(y @ y / max(unused @ unused, 1e-12)) if y is not None else 0.0
                full = 1.0 if result.method == "full-frame" else 0.0
                found = _Located(sample, index, result, y, used)
                if ratio >= MIN_ENERGY_RATIO and _clear(result):
                    return found
                verified.append((ratio, full + result.ncc, found))
        if verified:
            by_energy = max(verified, key=lambda item: item[0])
            if by_energy[0] >= MIN_ENERGY_RATIO:
                return by_energy[2]
            return max(verified, key=lambda item: item[1])[2]
    return None


# An alignment this close to the original leaves no doubt about which frame the leak shows:
# right frames of re-encodes, crops, screen and phone recordings reached edge NCC 0.84-1.0 and
# NCC 0.96-1.0, wrong frames that still verified 0.27-0.49 and at most 0.83.
CLEAR_EDGE_NCC = 0.8


def _clear(result: Registration) -> bool:
    return result.edge_ncc >= CLEAR_EDGE_NCC and result.ncc >= 0.95


def detect(
    reference: VideoReference,
    samples: list[tuple[float, np.ndarray]],
    key: bytes,
    recipient_ids: list[str],
    *,
    codes: np.ndarray | None = None,
    bound: float = DEFAULT_BOUND,
    decoys: int = DEFAULT_DECOYS,
    family_size: int | None = None,
) -> VideoDetection:
    """Attribute leak frames ``samples`` ((seconds, display luma) pairs) to a recipient.

    Parameters
    ----------
    reference : VideoReference
        The registered original.
    samples : list of (float, ndarray)
        Leak frames and their times in the leak (:func:`read_leak`).
    key : bytes
        The registry's secret key.
    recipient_ids : list of str
        Recipients who received this video.
    codes : ndarray, optional
        Their codes (int8 ±1 or packed uint8), derived from the key when absent.
    bound, decoys, family_size
        As for :func:`leaktrace.engine.watermark.detect.attribute`.
    """
    keying = reference.keying(key)
    if codes is None:
        codes = (
            np.stack([keying.recipient_code(r) for r in recipient_ids])
            if recipient_ids
            else np.zeros((0, keying.layout.code_bits), np.int8)
        )
    measured = measure(reference, keying, samples)
    evidence, per_frame, time_map = measured.frames, measured.per_frame, measured.time_map
    if not measured.located:
        return VideoDetection("unknown", measured.reason, None, evidence)
    if not per_frame:
        return VideoDetection("inconclusive", measured.reason, None, evidence, time_map=time_map)
    total = measured.total
    result = attribute(
        total,
        codes,
        list(recipient_ids),
        keying.decoy_codes(decoys),
        bound=bound,
        family_size=family_size,
    )
    trace: list[float] = []
    if result.best is not None:
        best_code = np.asarray(keying.recipient_code(result.best), dtype=np.float64)
        trace = measured.score_frames(best_code, result.null.std)
    span = measured.span
    verdict = "attributed" if result.attributed else "inconclusive"
    reason = (
        None
        if result.attributed
        else f"no recipient is significant: the best, {result.best}, has a false-accusation probability of {float(result.p_family[0]):.2g}, above the bound {bound:.0e}"
        if result.best
        else "nobody received this video"
    )
    return VideoDetection(verdict, reason, result, evidence, trace, time_map, span)


@dataclass
class Measurement:
    """A leak registered frame by frame onto one registered video, before any code is read.

    ``per_frame`` holds each used frame's projection onto the code groups (in the order of the
    frames with ``pixels_used``); their sum ``total`` is the statistic's raw material.
    """

    located: bool
    reason: str | None
    frames: list[FrameEvidence]
    per_frame: list[np.ndarray] = field(default_factory=list)
    time_map: TimeMap | None = None
    homographies: list[np.ndarray] = field(default_factory=list)  # original -> leak, per used frame

    @property
    def total(self) -> np.ndarray:
        return np.sum(self.per_frame, axis=0)

    @property
    def span(self) -> tuple[float, float] | None:
        """The original's time span the used frames show, seconds."""
        times = [
            e.original_time
            for e in self.frames
            if e.pixels_used and e.original_index is not None and e.original_time is not None
        ]
        return (min(times), max(times)) if times else None

    def score_frames(self, code: np.ndarray, null_std: float) -> list[float]:
        """Sets each used frame's ``z`` for ``code`` (±1) and returns the running score as
        frames accumulate."""
        trace: list[float] = []
        running = np.zeros(code.shape, dtype=np.float64)
        used = [e for e in self.frames if e.pixels_used]
        for item, y in zip(used, self.per_frame, strict=False):
            norm = float(np.linalg.norm(y))
            item.z = float(code @ y / norm / null_std) if norm else 0.0
            running += y
            norm = float(np.linalg.norm(running))
            trace.append(float(code @ running / norm / null_std) if norm else 0.0)
        return trace


def measure(
    reference: VideoReference, keying: VideoKeying, samples: list[tuple[float, np.ndarray]]
) -> Measurement:
    """Locate the leak in the original, map its time, and project every usable sample onto the
    code groups of the segments its original frame carried. Reads no recipient's code, so any
    statistic built from the result keeps the exact innocent null."""
    located = _locate(reference, keying, samples)
    if located is None:
        return Measurement(
            False,
            "no leak frame could be registered onto the original",
            [FrameEvidence(t, None) for t, _ in samples],
        )
    first = located.registration
    leak_times = [t for t, _ in samples]
    scores = [
        thumbnail_scores(reference.fingerprint, luma, first.homography) for _, luma in samples
    ]
    time_map, indices = align_frames(reference.fingerprint, leak_times, scores)
    if len(samples) == 1:
        indices = [int(np.argmax(scores[0]))] if scores[0].max() > 0.5 else [None]
    lumas = original_lumas(reference, [i for i in indices if i is not None])
    evidence: list[FrameEvidence] = []
    per_frame: list[np.ndarray] = []
    homographies: list[np.ndarray] = []
    # Re-encodes, crops and stories keep one geometry for the whole clip: once two frames in a
    # row register to the same homography, the rest reuse it (and the positions it samples).
    # The next frame is first tried from the last alignment before any search. (An alignment
    # only decides how much of the mark is seen; the innocent null holds for any projection.)
    checked: list[Registration] = []
    static: Registration | None = None
    held_sampler = None
    for number, ((tau, luma), index) in enumerate(zip(samples, indices, strict=True)):
        item = FrameEvidence(tau, index)
        evidence.append(item)
        if index is None:
            continue
        original = lumas.get(index)
        if original is None:
            continue
        item.original_time = float(reference.fingerprint.times[index])
        if number == located.sample and index == located.index and static is None:
            result = first  # registered and projected already
            item.registration, item.ncc = result.method, float(result.ncc)
            item.pixels_used = located.pixels_used
            per_frame.append(located.y)
            homographies.append(np.asarray(result.homography, dtype=np.float64))
            if checked and _same_geometry(checked[-1], result, luma.shape):
                static = result
            checked.append(result)
            continue
        if static is not None:
            result = static
            item.registration, item.ncc = f"{result.method} (held)", float(result.ncc)
        else:
            result = _register_frame(original, luma, checked[-1] if checked else first)
            item.registration, item.ncc = result.method, float(result.ncc)
            if not result.verified:
                continue
            if checked and _same_geometry(checked[-1], result, luma.shape):
                static = result
            checked.append(result)
        y, _, item.pixels_used, sampler = _project_frame(
            reference,
            keying,
            original,
            luma,
            result,
            index,
            unused=False,
            sampler=held_sampler if result is static else None,
        )
        if result is static:
            held_sampler = sampler
        if y is not None:
            per_frame.append(y)
            homographies.append(np.asarray(result.homography, dtype=np.float64))
    reason = None if per_frame else "no sampled frame could be aligned and verified"
    return Measurement(True, reason, evidence, per_frame, time_map, homographies)


def _register_frame(
    original: np.ndarray, luma: np.ndarray, previous: Registration | None
) -> Registration:
    """A sampled frame registered onto its original frame: from the previous frame's alignment
    when that still holds (the leak's geometry rarely changes), else by a full search."""
    if previous is not None and not previous.mirrored:
        method = previous.method.removesuffix(" (tracked)")
        result = register_from(original, luma, previous.homography, f"{method} (tracked)")
        if result.verified:
            return result
    result = register(original, luma, templates=False)
    return result if result.verified else register(original, luma)


def detect_file(
    reference: VideoReference,
    leak_path: str | os.PathLike[str],
    key: bytes,
    recipient_ids: list[str],
    *,
    samples: int = MAX_SAMPLES,
    **kwargs,
) -> VideoDetection:
    """:func:`detect` on a leaked video file or a single frame saved as a picture."""
    return detect(reference, read_leak(leak_path, samples=samples), key, recipient_ids, **kwargs)
