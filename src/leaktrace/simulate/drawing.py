"""Small drawing helpers shared by overlays and screenshots (private).

Text uses the font bundled with Pillow (``ImageFont.load_default(size=...)``, Aileron), so the
output does not depend on the fonts installed on the machine. It covers ASCII only: keep UI
strings ASCII. Shapes are drawn at ``SUPERSAMPLE`` times the size and reduced with a box filter,
because Pillow draws them without antialiasing and jagged edges would be a simulator artefact.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SUPERSAMPLE = 4

Colour = tuple[int, int, int] | tuple[int, int, int, int]


def font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font at ``size`` pixels."""
    return ImageFont.load_default(size=max(6, round(size)))


def text_width(text: str, size: float) -> float:
    """Advance width of ``text`` in pixels at ``size``."""
    return font(size).getlength(text)


def fit_size(text: str, max_width: float, size: float, *, min_size: float = 6) -> float:
    """The largest font size <= ``size`` at which ``text`` fits in ``max_width``."""
    width = text_width(text, size)
    if width <= max_width:
        return size
    return max(min_size, size * max_width / width * 0.98)


def wrap(text: str, size: float, max_width: float) -> list[str]:
    """Greedy word wrap of ``text`` at ``size`` within ``max_width`` pixels."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and text_width(candidate, size) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: float,
    fill: Colour,
    *,
    anchor: str = "la",
    bold: bool = False,
    stroke: int = 0,
    stroke_fill: Colour | None = None,
) -> None:
    """Draw one line; ``bold`` fakes a heavier weight with a thin stroke of the same colour."""
    width = stroke if stroke else (max(1, round(size / 28)) if bold else 0)
    draw.text(
        xy,
        text,
        font=font(size),
        fill=fill,
        anchor=anchor,
        stroke_width=width,
        stroke_fill=stroke_fill if stroke_fill is not None else fill,
    )


class ShapeLayer:
    """An RGBA layer whose shapes are drawn supersampled and reduced on :meth:`image`.

    Coordinates passed to the drawing methods are in output pixels of the canvas the layer
    will be composited on; ``origin`` is where the layer's top-left corner goes on it, so a
    small layer can cover part of a large canvas.
    """

    def __init__(
        self,
        size: tuple[int, int],
        *,
        supersample: int = SUPERSAMPLE,
        origin: tuple[int, int] = (0, 0),
    ) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.origin = (int(origin[0]), int(origin[1]))
        self.k = int(supersample)
        self._big = Image.new("RGBA", (self.size[0] * self.k, self.size[1] * self.k), (0, 0, 0, 0))
        self._draw = ImageDraw.Draw(self._big)

    def _scale(self, box: tuple[float, ...]) -> list[float]:
        ox, oy = self.origin
        return [(v - (ox if i % 2 == 0 else oy)) * self.k for i, v in enumerate(box)]

    def _points(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        ox, oy = self.origin
        return [((x - ox) * self.k, (y - oy) * self.k) for x, y in points]

    def rounded_rect(
        self,
        box: tuple[float, float, float, float],
        radius: float,
        fill: Colour,
        *,
        outline: Colour | None = None,
        width: float = 0,
    ) -> None:
        self._draw.rounded_rectangle(
            self._scale(box),
            radius=radius * self.k,
            fill=fill,
            outline=outline,
            width=round(width * self.k),
        )

    def ellipse(
        self,
        box: tuple[float, float, float, float],
        fill: Colour | None,
        *,
        outline: Colour | None = None,
        width: float = 0,
    ) -> None:
        self._draw.ellipse(
            self._scale(box), fill=fill, outline=outline, width=round(width * self.k)
        )

    def polygon(self, points: list[tuple[float, float]], fill: Colour) -> None:
        self._draw.polygon(self._points(points), fill=fill)

    def line(self, points: list[tuple[float, float]], fill: Colour, width: float) -> None:
        self._draw.line(
            self._points(points),
            fill=fill,
            width=max(1, round(width * self.k)),
            joint="curve",
        )

    def arc(
        self,
        box: tuple[float, float, float, float],
        start: float,
        end: float,
        fill: Colour,
        width: float,
    ) -> None:
        self._draw.arc(self._scale(box), start, end, fill=fill, width=max(1, round(width * self.k)))

    def image(self) -> Image.Image:
        """The layer at output size, antialiased."""
        return self._big.resize(self.size, Image.Resampling.BOX)


def composite(base: Image.Image, layer: ShapeLayer) -> Image.Image:
    """Alpha-composite a shape layer onto an RGB image at the layer's origin, returning RGB."""
    top = layer.image()
    box = (*layer.origin, layer.origin[0] + top.width, layer.origin[1] + top.height)
    out = base.copy()
    region = base.crop(box).convert("RGBA")
    region.alpha_composite(top)
    out.paste(region.convert("RGB"), box[:2])
    return out


def rounded_mask(size: tuple[int, int], radius: float) -> Image.Image:
    """An antialiased "L" mask of a rounded rectangle filling ``size``."""
    layer = ShapeLayer(size)
    layer.rounded_rect((0, 0, size[0], size[1]), radius, (255, 255, 255, 255))
    return layer.image().getchannel("A")


def to_array(image: Image.Image) -> np.ndarray:
    """RGB array copy of a Pillow image."""
    return np.asarray(image.convert("RGB")).copy()
