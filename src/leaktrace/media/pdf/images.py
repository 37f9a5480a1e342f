"""Embedded raster images: each is an image asset of its own (its parent is the document) and
carries the image engine's mark in every copy, written back with its own filter.

Only what can be rewritten without changing how the image decodes is marked: 8-bit gray or RGB
samples (DeviceGray, DeviceRGB or a 1- or 3-component ICCBased space), DCT-encoded (the
copy keeps the JPEG's quantisation tables and subsampling, like a marked JPEG file) or
losslessly encoded (Flate, LZW, ASCII85, run-length or none: re-deflated without a predictor).
Masks, soft masks (kept as they
are), CMYK, indexed, 16-bit, JPX/JBIG2/CCITT images and tiny icons are left alone and counted.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import numpy as np

MIN_SIDE = 64  # icons and rules: too small to carry a mark worth the bytes
# Lossless filter chains: the samples are rewritten with Flate alone, which decodes the same.
_LOSSLESS = {"/FlateDecode", "/LZWDecode", "/ASCII85Decode", "/ASCIIHexDecode", "/RunLengthDecode"}


@dataclass
class EmbeddedImage:
    """One image XObject of the document and what marking it needs."""

    objgen: tuple[int, int]
    encoding: str  # "dct" or "flate"
    data: bytes  # the image as a file: the JPEG stream itself, or a PNG of the samples
    asset: object = None  # leaktrace.registry.models.Asset
    analysis: object = None  # leaktrace.media.image.asset.AssetAnalysis
    imprinter: object = None  # leaktrace.engine.imprint.Imprinter, made on the first copy


def _components(stream) -> int | None:
    import pikepdf

    space = stream.get("/ColorSpace")
    if space == pikepdf.Name.DeviceRGB:
        return 3
    if space == pikepdf.Name.DeviceGray:
        return 1
    if isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == pikepdf.Name.ICCBased:
        n = int(space[1].get("/N", 0))
        return n if n in (1, 3) else None
    return None


def _image_streams(pdf):
    """Every image XObject reachable from the pages (and forms one level down), once each."""
    import pikepdf

    seen = set()
    for page in pdf.pages:
        resources = [page.obj.get("/Resources")]
        xobjects = resources[0].get("/XObject") if resources[0] is not None else None
        for value in (xobjects or {}).values() if xobjects is not None else []:
            if value.get("/Subtype") == pikepdf.Name.Form and "/Resources" in value:
                resources.append(value.Resources)
        for resource in resources:
            if resource is None or "/XObject" not in resource:
                continue
            for value in resource.XObject.values():
                if value.get("/Subtype") != pikepdf.Name.Image or not value.is_indirect:
                    continue
                if value.objgen in seen:
                    continue
                seen.add(value.objgen)
                yield value


def find_images(pdf) -> tuple[list[EmbeddedImage], int]:
    """The markable embedded images, and how many others were left alone."""
    import pikepdf
    from PIL import Image

    found, skipped = [], 0
    for stream in _image_streams(pdf):
        width, height = int(stream.get("/Width", 0)), int(stream.get("/Height", 0))
        filters = stream.get("/Filter")
        if filters is None:
            filters = []
        elif isinstance(filters, pikepdf.Name):
            filters = [filters]
        filters = [str(f) for f in filters]
        n = _components(stream)
        plain = (
            not stream.get("/ImageMask", False)
            and int(stream.get("/BitsPerComponent", 0)) == 8
            and "/Decode" not in stream
            and n is not None
            and min(width, height) >= MIN_SIDE
        )
        if not plain:
            skipped += 1
            continue
        try:
            if filters == ["/DCTDecode"]:
                found.append(EmbeddedImage(stream.objgen, "dct", stream.read_raw_bytes()))
            elif set(filters) <= _LOSSLESS:
                samples = np.frombuffer(stream.read_bytes(), dtype=np.uint8)
                if samples.size != width * height * n:
                    skipped += 1
                    continue
                shape = (height, width) if n == 1 else (height, width, 3)
                buffer = io.BytesIO()
                Image.fromarray(samples.reshape(shape)).save(buffer, "PNG", compress_level=1)
                found.append(EmbeddedImage(stream.objgen, "flate", buffer.getvalue()))
            else:
                skipped += 1
        except pikepdf.PdfError:  # damaged stream data: leave it as it is
            skipped += 1
    return found, skipped


def marked_stream_data(image: EmbeddedImage, recipient_id: str) -> tuple[bytes, bytes]:
    """The image's new stream data (already encoded with its filter) and the packed code."""
    from leaktrace.engine.imprint import Imprinter
    from leaktrace.media.image.files import encode_like

    analysis = image.analysis
    code = analysis.keying.recipient_code(recipient_id)
    loaded = analysis.loaded
    if image.imprinter is None:  # once per image, then shared by every recipient's copy
        image.imprinter = Imprinter(analysis.keying, analysis.mask, loaded.pixels)
    marked = image.imprinter.mark(code)
    if image.encoding == "dct":
        data = encode_like(loaded, marked, loaded.alpha)
    else:
        data = zlib.compress(np.ascontiguousarray(marked).tobytes(), 6)
    return data, np.packbits(code > 0).tobytes()


def write_marked(pdf, image: EmbeddedImage, data: bytes) -> None:
    import pikepdf

    stream = pdf.get_object(image.objgen)
    encoded_as = pikepdf.Name.DCTDecode if image.encoding == "dct" else pikepdf.Name.FlateDecode
    stream.write(data, filter=encoded_as)
    if "/DecodeParms" in stream:  # a PNG predictor of the source no longer applies
        del stream.DecodeParms


# An embedded image taken out of a leaked PDF is the registered image, pixel for pixel, unless
# the leak re-encoded it: below this correlation it is not used as evidence.
SAME_IMAGE_NCC = 0.9


def leaked_images(registry, pdf) -> list[tuple[object, np.ndarray]]:
    """(registered embedded-image asset, leaked luma) for every image in the leaked file that
    is, pixel-aligned, a registered embedded image. Found by size and perceptual hash."""
    from leaktrace.engine.match.hashing import nearest_assets, perceptual_hashes
    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.media.image import files as image_files

    ids, phashes, dhashes = registry.hash_table()
    found = []
    for image in find_images(pdf)[0]:
        try:
            rgb = image_files.load_display_rgb(image.data, name="embedded image")
        except Exception:  # an image the leak damaged is simply no evidence
            continue
        phash, dhash = perceptual_hashes(rgb)
        nearest = nearest_assets(phash, dhash, ids, phashes, dhashes, limit=20)
        for asset in registry.get_assets([m.asset_id for m in nearest]):
            embedded = asset.kind == "image" and asset.parent_id is not None
            if embedded and (asset.height, asset.width) == rgb.shape[:2]:
                found.append((asset, luminance(rgb)))
                break
    return found
