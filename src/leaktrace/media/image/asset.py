"""Turning an image file into a registered asset, and an asset back into what marking and
identification need (its upright luminance, perceptual mask and keyed pattern geometry)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leaktrace.engine.watermark import mask as mask_module
from leaktrace.engine.watermark.pattern import AssetKeying, Layout, layout_for
from leaktrace.media.image import files as images
from leaktrace.media.image import orientation
from leaktrace.registry.models import Asset

MASK_VERSION = "luma-box2-dark48-paper235-v1"
# A PDF page's mark is the page layer (leaktrace.media.pdf.layers): a Multiply blend that takes
# ``depth`` gray levels off where the pattern is negative, so it moves a pixel of luma L by
# L * depth / 255 between its two states, i.e. +-L * depth / 510 around the mean.
PDF_PAGE_MASK = "pdf-page-multiply-v1"


def asset_id_for(sha256: str) -> str:
    return sha256[:16]


def features_blob_name(sha256: str) -> str:
    return f"{sha256}.sift.npz"


def upright_rgb(loaded: images.LoadedImage) -> np.ndarray:
    pixels = orientation.to_display(loaded.pixels, loaded.orientation)
    return np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels


@dataclass
class AssetAnalysis:
    """Everything about an asset that does not depend on the recipient, computed once."""

    asset: Asset
    loaded: images.LoadedImage
    luma: np.ndarray  # upright, of the stored colour channels: what the mark is added to
    mask: np.ndarray  # upright, gray levels: the amplitude the mark is added with
    keying: AssetKeying
    reference_luma: np.ndarray  # what a leak of the unmarked original looks like
    detection_mask: np.ndarray  # how much of the mark a leak can show, per pixel


def analyse(asset: Asset, loaded: images.LoadedImage, key: bytes) -> AssetAnalysis:
    luma, amplitude, reference, detection = unkeyed_analysis(asset, loaded)
    layout = Layout.from_params(asset.params["pattern"])
    return AssetAnalysis(
        asset, loaded, luma, amplitude, AssetKeying(key, asset.sha256, layout), reference, detection
    )


def unkeyed_analysis(
    asset: Asset, loaded: images.LoadedImage
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The parts of :func:`analyse` that need no key, ``(luma, mask, reference_luma,
    detection_mask)``: all a third party needs, with one copy's revealed pattern, to score a
    leak against that copy exactly as identify does."""
    display = orientation.to_display(loaded.pixels, loaded.orientation)
    luma = mask_module.luminance(display)
    if asset.params.get("mask") == PDF_PAGE_MASK:
        depth = float(asset.params.get("page_layer", {}).get("depth", 2))
        amplitude = (luma * (depth / 510.0)).astype(np.float32)
    else:
        amplitude = mask_module.perceptual_mask(luma)
    reference, detection = luma, amplitude
    if loaded.alpha is not None:
        # A leak is the picture as shown: transparent parts flattened onto white (as
        # load_display_rgb does), where the mark added to the colour channels fades with alpha.
        opacity = (
            orientation.to_display(loaded.alpha, loaded.orientation).astype(np.float32) / 255.0
        )
        reference = luma * opacity + 255.0 * (1.0 - opacity)
        detection = amplitude * opacity
    return luma, amplitude, reference, detection


def register_image(
    registry,
    path: Path,
    data: bytes,
    loaded: images.LoadedImage,
    *,
    parent_id: str | None = None,
) -> Asset:
    """Record an image asset (idempotent by content) and keep its original and features.

    ``parent_id`` names the document an embedded image belongs to (first registration wins)."""
    from leaktrace.engine.match.hashing import perceptual_hashes
    from leaktrace.engine.match.registration import compute_features

    sha256 = images.sha256_bytes(data)
    existing = registry.find_asset_by_sha256(sha256)
    if existing is not None:
        return existing
    rgb = upright_rgb(loaded)
    height, width = rgb.shape[:2]
    phash, dhash = perceptual_hashes(rgb)
    registry.store.put(data)
    features = compute_features(mask_module.luminance(rgb))
    registry.store.put_blob(features_blob_name(sha256), features.to_bytes())
    params = {"pattern": layout_for(height, width).to_params(), "mask": MASK_VERSION}
    asset = Asset(
        id=asset_id_for(sha256),
        sha256=sha256,
        file_name=path.name,
        kind="image",
        width=width,
        height=height,
        phash=phash,
        dhash=dhash,
        params=params,
        parent_id=parent_id,
    )
    return registry.add_asset(asset)
