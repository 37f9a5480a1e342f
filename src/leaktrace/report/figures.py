"""The report's pictures: the score plot and the registration views, as PNG bytes.

matplotlib is imported here only, on first use, and only through its object API on the Agg
canvas: no pyplot, so no global figure state and no GUI backend, safe in worker processes.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np

PANEL_SIDE = 560  # longest side of one picture panel, in pixels
MIN_PANEL_SIDE = 440  # small leaks are enlarged (at most twice) to stay legible
DPI = 100
CHECKER_TILES = 8  # tiles along the longest side of the checkerboard view

ACCUSED = "#c0392b"
OTHER = "#7f8c8d"
THRESHOLD = "#c0392b"
UNCOVERED = 235  # gray where the warped original does not reach


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...``: a picture carried inside the HTML itself."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(width_px: float, height_px: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    # No timestamp or software tag in the file: the same evidence gives the same picture.
    figure.savefig(
        buffer, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 3}
    )
    return buffer.getvalue()


def z_threshold(bound: float, hypotheses: int) -> float:
    """The score at which the corrected probability reaches ``bound``.

    An innocent's score is standard normal, and the p-value is corrected by multiplying by the
    number of hypotheses (Bonferroni), so the threshold solves ``sf(z) = bound / hypotheses``.
    Solved by bisection on ``erfc``, which stays accurate far into the tail.
    """
    target = bound / max(1, hypotheses)
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if 0.5 * math.erfc(middle / math.sqrt(2.0)) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def score_plot(
    candidates: list[dict],
    *,
    threshold_z: float,
    accused: set[str],
    hypotheses: int,
    removal_z: float | None = None,
) -> bytes:
    """Every reported recipient's score as a dot, best at the top, against the threshold line.

    Parameters
    ----------
    candidates : list of dict
        ``Identification.candidates``: ``id``, ``score`` (z) and ``p_value``, best first.
    threshold_z : float
        Score at which the corrected probability equals the bound (:func:`z_threshold`).
    accused : set of str
        Ids drawn in the accusing colour (every significant recipient).
    hypotheses : int
        Hypotheses the correction counts ((asset, recipient) pairs, times the statistics a PDF
        compares), for the caption.
    removal_z : float, optional
        The lower threshold, drawn when a copy's mark was found removed (a score that far below
        zero is no innocent's).
    """
    rows = candidates[::-1]  # matplotlib draws the first row at the bottom
    height = 150 + 26 * len(rows)
    figure = _figure(880, height)
    axes = figure.add_axes((0.2, 60 / height, 0.76, 1 - 100 / height))
    scores = np.array([row["score"] for row in rows], dtype=float)
    colours = [ACCUSED if row["id"] in accused else OTHER for row in rows]
    positions = np.arange(len(rows))
    axes.axvspan(-3, 3, color="#ecf0f1", zorder=0, label="where innocent scores fall (|z| < 3)")
    axes.hlines(positions, 0, scores, colors=colours, linewidth=1.5, zorder=2)
    axes.scatter(scores, positions, c=colours, s=46, zorder=3)
    axes.axvline(
        threshold_z,
        color=THRESHOLD,
        linestyle="--",
        linewidth=1.5,
        label=f"threshold z = {threshold_z:.2f}",
        zorder=1,
    )
    if removal_z is not None:
        axes.axvline(
            removal_z,
            color=THRESHOLD,
            linestyle=":",
            linewidth=1.5,
            label=f"mark removed below z = {removal_z:.2f}",
            zorder=1,
        )
    axes.axvline(0, color="#95a5a6", linewidth=0.8, zorder=1)
    axes.set_yticks(positions, [row["id"] for row in rows])
    axes.set_ylim(-0.8, len(rows) - 0.2)
    low = min(-4.0, float(scores.min()) * 1.08 - 1.0, (removal_z or 0.0) * 1.08 - 1.0)
    high = max(threshold_z, float(scores.max())) * 1.08 + 1.0
    axes.set_xlim(low, high)
    axes.set_xlabel("score z (standard deviations of the innocent null)")
    # The correction counts hypotheses: (asset, recipient) pairs, times the statistics compared
    # for a PDF; more than the recipients shown whenever either is more than one.
    tested = f"{hypotheses} hypothes{'is' if hypotheses == 1 else 'es'} tested"
    shown = f"all, {tested}" if len(rows) >= hypotheses else f"the {len(rows)} best, {tested}"
    axes.set_title(f"Recipients' scores: {shown}", loc="left", fontsize=11)
    # A removed copy's dot sits at the bottom left: the legend goes where it cannot hide it.
    axes.legend(
        loc="upper left" if removal_z is not None else "lower right", fontsize=8, frameon=False
    )
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    return _png(figure)


def running_plot(running: list[dict], *, threshold_z: float) -> bytes:
    """The best recipient's score as the leak's parts (a clip's frames) are added one by one.

    Parameters
    ----------
    running : list of dict
        ``label`` (where in the leak the part is) and ``z`` (the score of every part so far).
    threshold_z : float
        Score at which the corrected probability equals the bound (:func:`z_threshold`).
    """
    figure = _figure(880, 330)
    axes = figure.add_axes((0.08, 0.3, 0.88, 0.6))
    scores = np.array([line["z"] for line in running], dtype=float)
    positions = np.arange(1, len(running) + 1)
    axes.axhspan(-3, 3, color="#ecf0f1", zorder=0, label="where innocent scores fall (|z| < 3)")
    axes.plot(positions, scores, color=ACCUSED, marker="o", linewidth=1.5, zorder=3)
    axes.axhline(
        threshold_z, color=THRESHOLD, linestyle="--", linewidth=1.5,
        label=f"threshold z = {threshold_z:.2f}",
    )  # fmt: skip
    axes.axhline(0, color="#95a5a6", linewidth=0.8, zorder=1)
    step = max(1, len(running) // 12)
    axes.set_xticks(positions[::step], [line["label"] for line in running][::step], fontsize=8)
    axes.set_xlim(0.5, len(running) + 0.5)
    axes.set_ylim(min(-4.0, float(scores.min()) - 1), max(threshold_z, float(scores.max())) + 2)
    axes.set_xlabel("leak frames added (time in the leak)")
    axes.set_ylabel("score z")
    axes.set_title("The best recipient's score as frames accumulate", loc="left", fontsize=11)
    axes.legend(loc="upper left", bbox_to_anchor=(0.0, -0.18), ncols=2, fontsize=8, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    return _png(figure)


def _fit(image: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    longest = max(image.shape[:2])
    factor = min(1.0, PANEL_SIDE / longest)
    if longest < MIN_PANEL_SIDE:
        factor = min(2.0, MIN_PANEL_SIDE / longest)
    if factor == 1.0:
        return image, 1.0
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    method = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=method), factor


def warp_into_leak(
    original: np.ndarray, homography: np.ndarray, leak_shape: tuple[int, int], scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """The original drawn in the leak's frame, at ``scale`` times the leak's size.

    Parameters
    ----------
    original : (H, W, 3) uint8
        The upright original.
    homography : (3, 3) array
        Maps original pixel coordinates to leak pixel coordinates.
    leak_shape : (int, int)
        The leak's full-resolution height and width.
    scale : float
        Size of the output relative to the leak.

    Returns
    -------
    warped : (h, w, 3) uint8
    covered : (h, w) bool
        Where the original reaches.
    """
    import cv2

    matrix = np.asarray(homography, dtype=np.float64)
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
        raise ValueError("the homography is not a finite 3 x 3 matrix")
    to_view = np.diag([scale, scale, 1.0]) @ matrix
    # Shrink the original first when it lands much smaller: warping alone would alias.
    centre = np.array([original.shape[1] / 2, original.shape[0] / 2, 1.0])
    shrink = min(1.0, _local_scale(to_view, centre))
    if shrink < 0.9:
        small = cv2.resize(
            original,
            (max(1, round(original.shape[1] * shrink)), max(1, round(original.shape[0] * shrink))),
            interpolation=cv2.INTER_AREA,
        )
        fx, fy = small.shape[1] / original.shape[1], small.shape[0] / original.shape[0]
        to_view = to_view @ np.diag([1 / fx, 1 / fy, 1.0])
        original = small
    size = (max(1, round(leak_shape[1] * scale)), max(1, round(leak_shape[0] * scale)))
    warped = cv2.warpPerspective(original, to_view, size, flags=cv2.INTER_LINEAR)
    covered = cv2.warpPerspective(
        np.full(original.shape[:2], 255, np.uint8), to_view, size, flags=cv2.INTER_NEAREST
    )
    return warped, covered > 0


def _local_scale(matrix: np.ndarray, point: np.ndarray) -> float:
    """How much the homography scales lengths near ``point`` (the root of its Jacobian's
    determinant there)."""
    mapped = matrix @ point
    w = mapped[2]
    if abs(w) < 1e-12:
        raise ValueError("the homography sends the original's centre to infinity")
    jacobian = (matrix[:2, :2] * w - np.outer(mapped[:2], matrix[2, :2])) / w**2
    scale = math.sqrt(abs(np.linalg.det(jacobian)))
    if not 1e-6 < scale < 1e6:
        raise ValueError(f"the homography is degenerate (local scale {scale:.3g})")
    return scale


def _panels(pictures: list[tuple[np.ndarray, str]]) -> bytes:
    height, width = pictures[0][0].shape[:2]
    columns = len(pictures)
    gap, title, bottom = 16, 30, 8
    full_w, full_h = columns * width + (columns + 1) * gap, height + title + bottom
    figure = _figure(full_w, full_h)
    for index, (pixels, label) in enumerate(pictures):
        left = gap + index * (width + gap)
        # figimage places the pixels 1:1, unresampled: exact, and much faster than an axes.
        figure.figimage(pixels, xo=left, yo=bottom, origin="upper")
        figure.text(left / full_w, (bottom + height + 8) / full_h, label, fontsize=10)
    return _png(figure)


def leak_picture(leak: np.ndarray) -> bytes:
    """The leak alone, when there is no verified original to compare it with."""
    view, _ = _fit(leak)
    return _panels([(view, "The leaked file")])


def registration_pictures(
    leak: np.ndarray, original: np.ndarray, homography: np.ndarray
) -> tuple[bytes, bytes]:
    """Two views of the alignment of the original onto the leak.

    Returns
    -------
    side_by_side : bytes
        PNG: the leak | the original warped into the leak's frame.
    overlay : bytes
        PNG: a checkerboard alternating the two | a red/cyan blend (gray where they agree).
    """
    leak_view, scale = _fit(leak)
    warped, covered = warp_into_leak(original, homography, leak.shape[:2], scale)
    warped = np.where(covered[..., None], warped, np.uint8(UNCOVERED))
    side_by_side = _panels(
        [(leak_view, "The leaked file"), (warped, "The original, aligned onto the leak")]
    )
    tile = max(8, round(max(leak_view.shape[:2]) / CHECKER_TILES))
    rows, cols = np.indices(leak_view.shape[:2])
    from_leak = ((rows // tile + cols // tile) % 2 == 0) | ~covered
    checker = np.where(from_leak[..., None], leak_view, warped)
    # Faint tile edges: on a good alignment the tiles are otherwise invisible, and a reader
    # should see that two pictures are interleaved.
    edges = (rows % tile == 0) | (cols % tile == 0)
    checker = np.where(edges[..., None], (checker * 0.6 + 255 * 0.4).astype(np.uint8), checker)
    weights = np.array([0.299, 0.587, 0.114])
    leak_gray = (leak_view[..., :3] @ weights).astype(np.uint8)
    warped_gray = np.where(covered, (warped[..., :3] @ weights).astype(np.uint8), leak_gray)
    blend = np.stack([leak_gray, warped_gray, warped_gray], axis=-1)
    overlay = _panels(
        [
            (checker, "Checkerboard: leak and original alternate"),
            (blend, "Red: leak, cyan: original"),
        ]
    )
    return side_by_side, overlay
