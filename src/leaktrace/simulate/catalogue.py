"""The named attacks: a stable, documented catalogue of what happens to a leaked image.

Each :class:`Attack` turns an upright RGB image into the bytes of the file an investigator
would receive. Attacks are pipelines of the public helpers in this package, bound with
:func:`functools.partial` to module-level functions so that they pickle (process pools).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from leaktrace.simulate import geometry as geo
from leaktrace.simulate import overlays as ovl
from leaktrace.simulate import photometric as pho
from leaktrace.simulate.camera import PHONE_PRESETS, phone_photo_of_screen
from leaktrace.simulate.codecs import avif_supported, check_image, encode, recompress
from leaktrace.simulate.screens import screenshot

__all__ = ["ATTACKS", "GROUPS", "Attack", "get_attack", "run_attack"]

#: Attack groups, in the order the catalogue lists them.
GROUPS = (
    "compression",
    "social",
    "crop",
    "geometry",
    "screenshot",
    "phone",
    "colour",
    "filter",
    "overlay",
    "combo",
    "draft",
)

Step = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Attack:
    """One named leak scenario.

    Attributes
    ----------
    name : str
        Stable identifier, e.g. ``"social480"``.
    group : str
        One of :data:`GROUPS`.
    description : str
        One line with the parameters, for documentation tables.
    apply : callable
        ``apply(image, rng) -> (data, extension)``: takes an upright RGB ``uint8`` array of shape
        ``(H, W, 3)`` and a :class:`numpy.random.Generator`, returns the encoded file and its
        extension (``".jpg"``, ``".png"``, ``".webp"`` or ``".avif"``). Deterministic given the
        generator's state; attacks without randomness ignore it.
    """

    name: str
    group: str
    description: str
    apply: Callable[[np.ndarray, np.random.Generator], tuple[bytes, str]]


def _call_fixed(
    func: Callable[..., np.ndarray], kwargs: dict, image: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    return func(image, **kwargs)


def _call_seeded(
    func: Callable[..., np.ndarray], kwargs: dict, image: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    return func(image, rng=rng, **kwargs)


def _fixed(func: Callable[..., np.ndarray], **kwargs: object) -> Step:
    """A pipeline step that does not use the generator."""
    return partial(_call_fixed, func, kwargs)


def _seeded(func: Callable[..., np.ndarray], **kwargs: object) -> Step:
    """A pipeline step that draws from the generator (passed as ``rng=``)."""
    return partial(_call_seeded, func, kwargs)


def _random_crop(
    image: np.ndarray, rng: np.random.Generator, *, area_fraction: float, spread: float = 0.35
) -> np.ndarray:
    """:func:`~leaktrace.simulate.geometry.crop_fraction` around a random centre."""
    centre = tuple(0.5 + rng.uniform(-spread, spread, size=2))
    return geo.crop_fraction(image, area_fraction, center=centre)


def _zoomed_screenshot(
    image: np.ndarray, rng: np.random.Generator, *, low: float, high: float
) -> np.ndarray:
    """A desktop viewer's screenshot at a zoom drawn from ``low..high``."""
    return screenshot(image, zoom=float(rng.uniform(low, high)), ui="desktop")


def _uneven_stretch(
    image: np.ndarray, rng: np.random.Generator, *, area_fraction: float, most: float
) -> np.ndarray:
    """A random crop resized back to about the frame with one axis (either) stretched up to
    ``most`` times more than the other, as a careless resize to a fixed box does."""
    cut = _random_crop(image, rng, area_fraction=area_fraction, spread=0.25)
    base = float(np.sqrt(1 / area_fraction)) * rng.uniform(0.8, 1.0)
    factors = [base, base * rng.uniform(0.6 * most, most)]
    if rng.random() < 0.5:
        factors.reverse()
    size = (round(cut.shape[1] * factors[0]), round(cut.shape[0] * factors[1]))
    return geo.resize(cut, size)


def _pipeline(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    steps: tuple[Step, ...],
    fmt: str,
    quality: int | None,
) -> tuple[bytes, str]:
    out = check_image(image)
    for step in steps:
        out = step(out, rng)
    return encode(out, fmt, quality)


def _limit(long_side: int) -> Step:
    """An upload's resize: downscale to a long-side limit, never upscale."""
    return _fixed(geo.limit_long, long_side=long_side)


def _hop(long_side: int, quality: int) -> tuple[Step, ...]:
    """One intermediate re-share: downscale to a limit, then a JPEG round trip."""
    return (_limit(long_side), _fixed(recompress, fmt="jpeg", quality=quality))


def _build() -> dict[str, Attack]:
    table: list[Attack] = []

    def add(
        name: str,
        group: str,
        description: str,
        *steps: Step,
        fmt: str = "jpeg",
        quality: int | None = 90,
    ) -> None:
        apply = partial(
            _pipeline, steps=tuple(steps), fmt=fmt, quality=None if fmt == "png" else quality
        )
        table.append(Attack(name, group, description, apply))

    # Compression only, same size.
    for q in (90, 70, 50, 30, 20):
        add(f"jpeg{q}", "compression", f"JPEG quality {q} (4:2:0), same size", quality=q)
    for q in (80, 50):
        add(f"webp{q}", "compression", f"WebP quality {q}, same size", fmt="webp", quality=q)
    if avif_supported():
        add("avif60", "compression", "AVIF quality 60 (4:2:0), same size", fmt="avif", quality=60)

    # Social networks: a long-side limit (smaller images keep their size), then JPEG.
    for long_side, q in ((2048, 85), (1080, 80), (720, 80), (480, 80), (320, 80)):
        add(
            f"social{long_side}",
            "social",
            f"Long side downscaled to at most {long_side} px (Lanczos), JPEG {q}",
            _limit(long_side),
            quality=q,
        )
    add(
        "social1080_webp",
        "social",
        "Long side at most 1080 px (Lanczos), WebP 80 (as served)",
        _limit(1080),
        fmt="webp",
        quality=80,
    )
    add(
        "reshare2",
        "social",
        "Re-shared twice: long side <= 1080 + JPEG 85, then <= 720 + JPEG 80",
        *_hop(1080, 85),
        _limit(720),
        quality=80,
    )
    add(
        "reshare3",
        "social",
        "Re-shared three times: <= 1600 + JPEG 85, <= 1080 + JPEG 80, then <= 640 + JPEG 75",
        *_hop(1600, 85),
        *_hop(1080, 80),
        _limit(640),
        quality=75,
    )

    # Crops, saved as JPEG 90.
    for pct in (50, 25, 10):
        add(
            f"crop{pct}",
            "crop",
            f"Centre crop keeping {pct} % of the area, JPEG 90",
            _fixed(geo.crop_fraction, area_fraction=pct / 100),
        )
    add(
        "crop25_offcentre",
        "crop",
        "Crop keeping 25 % of the area around a random centre (x, y in 0.15..0.85), JPEG 90",
        _seeded(_random_crop, area_fraction=0.25),
    )
    add(
        "crop30",
        "draft",
        "Centre crop keeping 30 % of the area, JPEG 90",
        _fixed(geo.crop_fraction, area_fraction=0.30),
    )
    add(
        "crop30_offcentre",
        "draft",
        "Crop keeping 30 % of the area around a random centre (x, y in 0.15..0.85), JPEG 90",
        _seeded(_random_crop, area_fraction=0.30),
    )
    add(
        "crop10_corner",
        "crop",
        "Top-left corner crop keeping 10 % of the area, JPEG 90",
        _fixed(geo.crop_fraction, area_fraction=0.10, center=(0.0, 0.0)),
    )

    # Geometry, saved as JPEG 90.
    for degrees in (2, -2, 5, 8, -8, 15, -15):
        add(
            f"rotate{degrees}_crop",
            "geometry",
            f"Rotate {degrees:+d} deg (counter-clockwise positive, bicubic), crop the largest "
            "border-free rectangle, JPEG 90",
            _fixed(geo.rotate_crop, degrees=degrees),
        )
    for factor in (0.3, 0.5, 2.0):
        add(
            f"scale{round(factor * 100)}",
            "geometry",
            f"Scale by {factor:g} (Lanczos), JPEG 90",
            _fixed(geo.scale, factor=factor),
        )
    add(
        "stretch_x2",
        "draft",
        "Width stretched x2, height kept (Lanczos), JPEG 90",
        _fixed(geo.stretch, factor_x=2.0, factor_y=1.0),
    )
    add(
        "crop_stretch",
        "draft",
        "Random crop of 40 % of the area resized back to about the frame, one axis (either) "
        "stretched 1.2-2x more than the other, JPEG 90",
        _seeded(_uneven_stretch, area_fraction=0.4, most=2.0),
    )
    add("flip_h", "geometry", "Horizontal mirror, JPEG 90", _fixed(geo.flip_horizontal))
    add(
        "perspective",
        "geometry",
        "Keystone: random quadrilateral (corners inset up to 8 %) stretched to the frame, JPEG 90",
        _seeded(geo.perspective, strength=0.08),
    )
    add(
        "barrel",
        "geometry",
        "Barrel lens distortion k1 = 0.05, corners kept, JPEG 90",
        _fixed(geo.barrel, strength=0.05),
    )

    # Screenshots, saved as PNG.
    add(
        "screenshot100",
        "screenshot",
        "PNG screenshot of a desktop image viewer at 100 %, window 1.4x the image, with chrome",
        _fixed(screenshot, zoom=1.0, ui="desktop"),
        fmt="png",
    )
    add(
        "screenshot75",
        "screenshot",
        "PNG screenshot of a desktop image viewer at 75 %, window 1.4x the image, with chrome",
        _fixed(screenshot, zoom=0.75, ui="desktop"),
        fmt="png",
    )
    add(
        "screenshot_zoom",
        "draft",
        "PNG screenshot of a desktop image viewer at a random zoom of 50-150 %, window 1.4x "
        "the drawn image, with chrome",
        _seeded(_zoomed_screenshot, low=0.5, high=1.5),
        fmt="png",
    )
    add(
        "screenshot_browser",
        "screenshot",
        "PNG screenshot of a news article in a browser, image at 50 % among text, 2.2x canvas",
        _fixed(screenshot, zoom=0.5, ui="browser", canvas=2.2),
        fmt="png",
    )
    add(
        "screenshot_chat",
        "screenshot",
        "PNG screenshot of a phone chat (1080 x 2340): image fitted in a bubble, rounded, "
        "timestamp over it, random messages around",
        _seeded(screenshot, ui="chat"),
        fmt="png",
    )

    # Phone photos of a monitor, saved as the phone's JPEG 85.
    for suffix, preset, words in (
        ("_easy", "easy", "straight on, screen ~66 % of the frame, little noise"),
        ("", "normal", "angled up to 12 deg, screen ~60 %, moire, faint reflection"),
        ("_hard", "hard", "1440p screen at up to 24 deg, ~50 %, dim room, shake, glare"),
    ):
        add(
            f"phone_screen{suffix}",
            "phone",
            f"12 MP phone photo of a monitor showing the image full screen ({words}), JPEG 85",
            _seeded(phone_photo_of_screen, **PHONE_PRESETS[preset]),
            quality=85,
        )

    # Colour edits, saved as JPEG 90.
    add(
        "bright_contrast",
        "colour",
        "Brightness +8 % and contrast x1.2, JPEG 90",
        _fixed(pho.brightness_contrast, brightness=0.08, contrast=1.2),
    )
    add(
        "saturate",
        "colour",
        "Saturation x1.4 about the luma, JPEG 90",
        _fixed(pho.saturation, factor=1.4),
    )
    add(
        "warm_filter",
        "colour",
        "Instagram-like warm faded curves, saturation x1.12, soft vignette, JPEG 90",
        _fixed(pho.warm_filter),
    )
    add("grayscale", "colour", "Rec. 601 grayscale saved as RGB, JPEG 90", _fixed(pho.grayscale))
    for value in (0.8, 1.2):
        add(
            f"gamma{value:g}",
            "colour",
            f"Gamma: out = in ** {value:g}, JPEG 90",
            _fixed(pho.gamma, value=value),
        )

    # Filters, saved as JPEG 90.
    add(
        "blur1.5",
        "filter",
        "Gaussian blur sigma 1.5 px, JPEG 90",
        _fixed(pho.gaussian_blur, sigma=1.5),
    )
    add(
        "noise5",
        "filter",
        "Gaussian noise sigma 5 grey levels per channel, JPEG 90",
        _seeded(pho.gaussian_noise, sigma=5.0),
    )
    add(
        "sharpen",
        "filter",
        "Unsharp mask radius 2 px, 150 %, threshold 3, JPEG 90",
        _fixed(pho.unsharp_mask, radius=2.0, percent=150, threshold=3),
    )
    add(
        "median3",
        "filter",
        "3x3 median filter (denoise), JPEG 90",
        _fixed(pho.median_filter, size=3),
    )

    add(
        "median5",
        "draft",
        "5x5 median filter (denoise), JPEG 90",
        _fixed(pho.median_filter, size=5),
    )

    # Overlays, saved as JPEG 85.
    add(
        "caption",
        "overlay",
        "White caption bar (16 % of the height) with text added on top, JPEG 85",
        _fixed(ovl.caption_bar),
        quality=85,
    )
    add(
        "meme_text",
        "overlay",
        "White outlined text over the top and bottom, JPEG 85",
        _fixed(ovl.meme_text),
        quality=85,
    )
    add(
        "stickers",
        "overlay",
        "3-5 emoji-like stickers (12-22 % of the short side) at random, JPEG 85",
        _seeded(ovl.stickers),
        quality=85,
    )
    add(
        "logo_watermark",
        "overlay",
        "Semi-transparent (60 %) platform logo and handle in the bottom-right corner, JPEG 85",
        _fixed(ovl.logo_watermark),
        quality=85,
    )

    # Combinations.
    add(
        "crop50_rotate3_social720",
        "combo",
        "Centre crop 50 %, rotate 3 deg with crop, long side <= 720, JPEG 80",
        _fixed(geo.crop_fraction, area_fraction=0.5),
        _fixed(geo.rotate_crop, degrees=3),
        _limit(720),
        quality=80,
    )
    add(
        "screenshot_reshare",
        "combo",
        "Desktop screenshot at 100 % (PNG) posted to a social network: <= 1080, JPEG 80",
        _fixed(screenshot, zoom=1.0, ui="desktop"),
        _limit(1080),
        quality=80,
    )
    add(
        "chat_forward",
        "combo",
        "Phone chat screenshot forwarded by a messenger: long side <= 1600, JPEG 75",
        _seeded(screenshot, ui="chat"),
        _limit(1600),
        quality=75,
    )
    add(
        "filter_caption_social1080",
        "combo",
        "Warm filter, caption bar, long side <= 1080, JPEG 80",
        _fixed(pho.warm_filter),
        _fixed(ovl.caption_bar),
        _limit(1080),
        quality=80,
    )
    add(
        "story_stickers",
        "combo",
        "9:16 story crop, random stickers, long side <= 1920, JPEG 80",
        _fixed(geo.crop_aspect, aspect=9 / 16),
        _seeded(ovl.stickers),
        _limit(1920),
        quality=80,
    )
    add(
        "mirror_crop_webp",
        "combo",
        "Mirror, random off-centre crop 50 %, saturation x1.2, long side <= 1080, WebP 75",
        _fixed(geo.flip_horizontal),
        _seeded(_random_crop, area_fraction=0.5, spread=0.2),
        _fixed(pho.saturation, factor=1.2),
        _limit(1080),
        fmt="webp",
        quality=75,
    )
    add(
        "phone_screen_reshare",
        "combo",
        "phone_screen photo (JPEG 85 round trip) posted to a social network: <= 1080, JPEG 80",
        _seeded(phone_photo_of_screen, **PHONE_PRESETS["normal"]),
        _fixed(recompress, fmt="jpeg", quality=85),
        _limit(1080),
        quality=80,
    )

    # Reposts of a draft: three and four hops of crops, edits and re-encodes.
    add(
        "repost3",
        "draft",
        "Repost in 3 steps: off-centre crop 60 % + JPEG 85; brightness +6 %, contrast x1.1, "
        "caption bar + JPEG 80 at <= 1600; long side <= 1080, JPEG 80",
        _seeded(_random_crop, area_fraction=0.6, spread=0.2),
        _fixed(recompress, fmt="jpeg", quality=85),
        _fixed(pho.brightness_contrast, brightness=0.06, contrast=1.1),
        _fixed(ovl.caption_bar),
        *_hop(1600, 80),
        _limit(1080),
        quality=80,
    )
    add(
        "repost4",
        "draft",
        "Repost in 4 steps: off-centre crop 60 % + JPEG 85; brightness -5 % + JPEG 80 at "
        "<= 1600; rotate 3 deg with crop, platform logo + JPEG 80; long side <= 1080, WebP 75",
        _seeded(_random_crop, area_fraction=0.6, spread=0.2),
        _fixed(recompress, fmt="jpeg", quality=85),
        _fixed(pho.brightness_contrast, brightness=-0.05, contrast=1.0),
        *_hop(1600, 80),
        _fixed(geo.rotate_crop, degrees=3),
        _fixed(ovl.logo_watermark),
        _fixed(recompress, fmt="jpeg", quality=80),
        _limit(1080),
        fmt="webp",
        quality=75,
    )

    ordered = sorted(table, key=lambda attack: GROUPS.index(attack.group))
    return {attack.name: attack for attack in ordered}


#: Every named attack, grouped in the order of :data:`GROUPS` (stable across releases).
ATTACKS: dict[str, Attack] = _build()


def get_attack(name: str) -> Attack:
    """The attack called ``name``.

    Raises
    ------
    ValueError
        If there is no such attack; the message lists the known names.
    """
    try:
        return ATTACKS[name]
    except KeyError:
        raise ValueError(f"unknown attack {name!r}; known attacks: {', '.join(ATTACKS)}") from None


def run_attack(name: str, image: np.ndarray, *, seed: int = 0) -> tuple[bytes, str]:
    """Apply the attack ``name`` to ``image`` with a generator seeded by ``seed``.

    Parameters
    ----------
    name : str
        A key of :data:`ATTACKS`.
    image : ndarray of uint8, shape (H, W, 3)
        Upright RGB image.
    seed : int
        Seed of the :func:`numpy.random.default_rng` generator handed to the attack.

    Returns
    -------
    data : bytes
        The encoded file.
    extension : str
        Its extension, e.g. ``".jpg"``.
    """
    attack = get_attack(name)
    return attack.apply(check_image(image), np.random.default_rng(seed))
