"""Phone photos of a screen: the hardest common leak, simulated from the physics up.

The chain follows the light: the image is shown full screen on a monitor; the monitor's
subpixel grid (RGB stripes with a black matrix) is seen by a phone camera under perspective,
through a lens (blur, barrel distortion, vignetting), sampled by a Bayer sensor (which aliases the
grid into moire, in colour), with shot and read noise, then developed by a phone pipeline
(demosaicing, white-balance error, tone curve, chroma denoising, sharpening). The monitor sits in
an out-of-focus room so that the screen fills only part of a 12-megapixel frame.

Light is handled in linear units where 1.0 is the screen's white.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from leaktrace.simulate.codecs import check_image
from leaktrace.simulate.geometry import homography_from_points
from leaktrace.simulate.screens import viewer_screen
from leaktrace.simulate.sensor import (
    develop,
    motion_kernel,
    sample_field,
    sensor_capture,
    white_balance,
)

__all__ = ["PHONE_PRESETS", "phone_photo_of_screen", "screen_quad"]

#: Parameters of :func:`phone_photo_of_screen` for the three difficulty levels of the benchmark.
PHONE_PRESETS: dict[str, dict[str, object]] = {
    # Steady hands, straight on, bright room: the screen fills ~2/3 of the frame.
    "easy": {
        "screen_size": (1920, 1080),
        "fill": 0.66,
        "yaw": 4.0,
        "pitch": 3.0,
        "roll": 1.0,
        "blur": 0.7,
        "motion": 0.0,
        "noise": 0.5,
        "moire": 0.4,
        "cast": 0.03,
        "glare": 0.0,
        "exposure": 0.9,
        "distortion": 0.01,
        "max_zoom": 2.0,
    },
    # A quick snap at an angle with visible moire and a faint reflection.
    "normal": {
        "screen_size": (1920, 1080),
        "fill": 0.6,
        "yaw": 12.0,
        "pitch": 6.0,
        "roll": 3.0,
        "blur": 0.55,
        "motion": 0.0,
        "noise": 1.0,
        "moire": 0.6,
        "cast": 0.06,
        "glare": 0.06,
        "exposure": 0.85,
        "distortion": 0.02,
        "max_zoom": 1.5,
    },
    # A dim room, a steep angle, a denser (1440p) screen, hand shake and a window reflection.
    "hard": {
        "screen_size": (2560, 1440),
        "fill": 0.5,
        "yaw": 24.0,
        "pitch": 10.0,
        "roll": 6.0,
        "blur": 0.9,
        "motion": 3.0,
        "noise": 2.5,
        "moire": 0.8,
        "cast": 0.1,
        "glare": 0.15,
        "exposure": 0.7,
        "distortion": 0.03,
        "max_zoom": 1.5,
    },
}

# sRGB decoding table, so that the frame buffer becomes emitted light in one lookup.
_LEVELS = np.arange(256, dtype=np.float64) / 255.0
# Rows rendered at a time (even, so that every strip starts on the same Bayer phase).
_STRIP = 128
# Smooth fields are computed on a grid this many times coarser than the photo.
_STEP = 4
# Linear reflectance of the monitor's black plastic.
_PLASTIC = np.float32(0.012)
_SRGB_TO_LINEAR = np.where(
    _LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4
).astype(np.float32)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return r_roll @ r_pitch @ r_yaw


def _area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def screen_quad(
    rng: np.random.Generator,
    *,
    screen_size: tuple[int, int] = (1920, 1080),
    photo_size: tuple[int, int] = (4032, 3024),
    fill: float = 0.6,
    yaw: float = 12.0,
    pitch: float = 6.0,
    roll: float = 3.0,
    distance: float = 1.2,
    margin: float = 0.02,
) -> np.ndarray:
    """Where the corners of a screen land in a photo taken at a random angle.

    The screen is a flat rectangle ``distance`` screen-widths from a pinhole camera, turned by
    ``yaw`` and ``pitch`` (each between half and all of the given angle, either sign) and
    ``roll`` (uniform in +-roll). The projection is scaled so that the screen covers ``fill`` of
    the frame, or less when it would not fit inside the ``margin``, and placed near the centre
    with a random offset, as people frame a photo.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the angles and offset.
    screen_size : (int, int)
        Screen resolution ``(width, height)``; only its aspect ratio matters here.
    photo_size : (int, int)
        Photo ``(width, height)``.
    fill : float
        Target fraction of the photo area covered by the screen, in (0, 1).
    yaw, pitch, roll : float
        Largest angles, in degrees.
    distance : float
        Camera distance in screen widths; smaller means stronger perspective.
    margin : float
        Smallest gap between the screen and the photo edges, as a fraction of each side.

    Returns
    -------
    ndarray of float64, shape (4, 2)
        Photo coordinates ``(x, y)`` of the screen's top-left, top-right, bottom-right and
        bottom-left corners.
    """
    if not 0.0 < fill < 1.0:
        raise ValueError(f"fill must be in (0, 1), got {fill}")
    if distance <= 0.5:
        raise ValueError(f"distance must be > 0.5 screen widths, got {distance}")
    width, height = photo_size
    aspect = screen_size[1] / screen_size[0]

    def tilt(limit: float) -> float:
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return math.radians(sign * limit * rng.uniform(0.5, 1.0))

    rot = _rotation(tilt(yaw), tilt(pitch), math.radians(rng.uniform(-roll, roll)))
    corners = np.array(
        [[-0.5, -aspect / 2, 0], [0.5, -aspect / 2, 0], [0.5, aspect / 2, 0], [-0.5, aspect / 2, 0]]
    )
    points = corners @ rot.T + [0.0, 0.0, distance]
    quad = points[:, :2] / points[:, 2:]
    # Scaling the projection is a change of focal length: the perspective stays physical.
    quad *= math.sqrt(fill * width * height / _area(quad))
    span = quad.max(axis=0) - quad.min(axis=0)
    allowed = (1.0 - 2.0 * margin) * np.array([width, height])
    quad *= min(1.0, float(np.min(allowed / span)))
    span = quad.max(axis=0) - quad.min(axis=0)
    slack = allowed - span
    centre = np.array([width, height]) / 2.0 + rng.uniform(-0.4, 0.4, size=2) * slack
    return quad - (quad.max(axis=0) + quad.min(axis=0)) / 2.0 + centre


def _subpixel_tile(sigma: float, tile: int = 24) -> np.ndarray:
    """One screen pixel's RGB emission (vertical stripes, black matrix), blurred periodically.

    ``sigma`` is the camera's blur expressed in screen pixels; the blur is applied in the
    Fourier domain so the tile stays exactly periodic. Each channel averages to 1.
    """
    pos = (np.arange(tile) + 0.5) / tile
    rows = ((pos > 0.06) & (pos < 0.94)).astype(np.float64)
    mask = np.zeros((tile, tile, 3))
    for channel in range(3):
        cols = (pos > channel / 3 + 0.035) & (pos < (channel + 1) / 3 - 0.035)
        mask[..., channel] = rows[:, None] * cols[None, :]
    mask /= mask.mean(axis=(0, 1))
    freq = np.fft.fftfreq(tile, d=1.0 / tile)  # cycles per screen pixel
    gain = np.exp(-2.0 * math.pi**2 * sigma**2 * (freq[:, None] ** 2 + freq[None, :] ** 2))
    blurred = np.fft.ifft2(np.fft.fft2(mask, axes=(0, 1)) * gain[..., None], axes=(0, 1)).real
    return blurred.astype(np.float32)


def _room(
    rng: np.random.Generator, size: tuple[int, int], desk_y: float, level: float
) -> np.ndarray:
    """A blurred room behind the monitor: a lit wall and, below ``desk_y``, a desk."""
    import cv2

    width, height = size
    # Warm white, grey, pale blue and off-white walls; wood, black, white and brown desks.
    walls = np.array([[0.62, 0.56, 0.47], [0.45, 0.45, 0.47], [0.44, 0.48, 0.53], [0.6, 0.6, 0.58]])
    desks = np.array(
        [[0.34, 0.21, 0.11], [0.07, 0.07, 0.08], [0.55, 0.55, 0.54], [0.25, 0.2, 0.16]]
    )
    wall = walls[rng.integers(len(walls))] * level
    desk = desks[rng.integers(len(desks))] * level * 1.2
    light = cv2.resize(
        rng.standard_normal((5, 7)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    # A lamp or window on one side: the wall brightens towards it.
    slope = np.float32(rng.uniform(-0.35, 0.35))
    shade = np.clip(1.0 + slope * xs + 0.2 * light, 0.4, 1.8)[..., None]
    room = np.where((ys < desk_y / height)[..., None], wall, desk * (0.8 + 0.4 * ys[..., None]))
    return (room * shade).astype(np.float32)


def _signed_inside(
    u: np.ndarray, v: np.ndarray, box: tuple[float, float, float, float], scale: float
) -> np.ndarray:
    """Distance in photo pixels from screen points ``(u, v)`` to the edge of ``box`` (> 0 inside).

    The distance field is smooth, so it can be computed coarse and interpolated; clipping
    ``distance + 0.5`` to [0, 1] then gives a coverage antialiased over about one photo pixel.
    """
    left, top, right, bottom = box
    inside = np.minimum(np.minimum(u - left, right - u), np.minimum(v - top, bottom - v))
    return (inside * scale).astype(np.float32)


def phone_photo_of_screen(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    screen_size: tuple[int, int] = (1920, 1080),
    photo_size: tuple[int, int] = (4032, 3024),
    fill: float = 0.6,
    yaw: float = 12.0,
    pitch: float = 6.0,
    roll: float = 3.0,
    blur: float = 0.55,
    motion: float = 0.0,
    noise: float = 1.0,
    moire: float = 1.0,
    cast: float = 0.06,
    gamma: float = 1.0,
    glare: float = 0.06,
    exposure: float = 0.85,
    distortion: float = 0.02,
    max_zoom: float = 1.0,
) -> np.ndarray:
    """A phone photo of a monitor showing ``image`` full screen.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image shown on the screen (fitted, never enlarged beyond ``max_zoom``).
    rng : numpy.random.Generator
        Source of the viewpoint, room, colour cast, reflection, shake and sensor noise.
    screen_size : (int, int)
        Monitor resolution ``(width, height)``.
    photo_size : (int, int)
        Photo size ``(width, height)``, even numbers; the default is a 12-megapixel 4:3 camera.
    fill : float
        Fraction of the photo covered by the screen (see :func:`screen_quad`).
    yaw, pitch, roll : float
        Largest viewing angles, in degrees.
    blur : float
        Lens blur (Gaussian sigma) in photo pixels; ~0.5 is a sharp phone lens.
    motion : float
        Length in photo pixels of a linear hand-shake blur in a random direction (0: none).
    noise : float
        Sensor noise multiplier: 1 is a phone in a lit office, 2-3 a dim room.
    moire : float
        Contrast of the screen's subpixel grid, 0 (none) to 1 (physical).
    cast : float
        Standard deviation of the white-balance error per channel (log gain).
    gamma : float
        Extra tone-curve exponent of the phone pipeline (jittered by +-5 %).
    glare : float
        Peak of a soft reflection on the screen, in units of screen white.
    exposure : float
        Brightness of the screen's white in the photo before the tone curve.
    distortion : float
        Barrel distortion of the phone lens (see :func:`~leaktrace.simulate.geometry.barrel`).
    max_zoom : float
        Largest zoom of the viewer on the monitor.

    Returns
    -------
    ndarray of uint8, shape (photo_size[1], photo_size[0], 3)
        The developed photo, before the phone's JPEG encoder.

    References
    ----------
    .. [1] A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical Poissonian-Gaussian
           noise modeling and fitting for single-image raw-data", IEEE Trans. Image Processing
           17(10), 2008. (The sensor noise model.)
    .. [2] Y. Sun, Y. Yu, W. Wang, "Moire photo restoration using multiresolution convolutional
           neural networks", IEEE Trans. Image Processing 27(8), 2018. (Screen photos: moire
           from the display grid sampled by the camera's colour filter array.)
    """
    import cv2

    image = check_image(image)
    for name, value in (
        ("blur", blur),
        ("motion", motion),
        ("noise", noise),
        ("cast", cast),
        ("glare", glare),
        ("exposure", exposure),
    ):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if not 0.0 <= moire <= 1.0:
        raise ValueError(f"moire must be in [0, 1], got {moire}")
    width, height = int(photo_size[0]), int(photo_size[1])
    if width % 2 or height % 2 or width < 64 or height < 64:
        raise ValueError(f"photo_size must be even and at least 64 x 64, got {photo_size}")
    screen_w, screen_h = int(screen_size[0]), int(screen_size[1])
    screen = viewer_screen(image, (screen_w, screen_h), max_zoom=max_zoom)

    quad = screen_quad(
        rng,
        screen_size=(screen_w, screen_h),
        photo_size=(width, height),
        fill=fill,
        yaw=yaw,
        pitch=pitch,
        roll=roll,
    )
    scale = math.sqrt(_area(quad) / (screen_w * screen_h))  # photo pixels per screen pixel
    geometry, light = _camera_fields(
        quad,
        (screen_w, screen_h),
        (width, height),
        scale,
        distortion=distortion,
        glare=glare,
        rng=rng,
    )
    room, stand, ambient = _backdrop(quad, (width, height), rng)
    # Emitted light; the screen is upsampled, so bilinear sampling suffices unless the camera
    # sees more than one screen pixel per photo pixel.
    emitted = _SRGB_TO_LINEAR[screen]
    if scale < 1.0:
        emitted = cv2.GaussianBlur(emitted, (0, 0), 0.5 / scale)
    setup = _Setup(
        geometry=geometry,
        light=light,
        room=room,
        stand=stand,
        emitted=emitted,
        # Ambient light reflected by the glass lifts the screen's black.
        glass=float(0.01 * ambient),
        shake=motion_kernel(motion, rng.uniform(0, math.pi)) if motion > 0 else None,
        gains=white_balance(rng, cast) * np.float32(exposure),
        # The subpixel grid as the optics pass it: blurred by lens, shake and photosite area.
        tile=_subpixel_tile(math.sqrt(1.0 / 12.0 + blur**2 + motion**2 / 12.0) / scale),
    )
    raw16 = _expose(setup, (width, height), blur=blur, moire=moire, noise=noise, rng=rng)
    # OpenCV's historical Bayer names are shifted: "BG" decodes an RGGB mosaic.
    rgb16 = cv2.cvtColor(raw16, cv2.COLOR_BayerBG2RGB_EA)
    return develop(rgb16, gamma=gamma * rng.uniform(0.95, 1.05), noise=noise)


@dataclass(frozen=True)
class _Setup:
    """What the strip renderer needs, prepared once per photo."""

    geometry: np.ndarray  # coarse grid: screen u, v; signed distances to body and screen edges
    light: np.ndarray  # coarse grid: vignetting, reflection on the glass
    room: np.ndarray  # the room behind the monitor, small (it is out of focus), linear RGB
    stand: np.ndarray  # uint8 coverage of the monitor's stand, full size
    emitted: np.ndarray  # the frame buffer as emitted light, linear RGB
    glass: float  # ambient light reflected by the screen
    shake: np.ndarray | None  # motion-blur kernel
    gains: np.ndarray  # per-channel exposure times white-balance error
    tile: np.ndarray  # one screen pixel's subpixel emission, blurred by the optics


def _camera_fields(
    quad: np.ndarray,
    screen_size: tuple[int, int],
    photo_size: tuple[int, int],
    scale: float,
    *,
    distortion: float,
    glare: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Smooth per-pixel fields on a grid ``_STEP`` times coarser than the photo.

    Returns the geometry (screen coordinates ``u, v`` seen by each photo pixel, through the
    lens distortion, and signed distances in photo pixels to the monitor's and the screen's
    edges) and the light (vignetting and a soft reflection), both float32 ``(h, w, c)``.
    """
    screen_w, screen_h = screen_size
    width, height = photo_size
    panel = np.array(
        [
            [-0.5, -0.5],
            [screen_w - 0.5, -0.5],
            [screen_w - 0.5, screen_h - 0.5],
            [-0.5, screen_h - 0.5],
        ]
    )
    photo_to_screen = np.linalg.inv(homography_from_points(panel, quad))
    coarse_w, coarse_h = -(-width // _STEP), -(-height // _STEP)
    # Coarse samples sit where cv2.resize would put them, so strips can interpolate them.
    px, py = np.meshgrid(
        np.arange(coarse_w) * _STEP + (_STEP - 1) / 2.0,
        np.arange(coarse_h) * _STEP + (_STEP - 1) / 2.0,
    )
    cx, cy, half_diag = (width - 1) / 2.0, (height - 1) / 2.0, math.hypot(width, height) / 2.0
    radius2 = ((px - cx) ** 2 + (py - cy) ** 2) / half_diag**2
    # Barrel distortion: a photo pixel sees the scene point further from the centre.
    stretch = 1.0 + distortion * radius2
    hom = photo_to_screen @ np.stack(
        [(cx + (px - cx) * stretch).ravel(), (cy + (py - cy) * stretch).ravel(), np.ones(px.size)]
    )
    u = (hom[0] / hom[2]).reshape(coarse_h, coarse_w)
    v = (hom[1] / hom[2]).reshape(coarse_h, coarse_w)
    # Thin bezels and a thicker chin, as on current office monitors.
    bezel, chin = 0.012 * screen_w, 0.03 * screen_w
    d_screen = _signed_inside(u, v, (-0.5, -0.5, screen_w - 0.5, screen_h - 0.5), scale)
    d_body = _signed_inside(
        u, v, (-0.5 - bezel, -0.5 - bezel, screen_w - 0.5 + bezel, screen_h - 0.5 + chin), scale
    )
    # Vignetting left after the phone's lens-shading correction, and a reflection on the glass.
    shading = 1.0 - 0.35 * radius2
    gx, gy = rng.uniform(0.1, 0.9) * screen_w, rng.uniform(0.0, 0.6) * screen_h
    spread = rng.uniform(0.25, 0.45) * screen_w
    reflection = glare * np.exp(-((u - gx) ** 2 + ((v - gy) * 1.6) ** 2) / (2 * spread**2))
    geometry = np.dstack([u, v, d_body, d_screen]).astype(np.float32)
    return geometry, np.dstack([shading, reflection]).astype(np.float32)


def _backdrop(
    quad: np.ndarray, photo_size: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float]:
    """The room (small, blurred), the stand's coverage mask and the ambient light level."""
    import cv2

    width, height = photo_size
    bottom = quad[2:].mean(axis=0)
    quad_h = float(np.linalg.norm(quad[3] - quad[0]))
    desk_y = bottom[1] + 0.45 * quad_h
    ambient = float(rng.uniform(0.12, 0.3))
    room_w, room_h = max(8, width // 16), max(8, height // 16)
    room = cv2.GaussianBlur(
        _room(rng, (room_w, room_h), desk_y * room_h / height, ambient), (0, 0), 0.5
    )
    stand = np.zeros((height, width), dtype=np.uint8)
    neck = 0.06 * float(np.linalg.norm(quad[2] - quad[3]))
    poly = np.array(
        [
            [bottom[0] - neck, bottom[1]],
            [bottom[0] + neck, bottom[1]],
            [bottom[0] + neck * 1.2, desk_y],
            [bottom[0] - neck * 1.2, desk_y],
        ]
    )
    cv2.fillConvexPoly(stand, np.rint(poly * 16).astype(np.int32), 255, cv2.LINE_AA, shift=4)
    return room, stand, ambient


def _expose(
    setup: _Setup,
    photo_size: tuple[int, int],
    *,
    blur: float,
    moire: float,
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Render the scene through the optics onto the Bayer sensor: 16-bit raw values.

    The frame is rendered in strips of rows: the working set stays small (a 12-megapixel frame
    in float would need about 1 GB of temporaries) and each strip carries a halo for the blur.
    """
    import cv2

    width, height = photo_size
    room_h, room_w = setup.room.shape[:2]
    halo = 2 * math.ceil(
        (4 * blur + (setup.shake.shape[0] if setup.shake is not None else 0) / 2 + 2) / 2
    )
    coarse_cols = ((np.arange(width) + 0.5) / _STEP - 0.5).astype(np.float32)
    room_cols = ((np.arange(width) + 0.5) * room_w / width - 0.5).astype(np.float32)
    raw16 = np.empty((height, width), dtype=np.uint16)
    for top in range(0, height, _STRIP):
        end = min(height, top + _STRIP)
        lo, hi = max(0, top - halo), min(height, end + halo)
        rows = np.arange(lo, hi, dtype=np.float32) + np.float32(0.5)
        fields = sample_field(setup.geometry, coarse_cols, rows / _STEP - 0.5)
        u, v = fields[..., 0], fields[..., 1]
        a_body = np.clip(fields[..., 2] + 0.5, 0.0, 1.0)
        a_screen = np.clip(fields[..., 3] + 0.5, 0.0, 1.0)
        shading, glare = np.moveaxis(
            sample_field(setup.light, coarse_cols, rows / _STEP - 0.5), -1, 0
        )
        scene = sample_field(setup.room, room_cols, rows * room_h / height - 0.5)
        if setup.stand[lo:hi].any():
            cover = setup.stand[lo:hi, :, None] / np.float32(255)
            scene += (_PLASTIC * 1.4 - scene) * cover  # the stand catches a little more light
        cols = np.flatnonzero(a_body.max(axis=0) > 0)
        if cols.size:
            sub = np.s_[:, cols[0] : cols[-1] + 1]
            light = cv2.remap(
                setup.emitted,
                np.ascontiguousarray(u[sub]),
                np.ascontiguousarray(v[sub]),
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
            )
            light += (np.float32(setup.glass) + glare[sub])[..., None]
            part = scene[sub]  # a view: the monitor is composited in place
            part += (_PLASTIC - part) * a_body[sub][..., None]
            part += (light - _PLASTIC) * a_screen[sub][..., None]
        # Optics: lens blur and hand shake, on all three colours before the sensor samples them.
        if blur > 0:
            scene = cv2.GaussianBlur(scene, (0, 0), blur)
        if setup.shake is not None:
            scene = cv2.filter2D(scene, -1, setup.shake)
        keep = np.s_[top - lo : end - lo]
        gain = shading[keep] * setup.gains[:, None, None]
        raw16[top:end] = sensor_capture(
            scene[keep], u[keep], v[keep], a_screen[keep], gain, setup.tile, moire, noise, rng
        )
    return raw16
