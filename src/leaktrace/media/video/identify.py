"""Reading a leaked clip, or one frame of a video posted as a picture, as evidence for the one
identification pipeline.

Every registered video the leak may show is tried (:func:`~leaktrace.media.video.detect.measure`:
locate, time alignment, per-frame registration and projection, no recipient's code read); each
one that registers becomes one group whose single block is the sum of the frames' projections.
The decision then scores every (video, recipient) pair exactly as it scores an image's.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from leaktrace.errors import InputError, RegistryError
from leaktrace.media.video.detect import Measurement, VideoReference, measure, read_clip
from leaktrace.media.video.marking import fingerprint_blob_names
from leaktrace.pipeline.evidence import Block, Findings, Group, Outcome, packed_codes

__all__ = ["MAX_VIDEOS", "frame_rgb_at", "match_pictures", "read_frame_picture", "read_video"]

#: Registered videos tried per leak (newest registrations are not favoured: by id). Each costs
#: a hash comparison over its frames and feature matching against its key frames.
MAX_VIDEOS = 64

_REFERENCES: OrderedDict[tuple, VideoReference] = OrderedDict()
_REFERENCES_KEPT = 4
_LOCK = threading.Lock()


def load_reference(registry, asset) -> VideoReference:
    """The registered video as detection needs it. The stored original is checked against its
    SHA-256 once per process (it is decoded by path, frame by frame, at every identify)."""
    cache_key = (asset.sha256, json.dumps(asset.params, sort_keys=True))
    with _LOCK:
        cached = _REFERENCES.get(cache_key)
        if cached is not None:
            _REFERENCES.move_to_end(cache_key)
            return cached
    from leaktrace.media.video.analysis import file_sha256

    path = registry.store.path(asset.sha256)
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise RegistryError(
            f"the originals store lacks the video {asset.sha256} ({exc.strerror or exc}): "
            "was it moved or deleted?"
        ) from None
    if digest != asset.sha256:
        raise RegistryError(
            f"the original video {asset.sha256} in the originals store is corrupt: its content "
            "no longer matches its SHA-256"
        )
    blobs = {}
    for name, stored in fingerprint_blob_names(asset.sha256).items():
        blob = registry.store.get_blob(stored)
        if blob is None:
            raise RegistryError(f"the originals store lacks {stored}: register the video again")
        blobs[name] = blob
    reference = VideoReference.from_params(asset.params, blobs, str(path), asset.sha256)
    with _LOCK:
        _REFERENCES[cache_key] = reference
        while len(_REFERENCES) > _REFERENCES_KEPT:
            _REFERENCES.popitem(last=False)
    return reference


@contextmanager
def _on_disk(path: Path, data: bytes):
    """A path holding ``data``: the leak's own when it is there unchanged, else a temporary
    copy (PyAV reads files)."""
    try:
        same = path.is_file() and path.stat().st_size == len(data)
    except OSError:
        same = False
    if same:
        yield path
        return
    fd, temp = tempfile.mkstemp(prefix="leaktrace-leak-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield Path(temp)
    finally:
        os.unlink(temp)


def read_video(session, path: Path, data: bytes) -> Findings:
    """The findings for a leaked clip: its facts, and one group per registered video it shows."""
    from leaktrace.media.video.probe import probe

    with _on_disk(path, data) as local:
        # Leaks are often misnamed by whoever downloaded them: the content decides, not the name.
        info = probe(local, check_extension=False)
        samples = read_clip(local)
    findings = Findings(
        {
            "leak": {
                "width": info.display_size[1],
                "height": info.display_size[0],
                "codec": info.codec,
                "duration_s": round(info.duration_s, 3),
                "frame_rate": round(float(info.frame_rate), 3),
                "frames_sampled": len(samples),
            }
        }
    )
    found = _video_groups(session, samples, findings.evidence)
    findings.groups.extend(found.groups)
    findings.outcome = found.outcome
    if not findings.groups and findings.outcome is None:
        findings.outcome = Outcome("unknown", "the clip matches no registered video")
    return findings


def read_frame_picture(session, path: Path, leak_rgb: np.ndarray, leak_luma: np.ndarray):
    """A picture no registered image explains, read as one frame of a registered video; None
    when no video is registered (a photo's identify then costs one query more)."""
    if not session.registry.list_assets("video"):
        return None
    evidence: dict = {}
    found = _video_groups(session, [(0.0, np.asarray(leak_luma, np.float32))], evidence)
    found.evidence.update(evidence)
    return found


def _video_groups(session, samples, evidence: dict) -> Findings:
    registry = session.registry
    found = Findings()
    tried = []
    for asset in registry.list_assets("video")[:MAX_VIDEOS]:
        reference = load_reference(registry, asset)
        per_key = session.holders_by_key(asset.id)
        keying = reference.keying(per_key[0].key if per_key else registry.key)
        measured = measure(reference, keying, samples)
        tried.append({"asset": asset.id, "located": measured.located})
        if not measured.located:
            continue
        if not measured.per_frame:
            if found.outcome is None:
                found.outcome = Outcome(
                    "inconclusive",
                    f"video {asset.id} is a candidate, but {measured.reason}",
                    asset,
                    {"video": _frames_evidence(measured)},
                )
            continue
        if not per_key:
            found.outcome = Outcome(
                "inconclusive",
                f"video {asset.id} was registered but no copy of it was ever distributed",
                asset,
                {"video": _frames_evidence(measured)},
            )
            continue
        for n, holders in enumerate(per_key):
            if n:  # copies made under another key (a rotation): that key's pattern, measured
                keying = reference.keying(holders.key)
                measured = measure(reference, keying, samples)
                if not measured.per_frame:
                    continue
            ids = list(holders.ids)
            block = Block(
                asset,
                "video",
                -1,
                measured.total,
                ids,
                packed_codes(keying, ids, holders.codes),
                decoys=keying.decoy_codes,
                keyed_code=lambda rid, k=keying: np.packbits(k.recipient_code(rid) > 0).tobytes(),
                origin=measured,
                key_id=holders.key_id,
            )
            found.groups.append(Group(asset, [block], describe=_describer(keying, measured)))
    evidence["videos_tried"] = tried
    if found.groups:
        found.outcome = None
    return found


def _frames_evidence(measured: Measurement) -> dict:
    span = measured.span
    return {
        "frames_used": len(measured.per_frame),
        "matched_span_s": [round(span[0], 3), round(span[1], 3)] if span else None,
        "time_map": measured.time_map.to_dict() if measured.time_map else None,
        "frames": [frame.to_dict() for frame in measured.frames],
    }


def _describer(keying, measured: Measurement):
    def describe(decision) -> dict:
        scores = decision.scores
        code = np.asarray(keying.recipient_code(scores.best), dtype=np.float64)
        trace = measured.score_frames(code, float(scores.null.std))
        used = [frame for frame in measured.frames if frame.pixels_used]
        # The frame drawn beside its original in the report: the one that shows most of the mark.
        shown = int(np.argmax([frame.z or 0.0 for frame in used]))
        return {
            "asset_found_by": "video fingerprint (frame hashes, key-frame features)",
            "video": _frames_evidence(measured),
            "running_scores": [
                {"label": f"{frame.leak_time:.2f} s", "z": round(z, 3)}
                for frame, z in zip(used, trace, strict=True)
            ],
            "compared_frame": {
                "leak_time_s": round(used[shown].leak_time, 4),
                "original_time_s": round(float(used[shown].original_time or 0.0), 4),
                "homography": measured.homographies[shown].tolist(),
            },
            "code_bits": keying.layout.code_bits,
        }

    return describe


def frame_rgb_at(
    path: str | os.PathLike[str], seconds: float, *, from_first: bool = True
) -> np.ndarray:
    """The displayed RGB frame shown at ``seconds`` (after the first frame, or on the
    stream's own clock)."""
    import av

    from leaktrace.media.video.io import display_from_stored

    best = None
    try:
        with av.open(str(path)) as container:
            origin = None
            for frame in container.decode(container.streams.video[0]):
                at = float(frame.time or 0.0)
                if origin is None:
                    origin = at if from_first else 0.0
                if best is None or abs(at - origin - seconds) < best[0]:
                    best = (abs(at - origin - seconds), frame)
                if at - origin > seconds + 0.5:
                    break
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a readable video ({exc.strerror or exc})") from exc
    if best is None:
        raise InputError(f"{path}: no frame could be decoded")
    frame = best[1]
    rgb = display_from_stored(frame.to_ndarray(format="rgb24"), int(frame.rotation or 0) % 360)
    return np.ascontiguousarray(rgb)


def middle_frame_rgb(path: Path) -> np.ndarray:
    """The clip's middle frame (what the report shows of a leak nothing was matched in)."""
    from leaktrace.media.video.probe import probe

    return frame_rgb_at(path, probe(path, check_extension=False).duration_s / 2)


def match_pictures(registry, result, path: Path, data: bytes):
    """(leak picture, original frame, homography) for the report of a leak matched to a
    registered video; None for anything else."""
    compared = result.evidence.get("compared_frame")
    if compared is None or result.asset is None or result.asset.kind != "video":
        return None
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.media.signatures import looks_like_video

    if looks_like_video(data):
        with _on_disk(path, data) as local:
            leak = frame_rgb_at(local, float(compared["leak_time_s"]), from_first=False)
    else:
        leak = load_display_rgb(data, name=str(path))
    original = frame_rgb_at(
        registry.store.path(result.asset.sha256), float(compared["original_time_s"])
    )
    return leak, original, np.asarray(compared["homography"], dtype=np.float64)
