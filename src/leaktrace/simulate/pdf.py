"""Leaks of a PDF copy, for tests and benchmarks: what happens to a file on its way out.

File leaks return PDF bytes; page leaks return an RGB render that the image attacks of
:mod:`leaktrace.simulate` then turn into a screenshot file or a phone photo.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from leaktrace.errors import InputError


def resave(data: bytes) -> bytes:
    """Opened and saved again by another program (qpdf via pikepdf): objects renumbered,
    streams recompressed, a new second /ID."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        out = io.BytesIO()
        pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, recompress_flate=True)
    return out.getvalue()


def copy_pages(data: bytes, pages: list[int]) -> bytes:
    """The given pages (0-based, in that order) copied into a brand-new document."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as source, pikepdf.new() as target:
        for index in pages:
            target.pages.append(source.pages[index])
        out = io.BytesIO()
        target.save(out)
    return out.getvalue()


def strip_file_marks(data: bytes) -> bytes:
    """What a careful leaker does first: drop the XMP packet, private page keys and /ID."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/Metadata" in pdf.Root:
            del pdf.Root.Metadata
        for page in pdf.pages:
            for key in list(page.obj.keys()):
                if key not in {
                    "/Type",
                    "/Parent",
                    "/Resources",
                    "/Contents",
                    "/MediaBox",
                    "/CropBox",
                    "/Rotate",
                    "/Annots",
                    "/Group",
                }:
                    del page.obj[key]
        del pdf.trailer.ID  # qpdf then makes a fresh one
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def strip_page_layer(data: bytes) -> bytes:
    """What a leaker who found the page layer does: blank every 1-bit image mask drawn over a
    whole page, so that only the text (and its word shifts) is left to tell copies apart."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            resources = page.obj.get("/Resources")
            xobjects = resources.get("/XObject") if resources is not None else None
            for name in list(xobjects.keys()) if xobjects is not None else []:
                image = xobjects[name]
                if image.get("/ImageMask") is True and image.get("/BitsPerComponent") == 1:
                    # A set bit paints nothing (Decode [0 1]): the mask stays, the marks go.
                    rows = (int(image.Width) + 7) // 8 * int(image.Height)
                    image.write(b"\xff" * rows)
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def ghostscript() -> str | None:
    return shutil.which("gs")


def print_to_pdf(data: bytes) -> bytes:
    """ "Print to PDF": the file re-distilled by Ghostscript's pdfwrite (a new file whose content
    streams, fonts and images are all rewritten)."""
    gs = ghostscript()
    if gs is None:
        raise InputError("Ghostscript (gs) is not installed: run scripts/ensure-ghostscript")
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "in.pdf"), Path(folder, "out.pdf")
        source.write_bytes(data)
        subprocess.run(
            [
                gs,
                "-q",
                "-dSAFER",
                "-dBATCH",
                "-dNOPAUSE",
                "-sDEVICE=pdfwrite",
                f"-sOutputFile={target}",
                str(source),
            ],
            check=True,
            capture_output=True,
        )
        return target.read_bytes()


def render_page(data: bytes, page: int, dpi: float) -> np.ndarray:
    """One page as a viewer shows it at ``dpi`` (96 is a desktop viewer's 100 % zoom)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        bitmap = document[page].render(
            scale=dpi / 72.0, fill_color=(255, 255, 255, 255), rev_byteorder=True
        )
        return bitmap.to_numpy()[..., :3].copy()
    finally:
        document.close()


def image_pdf(data: bytes, dpi: float = 150.0, quality: int = 85) -> bytes:
    """ "Print to an image PDF": every page rendered at ``dpi`` and saved as one JPEG per page
    (what a scan-to-PDF or a flattening "print as image" gives). No text is left to read."""
    import pypdfium2 as pdfium
    from PIL import Image

    pages = [
        Image.fromarray(render_page(data, index, dpi))
        for index in range(len(pdfium.PdfDocument(data)))
    ]
    buffer = io.BytesIO()
    pages[0].save(
        buffer, "PDF", save_all=True, append_images=pages[1:], resolution=dpi, quality=quality
    )
    return buffer.getvalue()


def jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    """A screenshot saved as JPEG (4:2:0, as most tools do)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
