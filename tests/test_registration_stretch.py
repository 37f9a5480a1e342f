"""Line art resized into a box of another shape (issue 15): the whole drawing stretched unevenly,
and a crop of it stretched unevenly, still register; an unrelated picture of that shape does not."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from leaktrace.engine.match.registration import register
from leaktrace.engine.watermark.mask import luminance
from leaktrace.simulate import run_attack
from leaktrace.simulate.geometry import stretch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def drawing(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / "drafts" / name).convert("RGB"))


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def scales(homography: np.ndarray) -> tuple[float, float]:
    """Leak pixels per original pixel along x and along y."""
    h = homography / homography[2, 2]
    return float(np.hypot(h[0, 0], h[1, 0])), float(np.hypot(h[0, 1], h[1, 1]))


def test_a_drawing_stretched_twice_as_wide_registers_as_the_whole_frame():
    original = drawing("cad_bumper.png")
    leak = stretch(original, 2.0, 1.0)
    result = register(luminance(original), luminance(leak))
    assert result.verified, result.reason
    assert result.method == "full-frame stretched"
    scale_x, scale_y = scales(result.homography)
    assert abs(scale_x - 2.0) < 0.02 and abs(scale_y - 1.0) < 0.02


def test_a_crop_stretched_unevenly_registers_with_its_stretch():
    original = drawing("blueprint_grid.png")
    leak = decoded(run_attack("crop_stretch", original, seed=1)[0])
    aspect = (leak.shape[1] / leak.shape[0]) / (original.shape[1] / original.shape[0])
    assert aspect > 1.5  # the case features and the even template search both missed
    result = register(luminance(original), luminance(leak))
    assert result.verified, result.reason
    assert result.method.startswith("stretched template-search")
    scale_x, scale_y = scales(result.homography)
    # a 40 % crop resized back to about the frame: both scales near 1/sqrt(0.4), x the larger
    assert 1.5 < scale_x / scale_y < 2.3
    assert 1.0 < scale_y < 1.8


def test_an_unrelated_picture_of_a_stretched_shape_does_not_register():
    original = drawing("cad_bumper.png")
    other = np.asarray(Image.open(FIXTURES / "unrelated" / "flower.jpg").convert("RGB"))
    leak = stretch(
        other, 2.0 * original.shape[1] / other.shape[1], original.shape[0] / other.shape[0]
    )
    result = register(luminance(original), luminance(leak))
    assert not result.verified
    assert any(entry["method"] == "full-frame stretched" for entry in result.tried)
