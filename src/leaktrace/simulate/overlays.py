"""Overlays: captions, meme text, stickers and platform watermarks drawn over a leak.

They hide part of the image and add sharp synthetic edges that local-feature matching may latch
onto, which is why the benchmark needs them. Sizes scale with the image so a 480-pixel thumbnail
and a 4000-pixel photo are edited alike.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from leaktrace.simulate import drawing
from leaktrace.simulate.codecs import check_image

__all__ = ["STICKER_KINDS", "caption_bar", "logo_watermark", "meme_text", "stickers"]

#: Sticker shapes drawn by :func:`stickers`.
STICKER_KINDS = ("smiley", "cool", "heart", "star")


def caption_bar(
    image: np.ndarray,
    text: str = "this was supposed to be confidential lol",
    *,
    height: float = 0.16,
    position: str = "top",
    background: tuple[int, int, int] = (255, 255, 255),
    colour: tuple[int, int, int] = (18, 18, 18),
) -> np.ndarray:
    """Add a solid bar with a caption above or below the image (a "meme" repost).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    text : str
        Caption, ASCII; wrapped onto two lines when needed.
    height : float
        Bar height as a fraction of the image height.
    position : {"top", "bottom"}
        Where the bar goes.
    background, colour : (int, int, int)
        Bar and text colours.

    Returns
    -------
    ndarray of uint8, shape (H + bar, W, 3)
    """
    image = check_image(image)
    if position not in ("top", "bottom"):
        raise ValueError(f"position must be 'top' or 'bottom', got {position!r}")
    if not 0.0 < height <= 1.0:
        raise ValueError(f"height must be in (0, 1], got {height}")
    img_h, width = image.shape[:2]
    bar_h = max(24, round(img_h * height))
    bar = Image.new("RGB", (width, bar_h), background)
    draw = ImageDraw.Draw(bar)
    size = bar_h * 0.42
    lines = [text]
    if drawing.text_width(text, size) > 0.92 * width:
        size = bar_h * 0.3
        lines = drawing.wrap(text, size, 0.92 * width)[:2]
    size = min(drawing.fit_size(line, 0.92 * width, size) for line in lines)
    step = size * 1.18
    top = bar_h / 2 - step * (len(lines) - 1) / 2
    for i, line in enumerate(lines):
        drawing.draw_text(draw, (width / 2, top + i * step), line, size, colour, anchor="mm")
    parts = [np.asarray(bar), image] if position == "top" else [image, np.asarray(bar)]
    return np.concatenate(parts, axis=0)


def meme_text(
    image: np.ndarray,
    top: str = "WHEN THE DRAFT LEAKS",
    bottom: str = "BEFORE THE LAUNCH",
    *,
    size: float = 0.11,
) -> np.ndarray:
    """White text with a black outline over the top and bottom of the image.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    top, bottom : str
        The two lines, ASCII; an empty string draws nothing.
    size : float
        Font size as a fraction of the image height (shrunk to fit the width).

    Returns
    -------
    ndarray of uint8, same shape as ``image``
    """
    image = check_image(image)
    height, width = image.shape[:2]
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for text, y, anchor in ((top, 0.03 * height, "mt"), (bottom, 0.97 * height, "mb")):
        if not text:
            continue
        px = drawing.fit_size(text, 0.94 * width, size * height)
        drawing.draw_text(
            draw,
            (width / 2, y),
            text,
            px,
            (255, 255, 255),
            anchor=anchor,
            stroke=max(1, round(px / 14)),
            stroke_fill=(0, 0, 0),
        )
    return drawing.to_array(canvas)


def _sticker(kind: str, side: int) -> Image.Image:
    """One sticker as RGBA, ``side`` pixels square plus a white die-cut border and a shadow."""
    pad = max(2, round(side * 0.12))
    full = side + 2 * pad
    layer = drawing.ShapeLayer((full, full))
    s, o = float(side), float(pad)
    if kind in ("smiley", "cool"):
        layer.ellipse(
            (o, o, o + s, o + s), (255, 204, 51, 255), outline=(226, 150, 20, 255), width=s * 0.03
        )
        brown = (92, 52, 20, 255)
        if kind == "smiley":
            for cx in (0.35, 0.65):
                layer.ellipse(
                    (o + s * (cx - 0.055), o + s * 0.28, o + s * (cx + 0.055), o + s * 0.45), brown
                )
        else:
            for left in (0.17, 0.53):
                layer.rounded_rect(
                    (o + s * left, o + s * 0.3, o + s * (left + 0.3), o + s * 0.46),
                    s * 0.06,
                    (20, 20, 24, 255),
                )
            layer.line(
                [(o + s * 0.45, o + s * 0.34), (o + s * 0.55, o + s * 0.34)],
                (20, 20, 24, 255),
                s * 0.04,
            )
        layer.arc((o + s * 0.25, o + s * 0.3, o + s * 0.75, o + s * 0.78), 20, 160, brown, s * 0.06)
    elif kind == "heart":
        red = (232, 38, 72, 255)
        r = s * 0.26
        layer.ellipse((o + s * 0.5 - 2 * r, o + s * 0.12, o + s * 0.5, o + s * 0.12 + 2 * r), red)
        layer.ellipse((o + s * 0.5, o + s * 0.12, o + s * 0.5 + 2 * r, o + s * 0.12 + 2 * r), red)
        layer.polygon(
            [
                (o + s * 0.5 - 2 * r * 0.97, o + s * 0.12 + r * 1.25),
                (o + s * 0.5 + 2 * r * 0.97, o + s * 0.12 + r * 1.25),
                (o + s * 0.5, o + s * 0.92),
            ],
            red,
        )
    elif kind == "star":
        points = []
        for i in range(10):
            radius = 0.5 if i % 2 == 0 else 0.21
            angle = -math.pi / 2 + i * math.pi / 5
            points.append(
                (
                    o + s * (0.5 + radius * math.cos(angle)),
                    o + s * (0.53 + radius * math.sin(angle)),
                )
            )
        layer.polygon(points, (255, 196, 0, 255))
    else:
        raise ValueError(f"kind must be one of {STICKER_KINDS}, got {kind!r}")
    art = layer.image()
    alpha = art.getchannel("A")
    # Die-cut white border and a soft shadow: what sticker packs in chat and story apps look like.
    # Dilation by blur-and-amplify: as wide as a max filter, but O(1) per pixel for big stickers.
    border = alpha.filter(ImageFilter.GaussianBlur(max(1.0, side * 0.03))).point(
        lambda v: min(255, 3 * v)
    )
    shadow = border.filter(ImageFilter.GaussianBlur(max(1.0, side * 0.03)))
    shift = max(1, round(side * 0.02))
    shadow_rgba = Image.new("RGBA", art.size, (0, 0, 0, 0))
    shadow_rgba.putalpha(shadow.point(lambda v: v * 35 // 100))
    out = Image.new("RGBA", art.size, (0, 0, 0, 0))
    out.alpha_composite(shadow_rgba, dest=(shift, shift))
    white = Image.new("RGBA", art.size, (255, 255, 255, 0))
    white.putalpha(border)
    out.alpha_composite(white)
    out.alpha_composite(art)
    return out


def stickers(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    count: tuple[int, int] = (3, 5),
    size: tuple[float, float] = (0.12, 0.22),
) -> np.ndarray:
    """Paste emoji-like stickers (smileys, hearts, stars) at random places, sizes and angles.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    rng : numpy.random.Generator
        Source of the number, kinds, sizes, angles and positions.
    count : (int, int)
        Inclusive range of the number of stickers.
    size : (float, float)
        Range of sticker sizes as fractions of the shorter image side.

    Returns
    -------
    ndarray of uint8, same shape as ``image``
    """
    image = check_image(image)
    if not 0 <= count[0] <= count[1]:
        raise ValueError(f"count must be an increasing pair of non-negative ints, got {count}")
    height, width = image.shape[:2]
    short = min(height, width)
    canvas = Image.fromarray(image).convert("RGBA")
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        kind = STICKER_KINDS[int(rng.integers(len(STICKER_KINDS)))]
        side = max(8, round(short * rng.uniform(*size)))
        art = _sticker(kind, side).rotate(
            float(rng.uniform(-25, 25)), resample=Image.Resampling.BICUBIC, expand=True
        )
        cx, cy = rng.uniform(0.08, 0.92) * width, rng.uniform(0.08, 0.92) * height
        _composite_at(canvas, art, cx, cy)
    return drawing.to_array(canvas)


def _composite_at(canvas: Image.Image, art: Image.Image, cx: float, cy: float) -> None:
    """Alpha-composite ``art`` onto ``canvas`` (both RGBA) centred at ``(cx, cy)``, clipped.

    Stickers may hang over the edge, as users drop them; Pillow wants the pasted part inside.
    """
    left, top = round(cx - art.width / 2), round(cy - art.height / 2)
    src_left, src_top = max(0, -left), max(0, -top)
    src_right = min(art.width, canvas.width - left)
    src_bottom = min(art.height, canvas.height - top)
    if src_right <= src_left or src_bottom <= src_top:
        return
    canvas.alpha_composite(
        art,
        dest=(left + src_left, top + src_top),
        source=(src_left, src_top, src_right, src_bottom),
    )


def logo_watermark(
    image: np.ndarray,
    *,
    text: str = "@daily.reposts",
    corner: str = "bottom-right",
    opacity: float = 0.6,
    size: float = 0.08,
) -> np.ndarray:
    """A semi-transparent platform logo and account handle in a corner, as reposting apps add.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    text : str
        Handle drawn beside the logo, ASCII.
    corner : {"bottom-right", "bottom-left", "top-right", "top-left"}
        Where the mark goes.
    opacity : float
        Opacity of the white mark, in (0, 1].
    size : float
        Logo height as a fraction of the shorter image side (at least 14 pixels).

    Returns
    -------
    ndarray of uint8, same shape as ``image``
    """
    image = check_image(image)
    corners = ("bottom-right", "bottom-left", "top-right", "top-left")
    if corner not in corners:
        raise ValueError(f"corner must be one of {corners}, got {corner!r}")
    if not 0.0 < opacity <= 1.0:
        raise ValueError(f"opacity must be in (0, 1], got {opacity}")
    height, width = image.shape[:2]
    logo = max(14.0, size * min(height, width))
    text_size = logo * 0.62
    text_w = drawing.text_width(text, text_size)
    pad = logo * 0.25
    mark_w, mark_h = math.ceil(logo + pad + text_w + 2 * pad), math.ceil(logo + 2 * pad)
    layer = drawing.ShapeLayer((mark_w, mark_h))
    white = (255, 255, 255, 255)
    # A camera-like glyph: rounded square outline, lens ring and flash dot.
    x0, y0 = pad, pad
    layer.rounded_rect(
        (x0, y0, x0 + logo, y0 + logo), logo * 0.28, None, outline=white, width=logo * 0.09
    )
    layer.ellipse(
        (x0 + logo * 0.28, y0 + logo * 0.28, x0 + logo * 0.72, y0 + logo * 0.72),
        None,
        outline=white,
        width=logo * 0.09,
    )
    layer.ellipse((x0 + logo * 0.7, y0 + logo * 0.17, x0 + logo * 0.8, y0 + logo * 0.27), white)
    mark = layer.image()
    ImageDraw.Draw(mark).text(
        (x0 + logo + pad, mark_h / 2), text, font=drawing.font(text_size), fill=white, anchor="lm"
    )
    alpha = mark.getchannel("A")
    # A faint dark halo keeps the mark legible on white areas, as the platforms do.
    halo = alpha.filter(ImageFilter.GaussianBlur(max(1.0, logo * 0.06)))
    shadow = Image.new("RGBA", mark.size, (0, 0, 0, 0))
    shadow.putalpha(halo.point(lambda v: v * 30 // 100))
    shadow.alpha_composite(mark)
    shadow.putalpha(shadow.getchannel("A").point(lambda v: round(v * opacity)))
    margin = round(logo * 0.4)
    left = margin if corner.endswith("left") else width - mark_w - margin
    top = margin if corner.startswith("top") else height - mark_h - margin
    canvas = Image.fromarray(image).convert("RGBA")
    _composite_at(canvas, shadow, left + mark_w / 2, top + mark_h / 2)
    return drawing.to_array(canvas)
