"""Leak simulator: what happens to an image between a recipient and the investigator.

The named attacks in :data:`ATTACKS` (re-posts, crops, screenshots, phone photos of a screen,
filters, overlays and their combinations) are used to test and benchmark identification::

    from leaktrace.simulate import ATTACKS, run_attack

    data, ext = run_attack("social480", image, seed=0)

Every attack is a pure function of the image and a seeded :class:`numpy.random.Generator`; the
helpers it is built from are public and reusable. Encoders (:func:`jpeg`, :func:`webp`, ...)
return file bytes; every other helper returns a new RGB ``uint8`` array. OpenCV is imported
only by the helpers that need it.
"""

from leaktrace.simulate.camera import PHONE_PRESETS, phone_photo_of_screen, screen_quad
from leaktrace.simulate.catalogue import ATTACKS, GROUPS, Attack, get_attack, run_attack
from leaktrace.simulate.codecs import (
    avif,
    avif_supported,
    check_image,
    decode,
    encode,
    jpeg,
    png,
    recompress,
    webp,
)
from leaktrace.simulate.geometry import (
    barrel,
    crop_aspect,
    crop_fraction,
    flip_horizontal,
    homography_from_points,
    limit_long,
    perspective,
    resize,
    resize_long,
    rotate_crop,
    scale,
)
from leaktrace.simulate.overlays import caption_bar, logo_watermark, meme_text, stickers
from leaktrace.simulate.photometric import (
    brightness_contrast,
    gamma,
    gaussian_blur,
    gaussian_noise,
    grayscale,
    median_filter,
    saturation,
    tone_curve,
    unsharp_mask,
    vignette,
    warm_filter,
)
from leaktrace.simulate.screens import screenshot, viewer_screen, zoom_image

__all__ = [
    "ATTACKS",
    "GROUPS",
    "PHONE_PRESETS",
    "Attack",
    "avif",
    "avif_supported",
    "barrel",
    "brightness_contrast",
    "caption_bar",
    "check_image",
    "crop_aspect",
    "crop_fraction",
    "decode",
    "encode",
    "flip_horizontal",
    "gamma",
    "gaussian_blur",
    "gaussian_noise",
    "get_attack",
    "grayscale",
    "homography_from_points",
    "jpeg",
    "limit_long",
    "logo_watermark",
    "median_filter",
    "meme_text",
    "perspective",
    "phone_photo_of_screen",
    "png",
    "recompress",
    "resize",
    "resize_long",
    "rotate_crop",
    "run_attack",
    "saturation",
    "scale",
    "screen_quad",
    "screenshot",
    "stickers",
    "tone_curve",
    "unsharp_mask",
    "viewer_screen",
    "vignette",
    "warm_filter",
    "webp",
    "zoom_image",
]
