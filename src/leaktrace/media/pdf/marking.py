"""Registering a PDF (the document and each page as assets) and writing a recipient's copy.

The document is an asset of kind ``pdf`` whose SHA-256 is the file's. Each page is an asset of
kind ``pdf-page`` whose original is the page's render, a PNG stored like any image original (it
names the document and page in a text chunk, so two identical pages are still two assets). A
screenshot or photo of a page then goes through the image identify path unchanged.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from leaktrace.errors import InputError
from leaktrace.media.pdf import document as pdfdoc
from leaktrace.media.pdf import layers
from leaktrace.registry.models import Asset


def page_png(render: pdfdoc.Render, doc_sha256: str) -> bytes:
    """The page render as the PNG kept as the page asset's original."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("leaktrace-pdf", f"{doc_sha256} page {render.index}")
    buffer = io.BytesIO()
    # Fast compression: a page's original is written once and read at every identify.
    Image.fromarray(render.rgb).save(buffer, "PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def register_pdf(
    registry, path: Path, data: bytes, password: str | None
) -> tuple[Asset, list[Asset]]:
    """Record the document and its pages (idempotent by content); returns (document, pages)."""
    from leaktrace.engine.match.hashing import perceptual_hashes
    from leaktrace.engine.match.registration import compute_features
    from leaktrace.engine.watermark.mask import luminance
    from leaktrace.engine.watermark.pattern import layout_for
    from leaktrace.media.image.asset import PDF_PAGE_MASK, asset_id_for, features_blob_name

    sha256 = hashlib.sha256(data).hexdigest()
    existing = registry.find_asset_by_sha256(sha256)
    if existing is not None:
        pages = registry.list_assets("pdf-page", parent_id=existing.id)
        return existing, sorted(pages, key=lambda a: a.page)
    from leaktrace.media.pdf import text, wordshift

    with pdfdoc.open_pdf(data, str(path), password) as pdf:
        n_pages = len(pdf.pages)
        words = [text.page_words(pdf, page) for page in pdf.pages]
    if n_pages == 0:
        raise InputError(f"{path}: the PDF has no pages")
    renders = pdfdoc.render_pages(data, str(path), password)
    doc_id = asset_id_for(sha256)
    first = renders[0].rgb
    phash, dhash = perceptual_hashes(first)
    document = Asset(
        id=doc_id,
        sha256=sha256,
        file_name=path.name,
        kind="pdf",
        width=first.shape[1],
        height=first.shape[0],
        phash=phash,
        dhash=dhash,
        params={"pages": len(renders), "render_dpi": pdfdoc.RENDER_DPI},
    )
    registry.store.put(data)
    pages = []
    for render in renders:
        png = page_png(render, sha256)
        page_sha = hashlib.sha256(png).hexdigest()
        registry.store.put(png)
        height, width = render.rgb.shape[:2]
        features = compute_features(luminance(render.rgb))
        registry.store.put_blob(features_blob_name(page_sha), features.to_bytes())
        phash, dhash = perceptual_hashes(render.rgb)
        page_words = words[render.index]
        params = {
            "pattern": layout_for(height, width).to_params(),
            "mask": PDF_PAGE_MASK,
            "page_layer": {"depth": layers.PAGE_LAYER_DEPTH, "scale": render.scale},
            "word_shift": {
                "words": len(page_words.words),
                "shift_pt": wordshift.SHIFT_PT,
                # Why some text keeps its place (a Type3 font, text in a form): each reason once.
                "text_left_alone": sorted(set(page_words.skipped))[:20],
            },
        }
        pages.append(
            Asset(
                id=asset_id_for(page_sha),
                sha256=page_sha,
                file_name=f"{path.name}#page={render.index + 1}",
                kind="pdf-page",
                width=width,
                height=height,
                phash=phash,
                dhash=dhash,
                params=params,
                parent_id=doc_id,
                page=render.index,
            )
        )
    registry.add_assets([document, *pages])
    return registry.get_asset(doc_id), pages


@dataclass
class PreparedPdf:
    """Everything about a document that does not depend on the recipient, computed once."""

    name: str
    data: bytes
    password: str | None
    document: Asset
    pages: list[Asset]
    keyings: list  # AssetKeying per page
    key: bytes
    layer_keyings: list = field(default_factory=list)  # the page layer's grid, per page
    images: list = field(default_factory=list)  # EmbeddedImage, registered and analysed
    images_skipped: int = 0

    def __repr__(self) -> str:  # the key must never reach a log
        return f"PreparedPdf({self.name!r}, {len(self.pages)} pages)"

    @property
    def asset_id(self) -> str:
        return self.document.id

    def copy_for(self, recipient_id: str) -> tuple[bytes, list[tuple[str, bytes | None]]]:
        """The recipient's copy and what it records: the document (whose marks are keyed
        tokens and word shifts, derived from the key), then each page and embedded image with
        its packed code, so that a screenshot of a page or an image pulled out of the file
        finds its holders like any image."""
        encoded, codes = marked_copy(self, recipient_id)
        return encoded, [(self.document.id, None), *codes]


def prepare(registry, path: Path, data: bytes, password: str | None) -> PreparedPdf:
    from leaktrace.engine.watermark.pattern import AssetKeying, Layout

    document, pages = register_pdf(registry, path, data, password)
    embedded, skipped = _register_images(registry, path, data, password, document)
    keyings = [
        AssetKeying(registry.key, page.sha256, Layout.from_params(page.params["pattern"]))
        for page in pages
    ]
    return PreparedPdf(
        str(path),
        data,
        password,
        document,
        pages,
        keyings,
        registry.key,
        [layers.layer_keying(keying) for keying in keyings],
        embedded,
        skipped,
    )


def _register_images(registry, path: Path, data: bytes, password: str | None, document: Asset):
    """Every markable embedded image as an image asset of its own, analysed for marking."""
    from leaktrace.media.image import files as image_files
    from leaktrace.media.image.asset import analyse, register_image
    from leaktrace.media.pdf.images import find_images

    with pdfdoc.open_pdf(data, str(path), password) as pdf:
        found, skipped = find_images(pdf)
    usable = []
    for image in found:
        try:
            loaded = image_files.load_image(image.data, name=f"{path.name}#image")
        except InputError:  # a JPEG stream Pillow cannot read: leave the image alone
            skipped += 1
            continue
        if loaded.orientation != 1 or loaded.alpha is not None:
            skipped += 1
            continue
        name = Path(f"{path.name}#image-{image.objgen[0]}")
        image.asset = register_image(registry, name, image.data, loaded, parent_id=document.id)
        image.analysis = analyse(image.asset, loaded, registry.key)
        usable.append(image)
    return usable, skipped


def marked_copy(prepared: PreparedPdf, recipient_id: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The recipient's copy (a full, deterministic rewrite) and ``(asset id, packed code)`` of
    each page and embedded image marked in it."""
    import pikepdf

    from leaktrace.media.pdf import text, wordshift
    from leaktrace.media.pdf.images import marked_stream_data, write_marked

    key = prepared.key
    doc = prepared.document
    codes = []
    with pdfdoc.open_pdf(prepared.data, prepared.name, prepared.password) as pdf:
        if len(pdf.pages) != len(prepared.pages):
            raise InputError(f"{prepared.name}: the page count differs from its registration")
        for page, asset, keying, small in zip(
            pdf.pages, prepared.pages, prepared.keyings, prepared.layer_keyings, strict=True
        ):
            words = int(asset.params.get("word_shift", {}).get("words", 0))
            if words:  # before the page layer: the shifts rewrite the page's own content
                moved = wordshift.shifts(key, asset.sha256, recipient_id, words)
                text.shift_words(pdf, page, moved)
            code = keying.recipient_code(recipient_id)
            depth = int(asset.params.get("page_layer", {}).get("depth", layers.PAGE_LAYER_DEPTH))
            layers.add_page_layer(pdf, page, layers.page_layer_bits(small, code), depth=depth)
            page.obj[layers.PAGE_KEY] = pikepdf.String(
                layers.page_mark(key, asset.id, asset.sha256, recipient_id)
            )
            codes.append((asset.id, np.packbits(code > 0).tobytes()))
        for image in prepared.images:
            stream_data, code = marked_stream_data(image, recipient_id)
            write_marked(pdf, image, stream_data)
            codes.append((image.asset.id, code))
        mark = layers.document_mark(key, doc.id, doc.sha256, recipient_id)
        pdf.trailer.ID = pikepdf.Array([pikepdf.String(mark), pikepdf.String(mark)])
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta["xmpMM:DocumentID"] = layers.xmp_uuid(mark)
        encryption = None
        if pdf.is_encrypted:
            # The copy is protected like the original, with the password the sender gave.
            encryption = pikepdf.Encryption(
                user=prepared.password or "", owner=prepared.password or "", allow=pdf.allow
            )
        out = io.BytesIO()
        try:
            # qpdf derives a deterministic /ID from the unencrypted bytes only; an encrypted
            # copy keeps our /ID[0] with a fixed /ID[1] (its AES IVs are random, though).
            pdf.save(
                out,
                deterministic_id=encryption is None,
                static_id=encryption is not None,
                encryption=encryption,
            )
        except pikepdf.PdfError as exc:  # damaged stream data that qpdf cannot rewrite
            raise InputError(
                f"{prepared.name}: cannot rewrite the PDF ({pdfdoc.describe(exc)})"
            ) from None
    return out.getvalue(), codes
