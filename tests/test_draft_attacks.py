"""The attacks the draft trials found (issue 15): crops of 25-30 %, viewer screenshots at a
random zoom, 5x5 medians, uneven stretches and multi-step reposts, on a line drawing."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from leaktrace.simulate import ATTACKS, run_attack
from leaktrace.simulate.geometry import stretch


def line_drawing() -> np.ndarray:
    """Black rules and a box on white paper, 400 x 600."""
    paper = np.full((400, 600, 3), 255, np.uint8)
    paper[20:380:20, 40:560] = 0
    paper[100:300, 150:152] = 0
    paper[100:300, 450:452] = 0
    return paper


def decoded(data: bytes) -> tuple[np.ndarray, str]:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB")), im.format


def test_draft_attacks_are_catalogued_in_their_group():
    names = {"crop30", "crop30_offcentre", "screenshot_zoom", "median5", "stretch_x2",
             "crop_stretch", "repost3", "repost4"}  # fmt: skip
    assert {n for n, a in ATTACKS.items() if a.group == "draft"} == names
    # Appended after every older attack: a run's seeds and recipient rotation stay the same.
    assert list(ATTACKS)[-len(names) :] == [n for n in ATTACKS if n in names]


def test_crops_keep_thirty_percent_of_the_area():
    drawing = line_drawing()
    centre, _ = decoded(run_attack("crop30", drawing)[0])
    assert abs(centre.shape[0] * centre.shape[1] / drawing[..., 0].size - 0.30) < 0.01
    shifted = {decoded(run_attack("crop30_offcentre", drawing, seed=s)[0])[0].shape for s in (1, 2)}
    assert all(abs(h * w / drawing[..., 0].size - 0.30) < 0.01 for h, w, _ in shifted)
    a, b = (decoded(run_attack("crop30_offcentre", drawing, seed=s)[0])[0] for s in (1, 2))
    assert a.shape != b.shape or not np.array_equal(a, b)  # a different window per seed


def test_screenshots_at_random_zoom_are_png_of_varying_size():
    drawing = line_drawing()
    sizes = set()
    for seed in range(4):
        pixels, fmt = decoded(run_attack("screenshot_zoom", drawing, seed=seed)[0])
        assert fmt == "PNG"
        sizes.add(pixels.shape)
        # the drawn image is 50-150 % of the original, the window 1.4x that, plus chrome
        assert 0.5 * 1.4 * 600 * 0.95 <= pixels.shape[1] <= 1.5 * 1.4 * 600 * 1.1 + 200
    assert len(sizes) > 1


def test_median5_removes_what_median3_keeps():
    drawing = line_drawing()
    drawing[200:203, 300:303] = 0  # a 3 x 3 dot: a 3x3 median keeps its centre, 5x5 not
    three, _ = decoded(run_attack("median3", drawing)[0])
    five, _ = decoded(run_attack("median5", drawing)[0])
    assert three[201, 301].mean() < 100
    assert five[201, 301].mean() > 200


def test_stretches_are_uneven():
    drawing = line_drawing()
    wide, _ = decoded(run_attack("stretch_x2", drawing)[0])
    assert wide.shape[:2] == (400, 1200)
    assert stretch(drawing, 1.0, 1.5).shape[:2] == (600, 600)
    for seed in range(4):
        pixels, _ = decoded(run_attack("crop_stretch", drawing, seed=seed)[0])
        # a 40 % crop has the original's aspect ratio; one axis is stretched 1.2-2x more
        ratio = (pixels.shape[1] / pixels.shape[0]) / (600 / 400)
        assert 1.15 <= max(ratio, 1 / ratio) <= 2.05


def test_reposts_are_small_reencoded_crops():
    drawing = np.repeat(np.repeat(line_drawing(), 3, axis=0), 3, axis=1)  # 1200 x 1800
    three, fmt3 = decoded(run_attack("repost3", drawing, seed=1)[0])
    four, fmt4 = decoded(run_attack("repost4", drawing, seed=1)[0])
    assert (fmt3, fmt4) == ("JPEG", "WEBP")
    assert max(three.shape[:2]) <= 1080 and max(four.shape[:2]) <= 1080
    assert three.shape[1] / three.shape[0] < 1800 / 1200 + 0.05  # the caption bar adds height
