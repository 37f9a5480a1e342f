"""Tests of the leak simulator (``leaktrace.simulate``).

Every named attack runs once on a small seeded synthetic image (cached for the module); the
generic tests (decodable, declared format, deterministic, seed-dependent) reuse those outputs.
The 12-megapixel phone photos are slow (about a second each), so their determinism is checked
on :func:`phone_photo_of_screen` with a small photo size, which runs the same code.
"""

from __future__ import annotations

import io
import math
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from leaktrace.simulate import (
    ATTACKS,
    GROUPS,
    PHONE_PRESETS,
    Attack,
    barrel,
    check_image,
    crop_fraction,
    decode,
    encode,
    get_attack,
    limit_long,
    perspective,
    phone_photo_of_screen,
    resize_long,
    rotate_crop,
    run_attack,
    screen_quad,
    screenshot,
)

FORMATS = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".avif": "AVIF"}

REQUIRED = ("social1080", "social480", "jpeg50", "crop25", "rotate5_crop", "screenshot75")

#: Attacks that draw from the generator; every other attack must ignore it.
RANDOM = {
    "crop25_offcentre",
    "perspective",
    "screenshot_chat",
    "phone_screen_easy",
    "phone_screen",
    "phone_screen_hard",
    "noise5",
    "stickers",
    "chat_forward",
    "story_stickers",
    "mirror_crop_webp",
    "phone_screen_reshare",
    "crop30_offcentre",
    "crop_stretch",
    "screenshot_zoom",
    "repost3",
    "repost4",
}

#: Attacks that render a 12-megapixel phone photo.
HEAVY = {name for name in ATTACKS if "phone" in name}
LIGHT = [name for name in ATTACKS if name not in HEAVY]


def synthetic_image(seed: int = 0, shape: tuple[int, int] = (480, 640)) -> np.ndarray:
    """Smooth colour gradients plus random blob texture, values within [40, 215].

    The texture makes every patch unique (template matching has one answer) and the value range
    makes black borders detectable.
    """
    rng = np.random.default_rng(seed)
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    phases = rng.uniform(0, 2 * np.pi, 3)
    smooth = np.stack(
        [128 + 45 * np.sin(2 * np.pi * (1.1 * xs + 0.6 * ys) + p) for p in phases], axis=-1
    )
    texture = cv2.GaussianBlur(rng.standard_normal((height, width, 3)), (0, 0), 2.5)
    texture *= 25 / texture.std()
    return np.clip(smooth + texture, 40, 215).astype(np.uint8)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return synthetic_image()


@pytest.fixture(scope="module")
def outputs(image: np.ndarray) -> dict[str, tuple[bytes, str]]:
    """Every attack's output at seed 0, computed once; also checks the input is not modified."""
    pristine = image.copy()
    results = {name: run_attack(name, image, seed=0) for name in ATTACKS}
    np.testing.assert_array_equal(image, pristine)
    return results


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)


# --- the catalogue --------------------------------------------------------------------------


def test_catalogue_is_large_and_covers_the_groups() -> None:
    assert len(ATTACKS) >= 40
    groups = {attack.group for attack in ATTACKS.values()}
    assert len(groups) >= 9
    assert groups <= set(GROUPS)
    for name in REQUIRED:
        assert name in ATTACKS


def test_catalogue_entries_are_well_formed() -> None:
    order = [GROUPS.index(attack.group) for attack in ATTACKS.values()]
    assert order == sorted(order), "attacks are listed group by group"
    for name, attack in ATTACKS.items():
        assert isinstance(attack, Attack)
        assert attack.name == name
        assert attack.description and "\n" not in attack.description
        assert callable(attack.apply)


def test_attacks_pickle_for_process_pools() -> None:
    attack = pickle.loads(pickle.dumps(ATTACKS["social480"]))
    data, ext = attack.apply(synthetic_image(shape=(60, 80)), np.random.default_rng(0))
    assert ext == ".jpg" and decode(data).shape == (60, 80, 3)


def test_get_attack_unknown_name_lists_known_names() -> None:
    assert get_attack("jpeg50").name == "jpeg50"
    with pytest.raises(ValueError, match="social480"):
        get_attack("no-such-attack")


def test_run_attack_rejects_bad_images() -> None:
    with pytest.raises(ValueError, match="image"):
        run_attack("jpeg50", np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        run_attack("jpeg50", np.zeros((10, 10, 3), dtype=np.float32))


def test_importing_attacks_does_not_load_opencv() -> None:
    code = "import sys, leaktrace.simulate; assert 'cv2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- every attack ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_returns_decodable_file_of_declared_format(
    name: str, outputs: dict[str, tuple[bytes, str]]
) -> None:
    data, ext = outputs[name]
    assert isinstance(data, bytes) and ext in FORMATS
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == FORMATS[ext]
    pixels = decode(data)
    assert pixels.ndim == 3 and pixels.shape[2] == 3 and min(pixels.shape[:2]) >= 16


@pytest.mark.parametrize("name", LIGHT)
def test_attack_is_deterministic(
    name: str, image: np.ndarray, outputs: dict[str, tuple[bytes, str]]
) -> None:
    assert run_attack(name, image, seed=0) == outputs[name]


def test_exactly_the_random_attacks_depend_on_the_seed(
    image: np.ndarray, outputs: dict[str, tuple[bytes, str]]
) -> None:
    differ = {name for name in LIGHT if run_attack(name, image, seed=1) != outputs[name]}
    assert differ == RANDOM - HEAVY


def test_phone_photo_is_deterministic_and_seed_dependent(image: np.ndarray) -> None:
    small = {"photo_size": (640, 480), "screen_size": (480, 270)}
    first = phone_photo_of_screen(image, np.random.default_rng(0), **small)
    again = phone_photo_of_screen(image, np.random.default_rng(0), **small)
    other = phone_photo_of_screen(image, np.random.default_rng(1), **small)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


# --- specific attacks -----------------------------------------------------------------------


def test_jpeg50_keeps_the_size(outputs: dict[str, tuple[bytes, str]], image: np.ndarray) -> None:
    data, ext = outputs["jpeg50"]
    out = decode(data)
    assert ext == ".jpg" and out.shape == image.shape
    assert np.abs(out.astype(float) - image).mean() < 8


def test_social480_long_side_is_480(outputs: dict[str, tuple[bytes, str]]) -> None:
    out = decode(outputs["social480"][0])
    assert out.shape[:2] == (360, 480)


def test_social_never_upscales(image: np.ndarray) -> None:
    out = decode(run_attack("social1080", image)[0])
    assert out.shape == image.shape


def test_crop25_keeps_the_centre_quarter(
    outputs: dict[str, tuple[bytes, str]], image: np.ndarray
) -> None:
    out = decode(outputs["crop25"][0])
    height, width = image.shape[:2]
    assert out.shape[0] * out.shape[1] == pytest.approx(0.25 * height * width, rel=0.02)
    centre = image[height // 4 : height // 4 + out.shape[0], width // 4 : width // 4 + out.shape[1]]
    corr = np.corrcoef(_gray(out).ravel(), _gray(centre).ravel())[0, 1]
    assert corr > 0.98


def test_rotate5_crop_has_no_black_borders(outputs: dict[str, tuple[bytes, str]]) -> None:
    out = decode(outputs["rotate5_crop"][0])
    frame = np.concatenate(
        [
            out[:2].reshape(-1, 3),
            out[-2:].reshape(-1, 3),
            out[:, :2].reshape(-1, 3),
            out[:, -2:].reshape(-1, 3),
        ]
    )
    assert frame.min() > 20
    # Close to the largest border-free rectangle of a 640 x 480 image rotated by 5 degrees.
    assert 400 <= out.shape[0] <= 440 and 560 <= out.shape[1] <= 600


def test_rotate_crop_recovers_the_rotation(image: np.ndarray) -> None:
    out = rotate_crop(image, 5.0)
    height, width = image.shape[:2]
    rot = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), 5.0, 1.0)
    expected = cv2.warpAffine(image, rot, (width, height), flags=cv2.INTER_CUBIC)
    top, left = (height - out.shape[0]) // 2, (width - out.shape[1]) // 2
    patch = expected[top : top + out.shape[0], left : left + out.shape[1]]
    corr = np.corrcoef(_gray(out).ravel(), _gray(patch).ravel())[0, 1]
    assert corr > 0.95


def test_screenshot75_shows_the_image_at_75_percent(
    outputs: dict[str, tuple[bytes, str]], image: np.ndarray
) -> None:
    data, ext = outputs["screenshot75"]
    assert ext == ".png" and data.startswith(b"\x89PNG")
    shot = _gray(decode(data))
    height, width = image.shape[:2]
    assert shot.shape[0] > 0.75 * height * 1.2 and shot.shape[1] > 0.75 * width * 1.2

    def best(zoom: float) -> tuple[float, tuple[int, int]]:
        size = (round(width * zoom), round(height * zoom))
        template = _gray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        scores = cv2.matchTemplate(shot, template, cv2.TM_CCOEFF_NORMED)
        _, peak, _, location = cv2.minMaxLoc(scores)
        return peak, location

    peak, (left, top) = best(0.75)
    assert peak > 0.97
    # Framed by the interface on every side (title bar above, status bar below).
    assert top > 20 and left > 0
    assert top + round(0.75 * height) < shot.shape[0] - 20
    assert peak > best(0.6)[0] + 0.1 and peak > best(0.9)[0] + 0.1


def _locate(haystack: np.ndarray, needle: np.ndarray) -> tuple[float, tuple[int, int]]:
    scores = cv2.matchTemplate(_gray(haystack), _gray(needle), cv2.TM_CCOEFF_NORMED)
    _, peak, _, location = cv2.minMaxLoc(scores)
    return peak, location


def test_screenshot100_contains_the_exact_pixels(image: np.ndarray) -> None:
    shot = screenshot(image, zoom=1.0)
    peak, (left, top) = _locate(shot, image)
    assert peak > 0.999
    np.testing.assert_array_equal(shot[top : top + 480, left : left + 640], image)


def test_screenshot_chat_shows_the_image_in_a_bubble(
    outputs: dict[str, tuple[bytes, str]], image: np.ndarray
) -> None:
    shot = decode(outputs["screenshot_chat"][0])
    assert shot.shape == (2340, 1080, 3)
    # Fitted to the bubble: 70 % of the screen width.
    fitted = cv2.resize(image, (756, 567), interpolation=cv2.INTER_LINEAR)
    # The bottom of the picture is shaded under the timestamp: match the part above it.
    peak, (left, top) = _locate(shot, fitted[:440])
    assert peak > 0.95
    assert top > 243 and top + 567 < 2340 - 216, "between the app bar and the input bar"


def test_screenshot_rejects_unknown_ui(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="ui"):
        screenshot(image, ui="tv")


@pytest.mark.parametrize("name", sorted(HEAVY - {"phone_screen_reshare"}))
def test_phone_photos_are_12mp_jpegs(name: str, outputs: dict[str, tuple[bytes, str]]) -> None:
    data, ext = outputs[name]
    assert ext == ".jpg"
    photo = decode(data)
    assert photo.shape == (3024, 4032, 3)
    assert _gray(photo).std() > 10, "a photo, not a flat render"


@pytest.mark.parametrize("preset", sorted(PHONE_PRESETS))
def test_screen_fills_half_to_four_fifths_of_the_photo(preset: str) -> None:
    params = PHONE_PRESETS[preset]
    for seed in range(5):
        quad = screen_quad(
            np.random.default_rng(seed),
            screen_size=params["screen_size"],
            fill=params["fill"],
            yaw=params["yaw"],
            pitch=params["pitch"],
            roll=params["roll"],
        )
        x, y = quad[:, 0], quad[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        assert 0.45 <= area / (4032 * 3024) <= 0.8
        assert x.min() > 0 and y.min() > 0 and x.max() < 4032 and y.max() < 3024


# --- helpers --------------------------------------------------------------------------------


def test_resize_long_and_limit_long(image: np.ndarray) -> None:
    assert resize_long(image, 1000).shape[:2] == (750, 1000)
    assert resize_long(image[:, :300], 200).shape[:2] == (200, 125)
    assert limit_long(image, 1000).shape == image.shape
    assert limit_long(image, 320).shape[:2] == (240, 320)


def test_crop_fraction_stays_inside_and_hits_corners(image: np.ndarray) -> None:
    corner = crop_fraction(image, 0.25, center=(0.0, 0.0))
    np.testing.assert_array_equal(corner, image[:240, :320])
    with pytest.raises(ValueError, match="area_fraction"):
        crop_fraction(image, 1.5)


def test_rotate_crop_identity(image: np.ndarray) -> None:
    np.testing.assert_array_equal(rotate_crop(image, 0.0), image)


@pytest.mark.parametrize("degrees", [-15, 2, 8, 15, 30, 90])
def test_rotate_crop_never_shows_fill(image: np.ndarray, degrees: float) -> None:
    out = rotate_crop(image, degrees)
    frame = np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]])
    assert frame.min() > 20


def test_perspective_and_barrel_keep_the_size_without_fill(image: np.ndarray) -> None:
    warped = perspective(image, 0.08, np.random.default_rng(0))
    assert warped.shape == image.shape and warped.min() > 20
    assert not np.array_equal(warped, perspective(image, 0.08, np.random.default_rng(1)))
    bent = barrel(image, 0.05)
    assert bent.shape == image.shape and bent.min() > 20
    # Corners stay corners; the centre is magnified by 1 + k, so it still matches closely.
    np.testing.assert_allclose(bent[0, 0], image[0, 0], atol=12)
    centre = np.s_[220:260, 300:340]
    assert np.corrcoef(_gray(bent[centre]).ravel(), _gray(image[centre]).ravel())[0, 1] > 0.9


def test_encode_and_check_image_errors(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="fmt"):
        encode(image, "gif", 80)
    with pytest.raises(ValueError, match="quality"):
        encode(image, "jpeg", 0)
    with pytest.raises(ValueError, match="shape"):
        check_image(np.zeros((4, 4, 4), dtype=np.uint8))
    assert math.isclose(decode(encode(image, "png")[0]).mean(), image.mean())
