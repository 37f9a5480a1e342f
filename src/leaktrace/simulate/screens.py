"""Screenshots: the image as an application draws it, with the interface around it.

Three interfaces are drawn: a desktop image viewer, a web page in a browser and a phone chat app.
The layouts follow the real applications in spirit (sizes in device pixels, a 3x phone density),
not any one product pixel for pixel. What matters for leak attribution is reproduced: the image
resampled at the zoom level, rounded corners and overlaid timestamps cutting into it, and
high-contrast text and chrome around it that a registration step must ignore.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from leaktrace.simulate import drawing
from leaktrace.simulate.codecs import check_image
from leaktrace.simulate.geometry import scale

__all__ = ["UIS", "screenshot", "viewer_screen", "zoom_image"]

#: Interfaces that :func:`screenshot` can draw.
UIS = ("desktop", "browser", "chat")

_FILLER = (
    "The renders, which were shared with a small group of partners ahead of the launch event, "
    "show a redesigned housing and a new colour range. The company declined to comment on the "
    "images when contacted on Tuesday. People familiar with the plans said the final design had "
    "been locked for several weeks and that production samples were already with reviewers. "
    "It is not the first time material from the programme has appeared online before its "
    "official release, and the company is understood to have opened an internal investigation."
)

_CHAT_TEXTS = (
    "did you see this??",
    "omg is that the new one",
    "where did you get it",
    "a friend sent it to me, don't share it",
    "looks better than the last version tbh",
    "haha no way",
    "ok that colour though",
    "are we allowed to post this",
    "send the full res pls",
    "I thought this was still under NDA",
    "lol",
    "which deck is that from?",
)

_CHAT_NAMES = (("Alex", (192, 90, 43)), ("Sam", (41, 121, 182)), ("Priya", (137, 62, 160)))


def zoom_image(image: np.ndarray, zoom: float) -> np.ndarray:
    """Resample as a viewer does: area averaging when shrinking, bilinear when enlarging.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    zoom : float
        Scale factor, > 0.

    Returns
    -------
    ndarray of uint8
    """
    image = check_image(image)
    if zoom <= 0:
        raise ValueError(f"zoom must be > 0, got {zoom}")
    if zoom == 1.0:
        return image.copy()
    return scale(image, zoom, method="area" if zoom < 1 else "bilinear")


def _canvas_size(
    canvas: float | tuple[int, int], shown: np.ndarray, min_w: int, min_h: int
) -> tuple[int, int]:
    height, width = shown.shape[:2]
    if isinstance(canvas, tuple):
        out_w, out_h = int(canvas[0]), int(canvas[1])
    else:
        if canvas < 1.0:
            raise ValueError(f"canvas must be >= 1 (a factor of the shown image), got {canvas}")
        out_w, out_h = round(canvas * width), round(canvas * height)
    return max(out_w, min_w), max(out_h, min_h)


def screenshot(
    image: np.ndarray,
    *,
    zoom: float | None = None,
    canvas: float | tuple[int, int] | None = None,
    ui: str = "desktop",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A screenshot of an application showing ``image``.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    zoom : float, optional
        Scale at which the application draws the image. Defaults to 1.0 for ``"desktop"`` and
        ``"browser"``; for ``"chat"`` the image is fitted into the message bubble, and a given
        zoom is capped so that the image still fits.
    canvas : float or (int, int), optional
        Screenshot size: a float is a factor of the drawn image's size (default 1.4), a tuple
        an exact ``(width, height)``. Grown when needed to fit the interface. For ``"chat"``
        the default is a 1080 x 2340 portrait phone screen.
    ui : {"desktop", "browser", "chat"}
        The interface drawn around the image.
    rng : numpy.random.Generator, optional
        Varies the chat messages; without it the layout is fixed. Desktop and browser layouts
        do not use it.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
        The screenshot, meant to be saved losslessly (PNG) as screenshots are.
    """
    image = check_image(image)
    if ui not in UIS:
        raise ValueError(f"ui must be one of {UIS}, got {ui!r}")
    if ui == "chat":
        return _chat(image, zoom, canvas if canvas is not None else (1080, 2340), rng)
    shown = zoom_image(image, 1.0 if zoom is None else zoom)
    factor = 1.4 if canvas is None else canvas
    if ui == "desktop":
        return _desktop(shown, factor, image.shape)
    return _browser(shown, factor)


# --- desktop viewer -------------------------------------------------------------------------


def _desktop(
    shown: np.ndarray, canvas: float | tuple[int, int], source_shape: tuple[int, ...]
) -> np.ndarray:
    title_h, status_h, pad = 38, 26, 12
    zh, zw = shown.shape[:2]
    width, height = _canvas_size(canvas, shown, zw + 2 * pad, zh + title_h + status_h + 2 * pad)
    sidebar_w = min(220, width - zw - 2 * pad - 16)
    sidebar_w = sidebar_w if sidebar_w >= 110 else 0
    base = Image.new("RGB", (width, height), (236, 236, 236))
    draw = ImageDraw.Draw(base)
    # Title bar with a faint vertical gradient, as window managers draw them.
    for y in range(title_h):
        level = round(234 - 12 * y / title_h)
        draw.line([(0, y), (width, y)], fill=(level, level, level + 1))
    draw.line([(0, title_h), (width, title_h)], fill=(196, 196, 196))
    content_top, content_bottom = title_h + 1, height - status_h
    draw.rectangle([sidebar_w, content_top, width, content_bottom], fill=(246, 246, 246))
    if sidebar_w:
        draw.rectangle([0, content_top, sidebar_w - 1, content_bottom], fill=(228, 228, 230))
        draw.line(
            [(sidebar_w - 1, content_top), (sidebar_w - 1, content_bottom)], fill=(204, 204, 204)
        )
    draw.rectangle([0, content_bottom, width, height], fill=(234, 234, 234))
    draw.line([(0, content_bottom), (width, content_bottom)], fill=(200, 200, 200))

    shapes = drawing.ShapeLayer((width, height), supersample=2)
    for i, colour in enumerate(((255, 95, 87), (254, 188, 46), (40, 200, 64))):
        cx = 20 + 20 * i
        shapes.ellipse((cx - 6, 13, cx + 6, 25), colour + (255,), outline=(0, 0, 0, 40), width=0.5)
    for i in range(3):
        x = width - 36 - 34 * i
        if x < 100:
            break
        shapes.rounded_rect(
            (x, 8, x + 26, 30), 5, (0, 0, 0, 0), outline=(120, 120, 124, 255), width=1.2
        )
        shapes.ellipse((x + 8, 14, x + 18, 24), None, outline=(110, 110, 114, 255), width=1.5)
    items = ("Recents", "Desktop", "Downloads", "Shared", "Project X", "Renders", "Archive")
    if sidebar_w:
        shapes.rounded_rect(
            (8, content_top + 82, sidebar_w - 8, content_top + 106), 6, (208, 208, 214, 255)
        )
        for i in range(len(items)):
            y = content_top + 36 + 24 * i
            shapes.rounded_rect((16, y + 4, 28, y + 16), 2, (110, 140, 190, 255))
    base = drawing.composite(base, shapes)
    draw = ImageDraw.Draw(base)

    src_h, src_w = source_shape[:2]
    zoom_pct = round(100 * zw / src_w)
    title = _ellipsize("IMG_2041.jpg", 15, width - 200)
    drawing.draw_text(
        draw, (width / 2, title_h / 2), title, 15, (60, 60, 60), anchor="mm", bold=True
    )
    if sidebar_w:
        drawing.draw_text(
            draw, (14, content_top + 12), "Favourites", 12, (140, 140, 140), bold=True
        )
        for i, item in enumerate(items):
            y = content_top + 36 + 24 * i + 10
            drawing.draw_text(
                draw, (36, y), _ellipsize(item, 13, sidebar_w - 44), 13, (40, 40, 40), anchor="lm"
            )
    status = f"{src_w} x {src_h} pixels   {zoom_pct}%"
    drawing.draw_text(
        draw, (sidebar_w + 10, content_bottom + status_h / 2), status, 12, (80, 80, 80), anchor="lm"
    )
    if width - sidebar_w > 300:
        drawing.draw_text(
            draw,
            (width - 10, content_bottom + status_h / 2),
            "3 of 14",
            12,
            (80, 80, 80),
            anchor="rm",
        )

    out = np.asarray(base).copy()
    area_w, area_h = width - sidebar_w, content_bottom - content_top
    left = sidebar_w + (area_w - zw) // 2
    top = content_top + (area_h - zh) // 2
    out[top : top + zh, left : left + zw] = shown
    return out


def _ellipsize(text: str, size: float, max_width: float) -> str:
    """Cut ``text`` with "..." so that it fits in ``max_width``."""
    if drawing.text_width(text, size) <= max_width:
        return text
    while text and drawing.text_width(text + "...", size) > max_width:
        text = text[:-1]
    return text + "..."


# --- browser --------------------------------------------------------------------------------


def _browser(shown: np.ndarray, canvas: float | tuple[int, int]) -> np.ndarray:
    chrome_h, pad = 84, 16
    zh, zw = shown.shape[:2]
    width, height = _canvas_size(canvas, shown, max(zw + 2 * pad, 480), zh + chrome_h + 2 * pad)
    column = max(zw, min(width - 2 * pad, 680))
    col_left = (width - column) // 2
    text_size, line_h = 16, 25

    # The page is laid out on a tall sheet, then scrolled so that the image sits mid-viewport.
    lines = drawing.wrap(_FILLER, text_size, column)
    headline = drawing.wrap("First look: leaked renders reveal the redesign", 30, column)
    page_h = 64 + 24 + 40 * len(headline) + 36 + zh + 44 + line_h * 2 * len(lines) + 80
    page = Image.new("RGB", (width, page_h), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle([0, 0, width, 56], fill=(22, 34, 58))
    drawing.draw_text(
        draw, (col_left, 28), "THE DAILY EXAMPLE", 22, (255, 255, 255), anchor="lm", bold=True
    )
    y = 56 + 24
    for line in headline:
        drawing.draw_text(draw, (col_left, y), line, 30, (17, 17, 17), bold=True)
        y += 40
    drawing.draw_text(
        draw, (col_left, y + 4), "By Jordan Lee  |  12 March 2024, 09:14", 13, (110, 110, 110)
    )
    image_top = y + 36
    caption_y = image_top + zh + 10
    drawing.draw_text(draw, (col_left, caption_y), "Image: supplied", 13, (120, 120, 120))
    y = caption_y + 34
    for line in lines + lines:
        drawing.draw_text(draw, (col_left, y), line, text_size, (34, 34, 34))
        y += line_h
    page_arr = np.asarray(page).copy()
    img_left = col_left + (column - zw) // 2
    page_arr[image_top : image_top + zh, img_left : img_left + zw] = shown

    view_h = height - chrome_h
    scroll = int(np.clip(image_top + zh // 2 - view_h // 2, 0, max(0, page_h - view_h)))
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    visible = page_arr[scroll : scroll + view_h]
    out[chrome_h : chrome_h + visible.shape[0]] = visible

    chrome = Image.fromarray(out)
    draw = ImageDraw.Draw(chrome)
    draw.rectangle([0, 0, width, 40], fill=(222, 225, 230))
    draw.rectangle([0, 40, width, chrome_h - 1], fill=(255, 255, 255))
    draw.line([(0, chrome_h - 1), (width, chrome_h - 1)], fill=(218, 220, 224))
    shapes = drawing.ShapeLayer((width, chrome_h), supersample=2)
    tab_w = min(240, width - 80)
    shapes.rounded_rect((8, 6, 8 + tab_w, 48), 10, (255, 255, 255, 255))
    url_left, url_right = 110, width - 50
    if url_right - url_left > 60:
        shapes.rounded_rect((url_left, 46, url_right, 78), 16, (241, 243, 244, 255))
    for i in range(2):
        x = 18 + 30 * i
        direction = -1 if i == 0 else 1
        shapes.line(
            [(x + 6 + direction * 4, 54), (x + 6 - direction * 4, 62), (x + 6 + direction * 4, 70)],
            (95, 99, 104, 255),
            2,
        )
    shapes.ellipse((78, 53, 96, 71), None, outline=(95, 99, 104, 255), width=2)
    for i in range(3):
        shapes.ellipse((width - 28, 54 + 6 * i, width - 24, 58 + 6 * i), (95, 99, 104, 255))
    chrome = drawing.composite(chrome, shapes)
    draw = ImageDraw.Draw(chrome)
    drawing.draw_text(
        draw,
        (22, 27),
        _ellipsize("First look: leaked renders - The Daily", 12, tab_w - 30),
        12,
        (50, 50, 50),
        anchor="lm",
    )
    if url_right - url_left > 60:
        url = _ellipsize(
            "dailyexample.com/2024/03/tech/first-look-leaked-renders", 14, url_right - url_left - 30
        )
        drawing.draw_text(draw, (url_left + 16, 62), url, 14, (32, 33, 36), anchor="lm")
    return drawing.to_array(chrome)


# --- phone chat -----------------------------------------------------------------------------


def _chat(
    image: np.ndarray,
    zoom: float | None,
    canvas: float | tuple[int, int],
    rng: np.random.Generator | None,
) -> np.ndarray:
    if not isinstance(canvas, tuple):
        raise ValueError("canvas must be a (width, height) phone screen size for ui='chat'")
    width, height = int(canvas[0]), int(canvas[1])
    if width < 360 or height < width:
        raise ValueError(f"canvas must be a portrait phone screen >= 360 wide, got {canvas}")
    # A fixed local generator keeps the layout reproducible when no rng is given.
    rng = np.random.default_rng(0) if rng is None else rng
    k = width / 1080.0  # the layout is specified for 1080-pixel-wide (3x density) screens
    status_h, bar_h, input_h, nav_h = round(75 * k), round(168 * k), round(150 * k), round(66 * k)
    chat_top, chat_bottom = status_h + bar_h, height - input_h - nav_h
    teal, chat_bg = (32, 108, 98), (236, 229, 221)

    # Image bubble size: fit the bubble (downscaling large images, as messengers do).
    pad = round(8 * k)
    box_w, box_h = round(0.70 * width), round(0.42 * height)
    src_h, src_w = image.shape[:2]
    fit = min(box_w / src_w, box_h / src_h)
    shown = zoom_image(image, fit if zoom is None else min(zoom, fit))
    zh, zw = shown.shape[:2]

    outgoing_image = bool(rng.random() < 0.5)
    n_after = int(rng.integers(0, 3))
    minute = 10 * 60 + 41  # the image's timestamp; older messages get earlier times

    texts = [_CHAT_TEXTS[i] for i in rng.permutation(len(_CHAT_TEXTS))]
    caption = texts.pop() if rng.random() < 0.4 else ""
    text_size, small = 44 * k, 30 * k
    max_text_w = 0.72 * width

    # Messages are stacked bottom-up from the input bar: the chat is scrolled to the newest.
    bubbles: list[dict] = []
    y = chat_bottom - round(24 * k)
    for i in range(n_after):
        bubble = _text_bubble(
            texts.pop(),
            bool(rng.random() < 0.5),
            text_size,
            small,
            max_text_w,
            k,
            _clock(minute + n_after - i),
        )
        y -= bubble["h"]
        bubble["y"] = y
        bubbles.append(bubble)
        y -= round(14 * k)
    cap_lines = drawing.wrap(caption, text_size, zw - 24 * k) if caption else []
    img_bubble_h = zh + 2 * pad + round((len(cap_lines) * 56 + (20 if cap_lines else 0)) * k)
    y -= img_bubble_h
    image_msg = {
        "image": True,
        "out": outgoing_image,
        "y": y,
        "h": img_bubble_h,
        "w": zw + 2 * pad,
        "caption": cap_lines,
    }
    bubbles.append(image_msg)
    y -= round(14 * k)
    earlier = minute
    while y > chat_top - round(200 * k) and texts:
        earlier -= int(rng.integers(0, 3))
        bubble = _text_bubble(
            texts.pop(), bool(rng.random() < 0.5), text_size, small, max_text_w, k, _clock(earlier)
        )
        y -= bubble["h"]
        bubble["y"] = y
        bubbles.append(bubble)
        y -= round(14 * k)

    base = Image.new("RGB", (width, height), chat_bg)
    shapes = drawing.ShapeLayer(
        (width, chat_bottom - chat_top), supersample=2, origin=(0, chat_top)
    )
    margin = round(28 * k)
    for b in bubbles:
        b["x"] = width - margin - b["w"] if b["out"] else margin
        colour = (217, 253, 211, 255) if b["out"] else (255, 255, 255, 255)
        shapes.rounded_rect((b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]), 22 * k, colour)
    base = drawing.composite(base, shapes)
    draw = ImageDraw.Draw(base)
    for b in bubbles:
        if b.get("image"):
            continue
        ty = b["y"] + round(16 * k)
        if b.get("name"):
            name, colour = b["name"]
            drawing.draw_text(draw, (b["x"] + 26 * k, ty), name, 36 * k, colour, bold=True)
            ty += round(48 * k)
        for line in b["lines"]:
            drawing.draw_text(draw, (b["x"] + 26 * k, ty), line, text_size, (17, 17, 17))
            ty += round(56 * k)
        drawing.draw_text(
            draw,
            (b["x"] + b["w"] - 22 * k, b["y"] + b["h"] - 12 * k),
            b["time"],
            small,
            (120, 120, 120),
            anchor="rb",
        )
    out = np.asarray(base).copy()

    # The picture: rounded corners, a dark gradient under the timestamp drawn over it.
    ix, iy = image_msg["x"] + pad, image_msg["y"] + pad
    picture = Image.fromarray(shown).convert("RGBA")
    shade = np.zeros((zh, zw), dtype=np.float32)
    ramp = min(zh, round(90 * k))
    shade[zh - ramp :] = np.linspace(0.0, 0.38, ramp, dtype=np.float32)[:, None]
    pic = np.asarray(picture.convert("RGB")).astype(np.float32) * (1.0 - shade[..., None])
    picture = Image.fromarray(np.rint(pic).astype(np.uint8))
    pic_draw = ImageDraw.Draw(picture)
    drawing.draw_text(
        pic_draw, (zw - 16 * k, zh - 12 * k), _clock(minute), small, (255, 255, 255), anchor="rb"
    )
    mask = drawing.rounded_mask((zw, zh), 16 * k)
    page = Image.fromarray(out)
    page.paste(picture, (ix, iy), mask)
    draw = ImageDraw.Draw(page)
    ty = iy + zh + round(14 * k)
    for line in image_msg["caption"]:
        drawing.draw_text(draw, (ix + 12 * k, ty), line, text_size, (17, 17, 17))
        ty += round(56 * k)

    _chat_chrome(page, k, status_h, bar_h, input_h, nav_h, teal, chat_bg)
    return drawing.to_array(page)


def _clock(minutes: int) -> str:
    return f"{minutes // 60 % 24}:{minutes % 60:02d}"


def _text_bubble(
    text: str, outgoing: bool, size: float, small: float, max_w: float, k: float, time: str
) -> dict:
    lines = drawing.wrap(text, size, max_w)
    name = None if outgoing else _CHAT_NAMES[len(text) % len(_CHAT_NAMES)]
    text_w = max(drawing.text_width(line, size) for line in lines)
    if name:
        text_w = max(text_w, drawing.text_width(name[0], 36 * k) + 8 * k)
    width = round(text_w + 52 * k + drawing.text_width(time, small) + 16 * k)
    height = round(16 * k + 56 * k * len(lines) + (48 * k if name else 0) + 30 * k)
    return {"out": outgoing, "lines": lines, "name": name, "w": width, "h": height, "time": time}


def _chat_chrome(
    page: Image.Image,
    k: float,
    status_h: int,
    bar_h: int,
    input_h: int,
    nav_h: int,
    teal: tuple[int, int, int],
    chat_bg: tuple[int, int, int],
) -> None:
    """Status bar, app bar, input bar and navigation bar, drawn over the scrolled messages."""
    width, height = page.size
    draw = ImageDraw.Draw(page)
    draw.rectangle([0, 0, width, status_h], fill=(26, 92, 84))
    draw.rectangle([0, status_h, width, status_h + bar_h], fill=teal)
    input_top = height - input_h - nav_h
    draw.rectangle([0, input_top, width, height], fill=chat_bg)
    white = (255, 255, 255, 255)
    # Two small layers (top bars, bottom bars) rather than one screen-sized layer: faster.
    shapes = drawing.ShapeLayer((width, status_h + bar_h), supersample=2)
    # Status bar: signal bars and a battery.
    right = width - 40 * k
    shapes.rounded_rect(
        (right - 62 * k, 24 * k, right - 8 * k, 50 * k), 6 * k, None, outline=white, width=3 * k
    )
    shapes.rounded_rect((right - 57 * k, 29 * k, right - 22 * k, 45 * k), 3 * k, white)
    shapes.rounded_rect((right - 6 * k, 32 * k, right - 1 * k, 42 * k), 2 * k, white)
    for i in range(4):
        x = right - 180 * k + 14 * k * i
        shapes.rounded_rect((x, (48 - 7 * i - 8) * k, x + 9 * k, 50 * k), 2 * k, white)
    # App bar: back chevron, avatar, call and menu glyphs.
    cy = status_h + bar_h / 2
    shapes.line([(56 * k, cy - 22 * k), (34 * k, cy), (56 * k, cy + 22 * k)], white, 6 * k)
    shapes.ellipse((84 * k, cy - 50 * k, 184 * k, cy + 50 * k), (244, 184, 96, 255))
    shapes.rounded_rect((width - 290 * k, cy - 20 * k, width - 236 * k, cy + 20 * k), 6 * k, white)
    shapes.polygon(
        [(width - 238 * k, cy), (width - 212 * k, cy - 18 * k), (width - 212 * k, cy + 18 * k)],
        white,
    )
    shapes.ellipse(
        (width - 170 * k, cy - 22 * k, width - 126 * k, cy + 22 * k),
        None,
        outline=white,
        width=5 * k,
    )
    for i in (-1, 0, 1):
        shapes.ellipse(
            (width - 58 * k, cy + (26 * i - 6) * k, width - 46 * k, cy + (26 * i + 6) * k), white
        )
    page.paste(drawing.composite(page, shapes))
    shapes = drawing.ShapeLayer((width, height - input_top), supersample=2, origin=(0, input_top))
    # Input bar: a pill with placeholder text, and a round microphone button.
    pill_top, pill_bottom = input_top + 18 * k, input_top + input_h - 18 * k
    shapes.rounded_rect(
        (24 * k, pill_top, width - 170 * k, pill_bottom), 60 * k, (255, 255, 255, 255)
    )
    grey = (134, 150, 160, 255)
    mid = (pill_top + pill_bottom) / 2
    shapes.ellipse((52 * k, mid - 26 * k, 104 * k, mid + 26 * k), None, outline=grey, width=5 * k)
    shapes.rounded_rect(
        (width - 290 * k, mid - 22 * k, width - 230 * k, mid + 22 * k),
        10 * k,
        None,
        outline=grey,
        width=5 * k,
    )
    shapes.ellipse((width - 150 * k, mid - 60 * k, width - 30 * k, mid + 60 * k), teal + (255,))
    shapes.rounded_rect((width - 102 * k, mid - 34 * k, width - 78 * k, mid + 6 * k), 12 * k, white)
    shapes.arc((width - 114 * k, mid - 20 * k, width - 66 * k, mid + 20 * k), 0, 180, white, 5 * k)
    shapes.line([(width - 90 * k, mid + 20 * k), (width - 90 * k, mid + 32 * k)], white, 5 * k)
    # Gesture navigation handle.
    shapes.rounded_rect(
        (
            width / 2 - 110 * k,
            height - nav_h / 2 - 6 * k,
            width / 2 + 110 * k,
            height - nav_h / 2 + 6 * k,
        ),
        6 * k,
        (60, 60, 60, 255),
    )
    page.paste(drawing.composite(page, shapes))
    draw = ImageDraw.Draw(page)
    drawing.draw_text(
        draw, (40 * k, status_h / 2), "9:41", 36 * k, (255, 255, 255), anchor="lm", bold=True
    )
    drawing.draw_text(draw, (134 * k, cy), "D", 48 * k, (255, 255, 255), anchor="mm", bold=True)
    drawing.draw_text(
        draw, (206 * k, cy - 24 * k), "Design team", 46 * k, (255, 255, 255), anchor="lm", bold=True
    )
    drawing.draw_text(
        draw, (206 * k, cy + 28 * k), "Alex, Priya, Sam, You", 32 * k, (214, 234, 230), anchor="lm"
    )
    drawing.draw_text(draw, (130 * k, mid), "Message", 44 * k, (134, 150, 160), anchor="lm")


# --- full-screen viewer (what a phone photographs) ------------------------------------------


def viewer_screen(
    image: np.ndarray, size: tuple[int, int] = (1920, 1080), *, max_zoom: float = 1.0
) -> np.ndarray:
    """A monitor's frame buffer showing ``image`` in a dark full-screen viewer.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    size : (int, int)
        Screen resolution ``(width, height)``.
    max_zoom : float
        Largest zoom; viewers fit large images to the screen and show small ones at 100 %.

    Returns
    -------
    ndarray of uint8, shape (size[1], size[0], 3)
    """
    image = check_image(image)
    width, height = int(size[0]), int(size[1])
    bar_h = max(24, round(height * 0.04))
    src_h, src_w = image.shape[:2]
    fit = min(0.98 * width / src_w, 0.96 * (height - bar_h) / src_h, max_zoom)
    shown = zoom_image(image, fit)
    zh, zw = shown.shape[:2]
    base = Image.new("RGB", (width, height), (22, 22, 23))
    draw = ImageDraw.Draw(base)
    draw.rectangle([0, 0, width, bar_h], fill=(44, 44, 46))
    text = round(bar_h * 0.45)
    drawing.draw_text(
        draw, (bar_h * 0.6, bar_h / 2), "IMG_2041.jpg", text, (220, 220, 220), anchor="lm"
    )
    drawing.draw_text(
        draw,
        (width - bar_h * 0.6, bar_h / 2),
        f"{round(100 * zw / src_w)}%",
        text,
        (200, 200, 200),
        anchor="rm",
    )
    out = np.asarray(base).copy()
    top = bar_h + (height - bar_h - zh) // 2
    left = (width - zw) // 2
    out[top : top + zh, left : left + zw] = shown
    return out
