"""The fast imprinter against the numpy reference: same change up to the table's resolution, the
same detectable signal, saturation like the reference, and pinned bytes."""

import hashlib

import cv2
import numpy as np
import pytest

from leaktrace.engine.imprint import Imprinter
from leaktrace.engine.watermark import embed, mask, pattern
from leaktrace.media.image.orientation import from_display, to_display

KEY = bytes(range(32))
ASSET = "cd" * 32


def _photo_like(height: int, width: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(20, 235, width, dtype=np.float32)[None, :, None]
    texture = rng.normal(0, 12, size=(height, width, 3)).astype(np.float32)
    return np.clip(base + texture, 0, 255).astype(np.uint8)


def _reference(pixels, keying, amplitude, code):
    field = pattern.synthesize(keying, code)
    return embed.add_luma_delta(pixels, embed.luma_delta(amplitude, field))


def _setup(pixels):
    height, width = pixels.shape[:2]
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(height, width))
    amplitude = mask.perceptual_mask(mask.luminance(pixels))
    return keying, amplitude


@pytest.mark.parametrize("shape", [(240, 320, 3), (181, 97), (64, 500, 3)])
def test_matches_the_reference_up_to_one_gray_level_on_few_pixels(shape):
    pixels = _photo_like(shape[0], shape[1])
    if len(shape) == 2:
        pixels = np.ascontiguousarray(pixels[..., 1])
    keying, amplitude = _setup(pixels)
    code = keying.recipient_code("alice")
    fast = Imprinter(keying, amplitude, pixels).mark(code)
    reference = _reference(pixels, keying, amplitude, code)
    assert fast.shape == pixels.shape and fast.dtype == np.uint8
    difference = fast.astype(int) - reference.astype(int)
    assert np.abs(difference).max() <= 1
    assert np.mean(difference != 0) < 0.02
    # and it is a real mark, not the unmarked pixels
    assert np.mean(fast != pixels) > 0.3


def test_carries_the_same_signal_as_the_reference():
    pixels = _photo_like(240, 320, seed=2)
    keying, amplitude = _setup(pixels)
    code = keying.recipient_code("bob")
    luma = mask.luminance(pixels)
    rows, cols = np.mgrid[0:240, 0:320]

    def score(marked, probe):
        residual = (mask.luminance(marked) - luma) * amplitude
        y = pattern.project(keying, rows.ravel() * 1.0, cols.ravel() * 1.0, residual.ravel())
        return float(probe @ y) / float(np.linalg.norm(y))

    fast = Imprinter(keying, amplitude, pixels).mark(code)
    reference = _reference(pixels, keying, amplitude, code)
    assert score(fast, code) == pytest.approx(score(reference, code), rel=0.02)
    innocent = keying.recipient_code("carol")
    assert abs(score(fast, innocent)) < 4.0 < score(fast, code)


def test_saturates_like_the_reference_on_white_and_black():
    pixels = np.zeros((128, 256, 3), dtype=np.uint8)
    pixels[:, 128:] = 255
    keying, _ = _setup(pixels)
    amplitude = np.full((128, 256), 2.0, dtype=np.float32)
    code = keying.recipient_code("dave")
    fast = Imprinter(keying, amplitude, pixels).mark(code)
    # paper only gets darker, ink only lighter; neither wraps around
    assert fast[:, 128:].max() == 255 and fast[:, 128:].min() >= 250
    assert fast[:, :128].min() == 0 and fast[:, :128].max() <= 5
    assert np.mean(fast[:, 128:] < 255) > 0.2 and np.mean(fast[:, :128] > 0) > 0.2


def test_rotated_storage_gets_the_display_frame_mark():
    display = _photo_like(200, 300, seed=3)
    stored = from_display(display, 6)  # what a phone writes with EXIF orientation 6
    keying, amplitude = _setup(display)
    code = keying.recipient_code("erin")
    fast = Imprinter(keying, amplitude, stored, to_stored=lambda a: from_display(a, 6)).mark(code)
    assert fast.shape == stored.shape
    upright = to_display(fast, 6)
    reference = _reference(display, keying, amplitude, code)
    assert np.abs(upright.astype(int) - reference.astype(int)).max() <= 1

    # the dither differs between frames, so compare the mark's local mean, not single pixels
    def local_mean(a):
        return cv2.blur(mask.luminance(a) - mask.luminance(display), (8, 8))

    assert np.corrcoef(local_mean(upright).ravel(), local_mean(reference).ravel())[0, 1] > 0.95


def test_refuses_pixels_of_another_size():
    pixels = _photo_like(100, 120)
    keying, amplitude = _setup(pixels)
    with pytest.raises(ValueError):
        Imprinter(keying, amplitude, pixels[:90])


def test_golden_bytes():
    """The same copy on every machine and version: OpenCV's exact integer resize and saturating
    arithmetic, no floating-point interpolation. If this fails, rerun batches would change
    bytes; a deliberate change of the imprinter must update this digest."""
    pixels = _photo_like(150, 230, seed=7)
    keying, _ = _setup(pixels)
    # an amplitude of plain arithmetic, so that only the imprinter is pinned here
    amplitude = np.add.outer(np.linspace(0.5, 2.5, 150), np.linspace(0.0, 0.75, 230))
    marked = Imprinter(keying, amplitude, pixels).mark(keying.recipient_code("golden"))
    digest = hashlib.sha256(marked.tobytes()).hexdigest()
    assert digest == "063b594c45f8fa42dac46eabb8ec9dcecc4c8d9e44eae52c9b9db6723fa93b75"
