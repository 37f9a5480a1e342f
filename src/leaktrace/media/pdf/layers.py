"""The keyed marks a recipient's PDF copy carries, as PDF objects.

* **File-level tokens**: keyed HMAC values (never the recipient id in clear) in the trailer /ID,
  the XMP packet and a private key of every page. They survive ordinary re-saves and are lost
  when pages are copied out or printed to PDF: a quick first check with its own evidence line.
* **Page layer**: the page asset's keyed pattern (the image engine's, for the page render),
  quantised to one bit and painted over the page as an image mask in Multiply blend: white
  becomes ``255 - depth`` where the pattern is negative and stays white elsewhere, ink stays
  ink. It survives re-saves, print-to-PDF, copying pages, screenshots and photos.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
import zlib

import numpy as np

from leaktrace.engine.watermark.pattern import AssetKeying, Layout, synthesize

TOKEN_BYTES = 8
PAGE_KEY = "/LTMark"
# Gray levels taken off white where the pattern is negative. DESIGN.md: d = 1 survives a 150-DPI
# screenshot + JPEG 80; d = 2 with ~4 pt cells also a simulated phone photo.
PAGE_LAYER_DEPTH = 2
# The mask image has half the render's resolution: the pattern's finest cells are ~8 render
# pixels, so nothing is lost, and the stream is a quarter of the size.
PAGE_LAYER_SUBSAMPLE = 2


def token(key: bytes, label: str, asset_sha256: str, recipient_id: str) -> bytes:
    """A keyed value tying (asset, recipient) together; unforgeable without the key."""
    message = b"leaktrace/pdf/v1"
    for part in (label, asset_sha256, recipient_id):
        data = part.encode()
        message += len(data).to_bytes(4, "big") + data
    return hmac.new(key, message, hashlib.sha256).digest()[:TOKEN_BYTES]


def locator(asset_id: str) -> bytes:
    """The asset id (16 hex digits) as the 8 bytes that precede a token in a file-level mark:
    identify finds the document or page from it, then checks the token of each holder."""
    return bytes.fromhex(asset_id)


def split_mark(value: bytes) -> tuple[str, bytes] | None:
    """(asset id, token) from a file-level mark, or None when the value is not one."""
    if len(value) != 2 * TOKEN_BYTES:
        return None
    return value[:TOKEN_BYTES].hex(), value[TOKEN_BYTES:]


def document_mark(key: bytes, doc_id: str, doc_sha256: str, recipient_id: str) -> bytes:
    return locator(doc_id) + token(key, "document-id", doc_sha256, recipient_id)


def page_mark(key: bytes, page_id: str, page_sha256: str, recipient_id: str) -> bytes:
    return locator(page_id) + token(key, "page-key", page_sha256, recipient_id)


def xmp_uuid(mark: bytes) -> str:
    return f"uuid:{uuid.UUID(bytes=mark)}"


def mark_from_xmp(value: str) -> bytes | None:
    try:
        return uuid.UUID(value.removeprefix("uuid:")).bytes
    except ValueError:
        return None


def layer_keying(keying: AssetKeying) -> AssetKeying:
    """The page's keying on a grid ``PAGE_LAYER_SUBSAMPLE`` times coarser than its render.

    The pattern's cells are spread over the whole image, so synthesising it for a smaller
    layout with the same layers samples the same field at lower resolution (and costs a
    quarter). Keep the result for all recipients: it caches the keyed cell assignment.
    """
    layout = keying.layout
    small = Layout(
        max(8, -(-layout.height // PAGE_LAYER_SUBSAMPLE)),
        max(8, -(-layout.width // PAGE_LAYER_SUBSAMPLE)),
        layout.layers,
        layout.code_bits,
    )
    return AssetKeying(keying.key, keying.asset_sha256, small)


def page_layer_bits(small_keying: AssetKeying, code: np.ndarray) -> np.ndarray:
    """Where the page layer darkens (True), in the render's upright frame, on the grid of
    :func:`layer_keying`."""
    return synthesize(small_keying, code) < 0


def _unrotate(bits: np.ndarray, rotate: int) -> np.ndarray:
    """The upright (displayed) grid back in the page's unrotated frame. /Rotate turns the page
    clockwise for display, so turn it back counter-clockwise."""
    return np.rot90(bits, k=(rotate // 90) % 4)


def _free_name(page, category: str, stem: str):
    """A resource name the page does not use yet, the same on every run (pikepdf's own prefix
    names are random, which would make copies differ from run to run)."""
    import pikepdf

    resources = page.obj.get("/Resources")
    used = resources.get(category) if resources is not None else None
    taken = set(used.keys()) if used is not None else set()
    name, suffix = stem, 1
    while name in taken:
        name, suffix = f"{stem}{suffix}", suffix + 1
    return pikepdf.Name(name)


def add_page_layer(pdf, page, bits: np.ndarray, *, depth: int = PAGE_LAYER_DEPTH) -> None:
    """Paint ``bits`` (True = darken) over the whole visible page in Multiply blend."""
    import pikepdf

    rotate = int(page.obj.get("/Rotate", 0)) % 360
    grid = _unrotate(bits, rotate)
    height, width = grid.shape
    # An image mask paints where its sample is 0 (Decode [0 1]).
    stencil = np.packbits(~grid, axis=1).tobytes()
    mask = pikepdf.Stream(pdf, b"")
    # Compressed here, fast: the default level costs half the copy's time for a few % in size.
    # write() is told the data is already encoded, so it is not compressed twice.
    mask.write(zlib.compress(stencil, 1), filter=pikepdf.Name.FlateDecode)
    mask.Type = pikepdf.Name.XObject
    mask.Subtype = pikepdf.Name.Image
    mask.Width, mask.Height = width, height
    mask.ImageMask = True
    mask.BitsPerComponent = 1
    mask.Interpolate = False
    state = pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, BM=pikepdf.Name.Multiply)
    image_name = page.add_resource(
        mask, pikepdf.Name.XObject, _free_name(page, "/XObject", "/LTpl"), replace_existing=False
    )
    state_name = page.add_resource(
        state,
        pikepdf.Name.ExtGState,
        _free_name(page, "/ExtGState", "/LTgs"),
        replace_existing=False,
    )
    x0, y0, x1, y1 = (float(v) for v in page.cropbox)
    gray = (255 - depth) / 255.0
    drawing = (
        f"q {state_name} gs {gray:.6f} {gray:.6f} {gray:.6f} rg "
        f"{x1 - x0:.4f} 0 0 {y1 - y0:.4f} {x0:.4f} {y0:.4f} cm {image_name} Do Q\n"
    ).encode()
    # Whatever graphics state the page's own content leaves behind, the layer starts clean.
    page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(pdf, b"\nQ\n" + drawing), prepend=False)
