"""Reading the word shifts back: from the glyph positions of a leaked PDF file, or by a
sub-pixel fit per word in a picture of a page; and a page picture's evidence as a view of the
page's registered render."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from leaktrace.errors import InputError
from leaktrace.media.image.identify import ViewEvidence
from leaktrace.media.image.locate import Located
from leaktrace.media.pdf import document as pdfdoc
from leaktrace.pipeline.evidence import Block
from leaktrace.pipeline.session import Session

__all__ = ["PageReading", "file_word_blocks", "page_picture_view", "picture_word_blocks"]


@dataclass(frozen=True)
class PageReading:
    """Where a page-layer block came from: the registered page it aligned to, and the leaked
    page as rendered (luma), kept for reading word shifts from the picture when the file has
    no glyphs to read them from."""

    located: Located
    picture: np.ndarray | None = None


def word_count(asset) -> int:
    return int(asset.params.get("word_shift", {}).get("words", 0))


def _original_words(session: Session, asset):
    """The registered page's words (text state) and pdfium's glyphs, mapped to its render."""
    from leaktrace.media.pdf import text

    registry = session.registry
    document = registry.get_asset(asset.parent_id)
    original = registry.store.get(document.sha256)
    with pdfdoc.open_pdf(original, document.file_name, session.password) as pdf:
        words = text.page_words(pdf, pdf.pages[asset.page]).words
    glyphs = text.read_glyphs(original, asset.page, session.password, (asset.width, asset.height))
    return words, glyphs


def _measure_picture(located: Located, leak_luma: np.ndarray, words, glyphs):
    from leaktrace.media.pdf import wordshift

    return wordshift.measure_image(
        wordshift.word_geometry(words, glyphs),
        located.analysis.reference_luma,
        leak_luma,
        located.registration.homography,
        located.registration.local_warp,
    )


def _word_blocks(session: Session, located: Located, part: int, rasters, measured) -> list:
    """Measured word shifts as blocks of evidence, one per registry key among the page's
    ``rasters`` (its page-layer blocks), each scored against those holders' keyed signs
    (derived from the key here, never read back from the registry)."""
    from leaktrace.media.pdf import wordshift

    asset = located.asset
    count = word_count(asset)
    blocks = []
    for raster in rasters:
        key_id = session.registry.key_id if raster.key_id is None else raster.key_id
        key = session.registry.key_for(key_id)
        ids = list(raster.ids)
        blocks.append(
            Block(
                asset,
                "word shifts",
                part,
                measured.shifts,
                ids,
                wordshift.packed_codes(key, asset.sha256, ids, count),
                decoys=partial(wordshift.decoy_codes, key, asset.sha256, count),
                origin=PageReading(located),
                key_id=raster.key_id,
            )
        )
    return blocks


def file_word_blocks(session: Session, data: bytes, pages: list[Block], evidence: dict) -> list:
    """The word shifts of every leaked page found among the registered pages, measured against
    the registered original's glyph positions; from the rendered page when the leaked file has
    no text left to read (an image-only print)."""
    from leaktrace.media.pdf import text, wordshift

    found: list[Block] = []
    rasters: dict[tuple[str, int], list[Block]] = {}
    for page in pages:  # a page's blocks under every key share one measurement
        rasters.setdefault((page.asset.id, page.part), []).append(page)
    for keyed in rasters.values():
        page = keyed[0]
        reading: PageReading = page.origin
        asset = page.asset
        count = word_count(asset)
        if page.part < 0 or count == 0:
            continue
        line = {"page": page.part + 1, "found": asset.id, "words": count}
        evidence["word_shifts"].append(line)
        try:
            words, glyphs = _original_words(session, asset)
            leak = text.glyph_origins(data, page.part, session.password)
        except InputError as exc:  # e.g. an encrypted original whose password was not given
            line["note"] = f"not read: {exc}"
            continue
        if len(words) != count:
            line["note"] = "the original's words differ from its registration"
            continue
        measured = wordshift.measure(words, (glyphs.chars, glyphs.origins), leak)
        if not measured.usable and reading.picture is not None:
            line["read_from"] = "picture"
            measured = _measure_picture(reading.located, reading.picture, words, glyphs)
        line.update(measured=measured.measured, median_shift_pt=round(measured.residual_pt, 4))
        if not measured.usable:
            where = "located in the picture" if "read_from" in line else "found in the leak"
            line["note"] = f"too few words {where}"
            continue
        found += _word_blocks(session, reading.located, page.part, keyed, measured)
    return found


def picture_word_blocks(
    session: Session, located: Located, leak_luma: np.ndarray, part: int, rasters: list[Block]
) -> tuple[list[Block], dict | None]:
    """The word shifts read from a picture of a registered page (a screenshot or a photo), as
    more blocks of evidence (one per key among the page's ``rasters``); none when the page has
    no words or too few could be located.

    Returns ``(blocks, line)``: the blocks to combine and their line for
    ``evidence.word_shifts``.
    """
    asset = located.asset
    count = word_count(asset)
    if count == 0 or not rasters:
        return [], None
    line = {"page": part + 1, "found": asset.id, "words": count, "read_from": "picture"}
    try:
        words, glyphs = _original_words(session, asset)
    except InputError as exc:
        line["note"] = f"not read: {exc}"
        return [], line
    if len(words) != count:
        line["note"] = "the original's words differ from its registration"
        return [], line
    measured = _measure_picture(located, leak_luma, words, glyphs)
    line.update(measured=measured.measured, median_shift_pt=round(measured.residual_pt, 4))
    if not measured.usable:
        line["note"] = "too few words located in the picture"
        return [], line
    return _word_blocks(session, located, part, rasters, measured), line


def page_picture_view(
    session: Session, located: Located, leak_luma: np.ndarray, rasters: list[Block]
) -> ViewEvidence:
    """A picture of a PDF page: its page layer and, where the page has words, their shifts
    (each also deciding alone under one correction)."""
    asset = located.asset
    blocks, line = picture_word_blocks(session, located, leak_luma, asset.page, rasters)
    evidence: dict = {}
    if line is not None:
        evidence["word_shifts"] = [line]
    evidence["pdf_page"] = {"document": asset.parent_id, "page": asset.page + 1}
    return ViewEvidence("page layer", blocks, evidence)
