"""Keyed multi-scale patterns: which grid cells exist, how they are signed, and how a recipient's
code turns them into a smooth field over the image.

A pattern is a sum of layers. Each layer is a grid of cells holding +1 or -1, upsampled to the
image with bilinear interpolation. Every cell of every layer belongs to one of ``code_bits`` keyed
*groups* and carries a keyed sign; a recipient's code (``code_bits`` values of +-1) sets the sign
of each group. So a recipient's cell value is ``cell_sign[g] * code[group[g]]``.

Why groups: identify projects the residual onto the groups once (a vector ``y`` of length
``code_bits``) and every recipient's score is then a dot product ``code . y``. That scales to a
million recipients, and because codes are independent uniform signs, the score of an innocent
recipient has mean 0 and variance ``|y|^2`` exactly, whatever the residual looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from leaktrace.engine.watermark import keystream

CODE_BITS = 1024
SCHEME = "grid-groups-v1"


@dataclass(frozen=True)
class Layer:
    """One grid of cells: ``rows x cols`` cells spread over the whole image."""

    rows: int
    cols: int
    weight: float


@dataclass(frozen=True)
class Layout:
    """The geometry of an asset's pattern, in the asset's upright (display) frame."""

    height: int
    width: int
    layers: tuple[Layer, ...]
    code_bits: int = CODE_BITS

    @property
    def n_cells(self) -> int:
        return sum(layer.rows * layer.cols for layer in self.layers)

    def to_params(self) -> dict:
        return {
            "scheme": SCHEME,
            "height": self.height,
            "width": self.width,
            "code_bits": self.code_bits,
            "layers": [[layer.rows, layer.cols, layer.weight] for layer in self.layers],
        }

    @classmethod
    def from_params(cls, params: dict) -> Layout:
        if params.get("scheme") != SCHEME:
            raise ValueError(f"unknown watermark scheme {params.get('scheme')!r}")
        layers = tuple(Layer(int(r), int(c), float(w)) for r, c, w in params["layers"])
        return cls(int(params["height"]), int(params["width"]), layers, int(params["code_bits"]))


def layout_for(
    height: int,
    width: int,
    *,
    coarse_cells: int = 64,
    fine_cells: int = 192,
    min_coarse_px: float = 16.0,
    min_fine_px: float = 6.0,
    coarse_weight: float = 0.7,
    fine_weight: float = 0.7,
) -> Layout:
    """Choose the layers for an image of ``height x width`` pixels.

    The coarse layer (tens of cells on the long side) survives downscaling to a few hundred
    pixels, blur and camera capture; the fine layer adds samples for high-quality leaks and small
    crops. Cells never get smaller than a few pixels, so small images get fewer cells.
    """
    if height < 8 or width < 8:
        raise ValueError("height and width must be at least 8 pixels")
    long_side = max(height, width)
    layers = []
    for cells, min_px, weight in (
        (coarse_cells, min_coarse_px, coarse_weight),
        (fine_cells, min_fine_px, fine_weight),
    ):
        n_long = int(max(2, min(cells, long_side // min_px)))
        cell_px = long_side / n_long
        rows = max(2, round(height / cell_px))
        cols = max(2, round(width / cell_px))
        layers.append(Layer(rows, cols, weight))
    return Layout(height, width, tuple(layers))


@dataclass(frozen=True)
class AssetKeying:
    """The keyed parts of an asset's pattern that do not depend on the recipient."""

    key: bytes
    asset_sha256: str
    layout: Layout

    def __repr__(self) -> str:  # the key must never reach a log or a report
        return f"AssetKeying(asset_sha256={self.asset_sha256!r}, layout={self.layout!r})"

    @cached_property
    def cell_group(self) -> np.ndarray:
        """Group index of every cell (layers concatenated, row-major), balanced across groups."""
        return cell_groups(self.layout, self._seed("cell-groups"))

    @cached_property
    def cell_sign(self) -> np.ndarray:
        return cell_signs(self.layout, self._seed("cell-signs"))

    def _seed(self, purpose: str) -> bytes:
        return keystream.derive_seed(self.key, purpose, self.asset_sha256)

    def reveal(self) -> dict:
        """What fixes the asset's pattern apart from a recipient's code: the layout and the two
        seeds of its cell groups and signs. Revealing it (with one recipient's code, to prove
        that copy) lets anyone rebuild that copy's pattern; it says nothing about the key or any
        other recipient's code, which come from other HMACs of the key."""
        return {
            "scheme": SCHEME,
            "asset_sha256": self.asset_sha256,
            "layout": self.layout.to_params(),
            "cell_groups_seed": self._seed("cell-groups").hex(),
            "cell_signs_seed": self._seed("cell-signs").hex(),
        }

    def recipient_code(self, recipient_id: str) -> np.ndarray:
        """The recipient's code: ``code_bits`` values of +-1 (int8)."""
        seed = keystream.derive_seed(self.key, "recipient-code", self.asset_sha256, recipient_id)
        return keystream.sign_bits(seed, self.layout.code_bits)

    def decoy_codes(self, count: int) -> np.ndarray:
        """Codes of recipients that do not exist: samples of the innocent null distribution."""
        codes = np.empty((count, self.layout.code_bits), dtype=np.int8)
        for index in range(count):
            seed = keystream.derive_seed(self.key, "decoy-code", self.asset_sha256, str(index))
            codes[index] = keystream.sign_bits(seed, self.layout.code_bits)
        return codes

    def cell_values(self, code: np.ndarray) -> list[np.ndarray]:
        """Per-layer grids of +-1 for a code."""
        values = self.cell_sign * code[self.cell_group].astype(np.float32)
        grids, start = [], 0
        for layer in self.layout.layers:
            size = layer.rows * layer.cols
            grids.append(values[start : start + size].reshape(layer.rows, layer.cols))
            start += size
        return grids


def cell_groups(layout: Layout, seed: bytes) -> np.ndarray:
    """Group index of every cell, from the seed of the asset's cell groups."""
    order = keystream.permutation(seed, layout.n_cells)
    groups = np.empty(layout.n_cells, dtype=np.int64)
    groups[order] = np.arange(layout.n_cells) % layout.code_bits
    return groups


def cell_signs(layout: Layout, seed: bytes) -> np.ndarray:
    """Sign of every cell, from the seed of the asset's cell signs."""
    return keystream.sign_bits(seed, layout.n_cells).astype(np.float32)


@dataclass(frozen=True)
class RevealedKeying:
    """An asset's pattern rebuilt from :meth:`AssetKeying.reveal`, without the key: what a third
    party needs to score one revealed code (:func:`project` accepts it as it accepts an
    :class:`AssetKeying`). It cannot derive any recipient's code."""

    asset_sha256: str
    layout: Layout
    groups_seed: bytes
    signs_seed: bytes

    @classmethod
    def from_revealed(cls, revealed: dict) -> RevealedKeying:
        """Raises ValueError (or KeyError, TypeError) for a malformed description."""
        if revealed.get("scheme") != SCHEME:
            raise ValueError(f"unknown watermark scheme {revealed.get('scheme')!r}")
        groups, signs = (
            bytes.fromhex(revealed[k]) for k in ("cell_groups_seed", "cell_signs_seed")
        )
        if len(groups) != 32 or len(signs) != 32:
            raise ValueError("a cell seed must be 32 bytes")
        layout = Layout.from_params(revealed["layout"])
        return cls(str(revealed["asset_sha256"]), layout, groups, signs)

    @cached_property
    def cell_group(self) -> np.ndarray:
        return cell_groups(self.layout, self.groups_seed)

    @cached_property
    def cell_sign(self) -> np.ndarray:
        return cell_signs(self.layout, self.signs_seed)


def _axis_weights(n_pixels: int, n_cells: int, coords: np.ndarray | None = None):
    """Bilinear interpolation indices and weights along one axis (cv2.resize's convention:
    pixel centres at ``i + 0.5``, indices clamped at the borders)."""
    if coords is None:
        coords = np.arange(n_pixels, dtype=np.float64)
    t = (coords + 0.5) * (n_cells / n_pixels) - 0.5
    i0 = np.floor(t)
    frac = (t - i0).astype(np.float32)
    i0 = i0.astype(np.int64)
    i1 = np.clip(i0 + 1, 0, n_cells - 1)
    i0 = np.clip(i0, 0, n_cells - 1)
    return i0, i1, frac


# A bilinear upsampling of independent +-1 cells has variance (2/3)^2 on average over a cell.
_BILINEAR_VARIANCE = (2.0 / 3.0) ** 2


def field_scale(layout: Layout) -> float:
    """Factor that brings a pattern field to unit mean square."""
    total = sum(layer.weight**2 for layer in layout.layers) * _BILINEAR_VARIANCE
    return float(1.0 / np.sqrt(total))


def synthesize(keying: AssetKeying, code: np.ndarray) -> np.ndarray:
    """The recipient's pattern field over the image (float32, unit mean square)."""
    layout = keying.layout
    field = np.zeros((layout.height, layout.width), dtype=np.float32)
    for layer, grid in zip(layout.layers, keying.cell_values(code), strict=True):
        r0, r1, fr = _axis_weights(layout.height, layer.rows)
        c0, c1, fc = _axis_weights(layout.width, layer.cols)
        across = grid[:, c0] * (1 - fc) + grid[:, c1] * fc
        field += layer.weight * (across[r0] * (1 - fr)[:, None] + across[r1] * fr[:, None])
    field *= field_scale(layout)
    return field


class CellSampler:
    """Where values sampled at original-frame positions (``rows``, ``cols``, float pixel
    coordinates) fall on a layout's cells: the bilinear indices and weights of :func:`project`,
    computed once for positions that are scored many times (the frames of a video leak held in
    one geometry, every segment layout of a frame)."""

    def __init__(self, layout: Layout, rows: np.ndarray, cols: np.ndarray) -> None:
        self.layout = layout
        self.size = int(np.asarray(rows).size)
        self._layers = []
        for layer in layout.layers:
            r0, r1, fr = _axis_weights(layout.height, layer.rows, rows)
            c0, c1, fc = _axis_weights(layout.width, layer.cols, cols)
            corners = [
                ((ri * layer.cols + ci).astype(np.int32), wr, wc)
                for ri, wr in ((r0, 1 - fr), (r1, fr))
                for ci, wc in ((c0, 1 - fc), (c1, fc))
            ]
            self._layers.append((layer, corners))

    def cell_sums(self, values: np.ndarray) -> np.ndarray:
        """``values`` collected onto every cell (layers concatenated, each times its weight):
        the half of :func:`project` that does not depend on the key."""
        values = np.asarray(values, dtype=np.float64)
        per_cell = []
        for layer, corners in self._layers:
            size = layer.rows * layer.cols
            acc = np.zeros(size, dtype=np.float64)
            for index, wr, wc in corners:
                acc += np.bincount(index, weights=values * wr * wc, minlength=size)
            per_cell.append(acc * layer.weight)
        return np.concatenate(per_cell)


def project_cells(keying: AssetKeying, cells: np.ndarray) -> np.ndarray:
    """:meth:`CellSampler.cell_sums` onto ``keying``'s code groups."""
    signed = cells * keying.cell_sign * field_scale(keying.layout)
    return np.bincount(keying.cell_group, weights=signed, minlength=keying.layout.code_bits)


def project(
    keying: AssetKeying, rows: np.ndarray, cols: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Adjoint of :func:`synthesize`: collect ``values`` sampled at original-frame positions
    (``rows``, ``cols``, float pixel coordinates) onto the code's groups.

    Returns ``y`` of length ``code_bits`` such that, for any code ``c``, ``c . y`` equals the
    inner product of ``values`` with that code's field at those positions.
    """
    return project_cells(keying, CellSampler(keying.layout, rows, cols).cell_sums(values))
