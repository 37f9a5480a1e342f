"""Registration recovers known transforms; hashes find resized copies; residual extraction works
through a real warp."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from leaktrace.engine.match import hashing, registration
from leaktrace.engine.watermark.mask import luminance
from leaktrace.media.image.files import load_display_rgb

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IMAGES = [FIXTURES / "photos" / "rocket.jpg", FIXTURES / "drafts" / "cad_bumper.png"]


def corner_error(found: np.ndarray, truth: np.ndarray, shape: tuple[int, int]) -> float:
    """Largest distance (pixels) between where the two homographies send the image's corners."""
    h, w = shape
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64).reshape(
        -1, 1, 2
    )
    a = cv2.perspectiveTransform(corners, found)
    b = cv2.perspectiveTransform(corners, truth)
    return float(np.linalg.norm(a - b, axis=2).max())


def similarity(angle: float, scale: float, tx: float, ty: float, center) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D(center, angle, scale)
    matrix[:, 2] += (tx, ty)
    return np.vstack([matrix, [0, 0, 1]])


@pytest.mark.parametrize("source", IMAGES, ids=lambda p: p.stem)
@pytest.mark.parametrize(
    "angle, scale, shift",
    [(0.0, 0.5, (0, 0)), (4.0, 0.8, (-30, 20)), (-7.0, 1.1, (15, -40)), (0.0, 0.6, (-40, 30))],
)
def test_recovers_known_similarity(source, angle, scale, shift):
    original = luminance(load_display_rgb(source))
    h, w = original.shape
    truth = similarity(angle, scale, *shift, center=(w / 2, h / 2))
    size = (round(w * max(scale, 0.7)), round(h * max(scale, 0.7)))
    leak = cv2.warpPerspective(original, truth, size, flags=cv2.INTER_AREA, borderValue=240)
    result = registration.register(original, leak)
    assert result.verified, result.reason
    visible = cv2.perspectiveTransform(np.array([[[w / 2, h / 2]]]), truth)[0, 0]
    assert 0 <= visible[0] < size[0] and 0 <= visible[1] < size[1]
    # Judge the mapping where it matters: over the part of the original that the leak shows.
    assert corner_error(result.homography, truth, (h, w)) < 2.5 * max(1.0, 1 / scale)


def test_recovers_a_perspective_view():
    original = luminance(load_display_rgb(IMAGES[0]))
    h, w = original.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[40, 30], [w - 20, 10], [w - 60, h - 25], [10, h - 5]])
    truth = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    leak = cv2.warpPerspective(original, truth, (w, h), borderValue=0)
    result = registration.register(original, leak)
    assert result.verified and corner_error(result.homography, truth, (h, w)) < 3.0


def test_unrelated_images_do_not_verify():
    original = luminance(load_display_rgb(FIXTURES / "photos" / "rocket.jpg"))
    other = luminance(load_display_rgb(FIXTURES / "unrelated" / "china.jpg"))
    result = registration.register(original, other)
    assert not result.verified and result.reason


def test_features_round_trip_through_bytes():
    gray = luminance(load_display_rgb(IMAGES[1]))
    features = registration.compute_features(gray)
    again = registration.Features.from_bytes(features.to_bytes())
    assert np.array_equal(features.points, again.points)
    assert np.array_equal(features.descriptors, again.descriptors)
    assert len(features.points) > 100


def test_hash_lookup_finds_resized_copy_not_other_images():
    names = ["rocket.jpg", "astronaut.jpg", "coffee.png"]
    pictures = [load_display_rgb(FIXTURES / "photos" / n) for n in names]
    table = [hashing.perceptual_hashes(p) for p in pictures]
    phashes = np.array([t[0] for t in table], dtype=np.uint64)
    dhashes = np.array([t[1] for t in table], dtype=np.uint64)
    small = cv2.resize(pictures[1], (200, 200), interpolation=cv2.INTER_AREA)
    matches = hashing.nearest_assets(*hashing.perceptual_hashes(small), names, phashes, dhashes)
    assert [m.asset_id for m in matches] == ["astronaut.jpg"]
    assert matches[0].phash_distance <= 6
    unrelated = load_display_rgb(FIXTURES / "unrelated" / "flower.jpg")
    assert (
        hashing.nearest_assets(*hashing.perceptual_hashes(unrelated), names, phashes, dhashes) == []
    )


def test_popcount_of_full_width_values():
    values = np.array([0, 1, 0xFFFFFFFFFFFFFFFF, 1 << 63], dtype=np.uint64)
    assert hashing.popcount64(values).tolist() == [0, 1, 64, 1]
