"""Mirrored leaks register as mirrored and are attributed; the tile-by-tile refinement corrects
what a homography cannot (lens barrel, perspective, a local bulge)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from leaktrace import api
from leaktrace.engine.match import refine, registration
from leaktrace.engine.watermark.mask import luminance
from leaktrace.media.image.files import load_display_rgb
from leaktrace.simulate import run_attack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTO = FIXTURES / "photos" / "chelsea.jpg"


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """A registry with one small photo marked for three recipients."""
    tmp = tmp_path_factory.mktemp("flip")
    registry = api.init_registry(str(tmp / "registry"))
    ids = ["alice", "bob", "carol"]
    for rid in ids:
        api.add_recipient(registry, rid, recipient_id=rid)
    api.mark_files(registry, [PHOTO], tmp / "out", recipient_ids=ids)
    return registry, tmp


def _identify(registry, tmp: Path, pixels: np.ndarray, attack: str):
    data, extension = run_attack(attack, pixels, seed=3)
    leak = tmp / f"leak-{attack}{extension}"
    leak.write_bytes(data)
    return api.identify(registry, leak)


@pytest.mark.parametrize("attack", ["flip_h", "mirror_crop_webp"])
def test_mirrored_copy_registers_as_mirrored_and_is_attributed(marked, attack):
    registry, tmp = marked
    found = _identify(registry, tmp, load_display_rgb(tmp / "out" / "bob" / PHOTO.name), attack)
    assert found.verdict == "attributed", found.reason
    assert found.recipient.id == "bob"
    assert [c["id"] for c in found.significant] == ["bob"]
    assert found.evidence["registration"]["mirrored"] is True
    homography = np.array(found.evidence["registration"]["homography"])
    assert np.linalg.det(homography[:2, :2]) < 0


def test_mirrored_unmarked_original_and_unrelated_image_are_not_attributed(marked):
    registry, tmp = marked
    original = _identify(registry, tmp, load_display_rgb(PHOTO), "flip_h")
    assert original.verdict == "inconclusive"
    assert original.evidence["registration"]["mirrored"] is True
    assert original.significant == []
    unrelated = _identify(
        registry, tmp, load_display_rgb(FIXTURES / "unrelated" / "flower.jpg"), "flip_h"
    )
    assert unrelated.verdict == "unknown"


def test_mirrored_descriptors_match_the_flipped_image():
    """Permuting SIFT descriptors must give what SIFT computes on the flipped image."""
    gray = luminance(load_display_rgb(PHOTO))
    width = gray.shape[1]
    mirrored = registration.compute_features(gray).mirrored(width - 1.0)
    flipped = registration.compute_features(np.ascontiguousarray(gray[:, ::-1]))
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(flipped.descriptors, mirrored.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    distance = np.linalg.norm(
        flipped.points[[m.queryIdx for m in good]] - mirrored.points[[m.trainIdx for m in good]],
        axis=1,
    )
    assert (distance < 1.5).sum() > 0.4 * len(flipped.points)


def test_unmirrored_leak_is_not_reported_mirrored():
    gray = luminance(load_display_rgb(PHOTO))
    result = registration.register(gray, cv2.resize(gray, None, fx=0.8, fy=0.8))
    assert result.verified and not result.mirrored


def _distorted(original: np.ndarray, seed: int = 0):
    """``original`` seen in perspective through a barrel lens, with a local bulge (a screen or a
    page that is not flat), and where every leak pixel truly comes from."""
    height, width = original.shape
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    seen = np.float32([[30, 20], [width - 10, 5], [width - 40, height - 15], [5, height - 30]])
    perspective = cv2.getPerspectiveTransform(corners, seen)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    radius = math.hypot(width / 2, height / 2)
    u, v = (xs - cx) / radius, (ys - cy) / radius
    stretch = (1 + 0.05 * (u * u + v * v)) / 1.05
    px, py = cx + u * stretch * radius, cy + v * stretch * radius
    px += 2.0 * np.exp(-((px - 0.3 * width) ** 2 + (py - 0.6 * height) ** 2) / (0.3 * width) ** 2)
    inverse = np.linalg.inv(perspective)
    den = inverse[2, 0] * px + inverse[2, 1] * py + inverse[2, 2]
    true_x = (inverse[0, 0] * px + inverse[0, 1] * py + inverse[0, 2]) / den
    true_y = (inverse[1, 0] * px + inverse[1, 1] * py + inverse[1, 2]) / den
    leak = cv2.remap(
        original,
        true_x.astype(np.float32),
        true_y.astype(np.float32),
        cv2.INTER_CUBIC,
        borderValue=128,
    )
    leak += np.random.default_rng(seed).normal(0, 2, leak.shape).astype(np.float32)
    return leak, true_x, true_y


@pytest.mark.parametrize(
    "source",
    [FIXTURES / "photos" / "rocket.jpg", FIXTURES / "drafts" / "cad_bumper.png"],
    ids=lambda p: p.stem,
)
def test_local_warp_corrects_barrel_perspective_and_bulge(source):
    original = luminance(load_display_rgb(source)).astype(np.float32)
    height, width = original.shape
    leak, true_x, true_y = _distorted(original)
    result = registration.register(original, leak)
    assert result.verified, result.reason
    assert result.local_warp is not None
    inside = (true_x > 5) & (true_x < width - 6) & (true_y > 5) & (true_y < height - 6)
    errors = {}
    for name, warp in (("homography", None), ("warped", result.local_warp)):
        cols, rows = refine.original_coordinates(result.homography, leak.shape, warp)
        error = np.hypot(cols - true_x, rows - true_y)[inside]
        errors[name] = (float(np.median(error)), float(np.percentile(error, 95)))
    assert errors["homography"][1] > 3.0  # the distortion is real
    assert errors["warped"][0] < 0.5
    assert errors["warped"][1] < 0.4 * errors["homography"][1]
    assert errors["warped"][1] < 2.0


def test_residual_through_the_local_warp_scores_a_barrel_leak_higher(marked):
    """The warp must reach the detector: with it the true recipient's score rises well above
    what the homography alone gives, and no innocent's does."""
    from leaktrace.engine.match.residual import extract
    from leaktrace.engine.watermark.detect import attribute
    from leaktrace.media.image import files as images
    from leaktrace.media.image.asset import analyse

    registry, tmp = marked
    asset = registry.list_assets()[0]
    analysis = analyse(asset, images.load_image(registry.store.get(asset.sha256)), registry.key)
    data, _ = run_attack("barrel", load_display_rgb(tmp / "out" / "carol" / PHOTO.name), seed=0)
    leak = luminance(load_display_rgb(data))
    result = registration.register(analysis.reference_luma, leak)
    assert result.verified and result.local_warp is not None
    ids = ["alice", "bob", "carol"]
    codes = np.stack([analysis.keying.recipient_code(rid) for rid in ids])
    decoys = analysis.keying.decoy_codes(512)
    z = {}
    for name, warp in (("homography", None), ("warped", result.local_warp)):
        projection = extract(
            analysis.keying,
            analysis.reference_luma,
            analysis.detection_mask,
            leak,
            result.homography,
            local_warp=warp,
        )
        scores = attribute(projection.y, codes, ids, decoys)
        z[name] = dict(zip(scores.recipient_ids, scores.z, strict=True))
    assert z["warped"]["carol"] > 1.3 * z["homography"]["carol"]
    assert max(z["warped"]["alice"], z["warped"]["bob"]) < 4.0
