"""Per-word shifts (leaktrace.media.pdf.text): the words found, the shifts as pdfium sees them, and
everything that must be left alone."""

from __future__ import annotations

import difflib
import io
import time
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from leaktrace.media.pdf import text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pdfs"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SHIFT = 0.2

# Fixtures with text, and the pages checked (a few of the long ones keep the tests fast).
TEXT_FIXTURES = {
    "reportlab_price_sheet.pdf": [0, 1, 2],
    "matplotlib_charts.pdf": [0, 1],
    "pikepdf_drawing.pdf": [0, 1],
    "ghostscript_design.pdf": [0, 1],
    "pdftex_libtasn1.pdf": [0, 1, 2],
    "pdftex_shared_mime_info_spec.pdf": [0, 1, 2],
    "libreoffice_sheet.pdf": [0],
}


# --- helpers --------------------------------------------------------------------------------


def _save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _open(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data))


def _helvetica() -> pikepdf.Dictionary:
    return pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type1,
        BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    )


def _one_page(content: bytes, fonts=None, xobjects=None, extra=None) -> bytes:
    """A letter page with this content stream and resources, saved."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(fonts or {"/F1": _helvetica()}))
    if xobjects:
        resources.XObject = pikepdf.Dictionary(xobjects)
    for key, value in (extra or {}).items():
        resources[key] = value
    page = pdf.pages[0]
    page.obj.Resources = resources
    page.obj.Contents = pdf.make_stream(content)
    return _save(pdf)


def _shifts(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([-SHIFT, 0.0, SHIFT], size=count)


def _shift_pages(data: bytes, pages: list[int], shifts_for) -> tuple[bytes, dict]:
    """Shift the pages (shifts_for(page, n) gives the shifts) and save; returns the new file
    and per page (words before, shifts, words shifted)."""
    pdf = _open(data)
    plan = {}
    for index in pages:
        page = pdf.pages[index]
        before = text.page_words(pdf, page)
        shifts = shifts_for(index, len(before.words))
        moved = text.shift_words(pdf, page, shifts)
        plan[index] = (before, shifts, moved)
    return _save(pdf), plan


def _match_chars(words: list[text.Word], chars: str, origins: np.ndarray) -> list[int | None]:
    """pdfium's index of each word's first character (None if not found).

    pdfium truncates simple fonts' /Widths to integers (pdfTeX writes 722.2 and the like), so
    its origins drift from the exact ones by up to ~0.5 pt at a line end: the nearest character
    with the word's first letter within 1 pt is the word's.
    """
    found: list[int | None] = []
    for word in words:
        distance = np.hypot(*(origins - np.asarray(word.origin)).T)
        if word.text and word.text[0] in chars:
            candidates = np.array([ch == word.text[0] for ch in chars])
            if candidates.any():
                distance = np.where(candidates, distance, np.inf)
        j = int(np.argmin(distance)) if len(distance) else -1
        found.append(j if j >= 0 and distance[j] < 1.0 else None)
    return found


def _check_invariant(
    data: bytes, pages: list[int], seed: int = 7, origin_tolerance: float = 0.01
) -> dict[int, int]:
    """Shift every checked page by keyed +-0.2 / 0 and check words and pdfium's glyphs; the
    words' origins must be pdfium's within origin_tolerance."""
    shifted, plan = _shift_pages(data, pages, lambda page, n: _shifts(n, seed + page))
    reopened = _open(shifted)
    counts = {}
    for index, (before, shifts, moved) in plan.items():
        assert moved == int(np.count_nonzero(shifts))
        after = text.page_words(reopened, reopened.pages[index])
        assert len(after.words) == len(before.words)
        assert after.skipped == before.skipped
        for old, new, shift in zip(before.words, after.words, shifts, strict=True):
            assert (new.index, new.text, new.glyphs) == (old.index, old.text, old.glyphs)
            expected = np.asarray(old.origin) + shift * np.asarray(old.direction)
            np.testing.assert_allclose(new.origin, expected, atol=1e-3)
            np.testing.assert_allclose(new.direction, old.direction, atol=1e-9)

        chars, origins = text.glyph_origins(data, index)
        chars_after, origins_after = text.glyph_origins(shifted, index)
        # No character appears or vanishes (pdfium's generated spaces may differ on a borderline
        # gap, e.g. before a table of contents' leader dots).
        assert chars_after.replace(" ", "") == chars.replace(" ", "")
        pairs = _aligned(chars, chars_after)
        matched = _match_chars(before.words, chars, origins)
        assert sum(j is not None for j in matched) >= 0.98 * len(before.words)
        for word, j in zip(before.words, matched, strict=True):
            if j is not None:
                assert np.hypot(*(origins[j] - word.origin)) <= origin_tolerance, word
        for word, shift, j in zip(before.words, shifts, matched, strict=True):
            if j is None or j not in pairs:
                continue
            expected = shift * np.asarray(word.direction)
            np.testing.assert_allclose(origins_after[pairs[j]] - origins[j], expected, atol=0.01)
        # Every other character stays put or moved with its word: by 0 or by the shift.
        old_index = np.fromiter(pairs.keys(), dtype=np.int64)
        new_index = np.fromiter(pairs.values(), dtype=np.int64)
        movement = np.hypot(*(origins_after[new_index] - origins[old_index]).T)
        movement = movement[np.isfinite(movement)]
        assert np.all((movement < 0.01) | (np.abs(movement - SHIFT) < 0.01))
        counts[index] = len(before.words)
    return counts


def _aligned(chars: str, chars_after: str) -> dict[int, int]:
    """Index in chars_after of each character of chars in the runs both share."""
    matcher = difflib.SequenceMatcher(None, chars, chars_after, autojunk=False)
    pairs = {}
    for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.update(zip(range(i1, i2), range(j1, j1 + i2 - i1), strict=True))
    assert len(pairs) >= 0.99 * len(chars)
    return pairs


def _non_show_instructions(instructions) -> list[bytes]:
    """The instructions other than text showing, with ' and " spelled out the way
    shift_words writes them, one unparsed instruction each."""
    spelled = []
    for instruction in instructions:
        op = str(instruction.operator)
        operands = list(instruction.operands)
        if op == '"':
            spelled += [([operands[0]], "Tw"), ([operands[1]], "Tc"), ([], "T*")]
        elif op == "'":
            spelled.append(([], "T*"))
        elif op not in ("Tj", "TJ"):
            spelled.append(instruction)
    return [pikepdf.unparse_content_stream([item]) for item in spelled]


def _page_text(data: bytes, index: int) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        page = document[index]
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range()
        finally:
            textpage.close()
            page.close()
    finally:
        document.close()


def _render(data: bytes, index: int) -> np.ndarray:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        page = document[index]
        bitmap = page.render(scale=150 / 72, grayscale=True)
        pixels = bitmap.to_numpy().astype(np.float64)
        page.close()
        return pixels
    finally:
        document.close()


# --- fixtures -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEXT_FIXTURES))
def test_fixture_words_and_shift_invariant(name):
    data = (FIXTURES / name).read_bytes()
    # pdfium truncates the fractional /Widths pdfTeX writes for Computer Modern (722.2 -> 722).
    tolerance = 0.6 if name == "pdftex_libtasn1.pdf" else 0.01
    counts = _check_invariant(data, TEXT_FIXTURES[name], origin_tolerance=tolerance)
    assert all(count > 0 for count in counts.values()), counts


@pytest.mark.parametrize("name", sorted(TEXT_FIXTURES))
def test_fixture_words_are_pdfium_words(name):
    data = (FIXTURES / name).read_bytes()
    pdf = _open(data)
    found = total = 0
    for index in TEXT_FIXTURES[name]:
        page_text = " ".join(_page_text(data, index).split())
        page_text = page_text.replace("\ufb01", "fi").replace("\ufb02", "fl")
        for word in text.page_words(pdf, pdf.pages[index]).words:
            if word.text:
                total += 1
                found += word.text in page_text
    assert total > 0
    assert found >= 0.9 * total, (found, total)


def test_fixture_counts_and_nothing_skipped():
    expected_minimum = {
        "reportlab_price_sheet.pdf": 800,
        "matplotlib_charts.pdf": 40,
        "pikepdf_drawing.pdf": 30,
        "ghostscript_design.pdf": 400,
        "pdftex_libtasn1.pdf": 10000,
        "pdftex_shared_mime_info_spec.pdf": 5000,
    }
    for name, minimum in expected_minimum.items():
        pdf = _open((FIXTURES / name).read_bytes())
        results = [text.page_words(pdf, page) for page in pdf.pages]
        assert sum(len(r.words) for r in results) >= minimum, name
        assert not [reason for r in results for reason in r.skipped], name
        for r in results:
            assert [w.index for w in r.words] == list(range(len(r.words)))
            assert all(w.glyphs > 0 for w in r.words)


def test_image_only_pdf_has_no_words():
    data = (FIXTURES / "pillow_scan.pdf").read_bytes()
    pdf = _open(data)
    for page in pdf.pages:
        assert text.page_words(pdf, page) == text.PageWords(words=[], skipped=[])
        assert text.shift_words(pdf, page, np.zeros(0)) == 0


def test_rotated_page_words_in_unrotated_space():
    data = (FIXTURES / "pikepdf_drawing.pdf").read_bytes()
    pdf = _open(data)
    assert int(pdf.pages[1].obj.Rotate) == 90
    words = text.page_words(pdf, pdf.pages[1]).words
    assert [w.text for w in words[:4]] == ["DRAWING", "4711-B", "SCALE", "1:2"]
    assert words[0].origin == pytest.approx((40.0, 40.0))
    assert words[0].direction == pytest.approx((1.0, 0.0))


def test_kerned_words_of_pdftex():
    pdf = _open((FIXTURES / "pdftex_shared_mime_info_spec.pdf").read_bytes())
    words = [w.text for w in text.page_words(pdf, pdf.pages[2]).words]
    # [ (Shar) 37 (ed) -250 (MIME-info) -250 (Database) ] TJ: a small kern stays in the word.
    assert words[:3] == ["Shared", "MIME-info", "Database"]


def test_uniform_shift_keeps_text_extraction_and_render():
    for name, pages in TEXT_FIXTURES.items():
        data = (FIXTURES / name).read_bytes()
        shifted, _ = _shift_pages(data, pages, lambda page, n: np.full(n, SHIFT))
        for index in pages:
            assert _page_text(shifted, index) == _page_text(data, index), (name, index)


@pytest.mark.parametrize("name", ["reportlab_price_sheet.pdf", "pdftex_libtasn1.pdf"])
def test_keyed_shifts_keep_text_and_look_the_same(name):
    data = (FIXTURES / name).read_bytes()
    pages = TEXT_FIXTURES[name][:2]
    shifted, plan = _shift_pages(data, pages, lambda page, n: _shifts(n, 3 + page))
    for index in pages:
        before, after = _page_text(data, index), _page_text(shifted, index)
        assert after.split() == before.split() or "".join(after.split()) == "".join(before.split())
        original, marked = _render(data, index), _render(shifted, index)
        assert original.shape == marked.shape
        difference = np.abs(original - marked)
        # 0.2 pt is 0.4 px at 150 DPI; pdfium snaps glyphs to whole pixels, so some glyphs jump
        # by 1 px: measured mean differences 0.2-1.5 gray levels, < 0.6 % of pixels by > 128.
        assert 0.0 < difference.mean() < 2.5, difference.mean()
        assert np.mean(difference > 128) < 0.01
        # Nothing changes away from the original's ink (2 px around it).
        ink = original < 250
        near = np.zeros_like(ink)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                near |= np.roll(ink, (dy, dx), axis=(0, 1))
        assert not np.any((difference > 8) & ~near)


def test_zero_shifts_leave_the_page_alone():
    data = (FIXTURES / "reportlab_price_sheet.pdf").read_bytes()
    pdf = _open(data)
    page = pdf.pages[0]
    contents = page.obj.Contents
    before = contents.read_raw_bytes()
    n = len(text.page_words(pdf, page).words)
    assert text.shift_words(pdf, page, np.zeros(n)) == 0
    assert page.obj.Contents.objgen == contents.objgen
    assert page.obj.Contents.read_raw_bytes() == before


def test_only_showing_operators_change():
    data = (FIXTURES / "pdftex_libtasn1.pdf").read_bytes()
    pdf = _open(data)
    page = pdf.pages[2]
    original = pikepdf.parse_content_stream(page)
    n = len(text.page_words(pdf, page).words)
    assert text.shift_words(pdf, page, _shifts(n, 11)) == np.count_nonzero(_shifts(n, 11))
    assert page.obj.Contents.Filter == pikepdf.Name.FlateDecode
    rewritten = pikepdf.parse_content_stream(page)
    assert _non_show_instructions(rewritten) == _non_show_instructions(original)


def test_shift_count_and_length_check():
    data = (FIXTURES / "reportlab_price_sheet.pdf").read_bytes()
    pdf = _open(data)
    page = pdf.pages[0]
    n = len(text.page_words(pdf, page).words)
    with pytest.raises(ValueError):
        text.shift_words(pdf, page, np.zeros(n + 1))
    with pytest.raises(ValueError):
        text.shift_words(pdf, page, np.full(n, np.nan))
    shifts = np.zeros(n)
    shifts[[0, 5, 9]] = [0.3, -0.1, 0.05]
    assert text.shift_words(pdf, page, shifts) == 3


def test_page_words_is_fast():
    pdf = _open((FIXTURES / "pdftex_shared_mime_info_spec.pdf").read_bytes())
    start = time.perf_counter()
    total = sum(len(text.page_words(pdf, page).words) for page in pdf.pages)
    assert total > 0
    assert time.perf_counter() - start < 1.0


# --- generated PDFs -------------------------------------------------------------------------


def test_separators_split_words():
    data = _one_page(b"BT /F1 12 Tf 72 700 Td (Net price 1,250) Tj ET")
    pdf = _open(data)
    words = text.page_words(pdf, pdf.pages[0]).words
    assert [w.text for w in words] == ["Net", "price", "1,250"]
    assert [w.glyphs for w in words] == [3, 5, 5]
    # Helvetica AFM: N 722, e 556, t 278, space 278; 12 pt.
    assert words[1].origin == pytest.approx((72 + (722 + 556 + 278 + 278) * 0.012, 700.0))
    _check_invariant(data, [0])


def test_kerns_split_words_only_when_wide():
    data = _one_page(
        b"BT /F1 12 Tf 72 700 Td [(Net) -300 (price) -50 (list) 120 (ed) -201 (1,250)] TJ ET"
    )
    pdf = _open(data)
    words = text.page_words(pdf, pdf.pages[0]).words
    assert [w.text for w in words] == ["Net", "pricelisted", "1,250"]
    _check_invariant(data, [0])


def test_text_state_operators():
    """Tc, Tw, Tz, Ts, TL, TD, T*, ', ", a rotated and scaled Tm inside a cm, q/Q."""
    content = b"""
    q 1 0 0 1 20 -10 cm
    BT /F1 11 Tf 2 Tc 3 Tw 90 Tz 72 700 Td (Spacing and scaling) Tj
    0 Tc 0 Tw 100 Tz 3 Ts 0 -20 TD (raised words) Tj 0 Ts
    (next line by quote) '
    4 1 (spaced by double quote) "
    ET Q
    q 0.8 0 0 0.8 50 60 cm
    BT /F1 1 Tf 0.866 0.5 -0.5 0.866 100 300 Tm 14 0 0 14 0 0 Tm 0.866 0.5 -0.5 0.866 100 300 Tm
    /F1 14 Tf (turned thirty degrees) Tj ET Q
    BT /F1 10 Tf -1 0 0 1 400 200 Tm (mirrored text) Tj ET
    """
    data = _one_page(content)
    pdf = _open(data)
    words = text.page_words(pdf, pdf.pages[0]).words
    assert [w.text for w in words] == [
        "Spacing",
        "and",
        "scaling",
        "raised",
        "words",
        "next",
        "line",
        "by",
        "quote",
        "spaced",
        "by",
        "double",
        "quote",
        "turned",
        "thirty",
        "degrees",
        "mirrored",
        "text",
    ]
    assert words[3].origin == pytest.approx((92.0, 673.0))  # TD, then a rise of 3
    assert words[9].origin == pytest.approx((92.0, 630.0))  # ' and " each one TL (20) down
    turned = np.array([0.866, 0.5]) / np.hypot(0.866, 0.5)
    assert words[13].direction == pytest.approx(tuple(turned))
    assert words[-1].direction == pytest.approx((-1.0, 0.0))
    counts = _check_invariant(data, [0])
    assert counts[0] == len(words)
    # ' and " came out as T* + TJ and aw Tw ac Tc T* + TJ.
    shifted, _ = _shift_pages(data, [0], lambda page, n: np.full(n, SHIFT))
    reopened = _open(shifted)
    ops = [str(i.operator) for i in pikepdf.parse_content_stream(reopened.pages[0])]
    assert "'" not in ops and '"' not in ops
    assert ops.count("T*") == 2


def test_inline_image_passes_through():
    content = (
        b"BT /F1 12 Tf 72 700 Td (before image) Tj ET\n"
        b"q 20 0 0 20 72 600 cm BI /W 2 /H 2 /BPC 8 /CS /G ID \x00\xff\xff\x00 EI Q\n"
        b"BT /F1 12 Tf 72 500 Td (after image) Tj ET"
    )
    data = _one_page(content)
    pdf = _open(data)
    page = pdf.pages[0]
    original = pikepdf.parse_content_stream(page)
    assert len(text.page_words(pdf, page).words) == 4
    assert text.shift_words(pdf, page, np.full(4, SHIFT)) == 4
    rewritten = pikepdf.parse_content_stream(page)
    images = [i for i in rewritten if isinstance(i, pikepdf.ContentStreamInlineImage)]
    assert len(images) == 1
    assert b"\x00\xff\xff\x00 EI" in pikepdf.unparse_content_stream([images[0]])
    assert _non_show_instructions(rewritten) == _non_show_instructions(original)
    _check_invariant(data, [0])


def _type3_font(matrix) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type3,
        FontBBox=[0, 0, 1000, 1000],
        FontMatrix=matrix,
        FirstChar=32,
        LastChar=98,
        Widths=[500] + [0] * 64 + [600, 700],
        Encoding=pikepdf.Dictionary(
            Type=pikepdf.Name.Encoding, Differences=[32, pikepdf.Name.space, 97, "/a", "/b"]
        ),
    )


def _type3_pdf(matrix) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    font = _type3_font(matrix)
    box = b"0 0 0 0 1000 1000 d1 0 0 500 700 re f"
    font.CharProcs = pikepdf.Dictionary(
        a=pdf.make_stream(box), b=pdf.make_stream(box), space=pdf.make_stream(b"500 0 d0")
    )
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F5=pdf.make_indirect(font)))
    page.obj.Contents = pdf.make_stream(b"BT /F5 20 Tf 72 700 Td (ab ba abab) Tj ET")
    return _save(pdf)


def test_type3_font_with_a_plain_matrix_is_measured():
    data = _type3_pdf([0.001, 0, 0, 0.001, 0, 0])
    pdf = _open(data)
    result = text.page_words(pdf, pdf.pages[0])
    assert [w.text for w in result.words] == ["ab", "ba", "abab"]
    assert result.words[1].origin == pytest.approx((72 + (600 + 700 + 500) * 0.02, 700.0))
    _check_invariant(data, [0])


def test_type3_font_with_a_skewed_matrix_is_left_alone():
    data = _type3_pdf([0.001, 0.0002, 0, 0.001, 0, 0])
    pdf = _open(data)
    result = text.page_words(pdf, pdf.pages[0])
    assert result.words == []
    assert result.skipped == ["Type3 font /F5 with a rotated or skewed FontMatrix"]
    assert text.shift_words(pdf, pdf.pages[0], np.zeros(0)) == 0


def test_form_xobject_text_is_left_alone():
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    font = pdf.make_indirect(_helvetica())
    form = pdf.make_stream(b"BT /F1 10 Tf 0 0 Td (inside the form) Tj ET")
    form.Type, form.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    form.BBox = [0, 0, 200, 50]
    form.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    drawing = pdf.make_stream(b"0 0 m 10 10 l S")
    drawing.Type, drawing.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    drawing.BBox = [0, 0, 10, 10]
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(
        Font=pikepdf.Dictionary(F1=font), XObject=pikepdf.Dictionary(Fm1=form, Fm2=drawing)
    )
    page.obj.Contents = pdf.make_stream(
        b"BT /F1 12 Tf 72 700 Td (page words) Tj ET q 1 0 0 1 72 600 cm /Fm1 Do /Fm2 Do Q"
    )
    data = _save(pdf)
    pdf = _open(data)
    result = text.page_words(pdf, pdf.pages[0])
    assert [w.text for w in result.words] == ["page", "words"]
    assert result.skipped == ["text inside form XObject /Fm1"]
    _check_invariant(data, [0])
    shifted, _ = _shift_pages(data, [0], lambda page, n: np.full(n, SHIFT))
    reopened = _open(shifted)
    form_after = reopened.pages[0].obj.Resources.XObject.Fm1
    assert form_after.read_bytes() == b"BT /F1 10 Tf 0 0 Td (inside the form) Tj ET"


def test_unmeasurable_fonts_are_left_alone_with_reasons():
    symbol = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Symbol
    )
    vertical = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type0,
        BaseFont=pikepdf.Name("/Some-CJK"),
        Encoding=pikepdf.Name("/Identity-V"),
        DescendantFonts=[pikepdf.Dictionary(Subtype=pikepdf.Name.CIDFontType0, DW=1000)],
    )
    content = (
        b"BT /F1 12 Tf 72 700 Td (kept one) Tj /F3 12 Tf (abc) Tj /F1 12 Tf (lost) Tj "
        b"0 -20 Td (kept two) Tj /F4 12 Tf <00410042> Tj /F9 12 Tf (x) Tj ET "
        b"/F1 12 Tf (outside) Tj"
    )
    data = _one_page(content, fonts={"/F1": _helvetica(), "/F3": symbol, "/F4": vertical})
    pdf = _open(data)
    result = text.page_words(pdf, pdf.pages[0])
    assert [w.text for w in result.words] == ["kept", "one", "kept", "two"]
    assert result.skipped == [
        "font /F3 has no widths",
        "text after unmeasured text on its line (font /F3 has no widths)",
        "vertical writing (font /F4, Identity-V)",
        "text after unmeasured text on its line (vertical writing (font /F4, Identity-V))",
        "text shown outside BT/ET",
    ]
    _check_invariant(data, [0])


def test_missing_font_resource():
    data = _one_page(b"BT /F7 12 Tf 72 700 Td (nobody) Tj ET")
    pdf = _open(data)
    assert text.page_words(pdf, pdf.pages[0]).skipped == ["missing font resource /F7"]


@pytest.mark.parametrize(
    "content",
    [
        b"BT /F1 12 Tf 72 700 Td (Net price) Tj (unterminated Tj ET",
        b"BT /F1 12 Tf 72 700 Td [(Net) -300 (price) TJ ET",
        b"BT /F1 12 Tf 72 700 Td (Net price) Tj ET 1 2 frobnicate",
        b"BT /F1 12 Tf 72 Td (Net price) Tj ET",
        b"BT /F1 12 Tf 72 700 Td (Net price) Tj ET ] 1 0 0 RG",
    ],
)
def test_broken_stream_is_left_alone(content):
    data = _one_page(content)
    pdf = _open(data)
    page = pdf.pages[0]
    result = text.page_words(pdf, page)
    assert result.words == []
    assert len(result.skipped) == 1 and result.skipped[0].startswith("page left alone")
    assert text.shift_words(pdf, page, np.zeros(0)) == 0
    assert page.obj.Contents.read_bytes() == content


def test_undecodable_stream_does_not_raise():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    stream = pdf.make_stream(b"")
    stream.write(b"this is not flate data", filter=pikepdf.Name.FlateDecode)
    pdf.pages[0].obj.Contents = stream
    result = text.page_words(pdf, pdf.pages[0])
    assert result.words == [] and result.skipped[0].startswith("unreadable content stream")
    assert text.shift_words(pdf, pdf.pages[0], np.zeros(0)) == 0
    assert pdf.pages[0].obj.Contents.read_raw_bytes() == b"this is not flate data"


def test_unknown_operator_inside_bx_ex_is_fine():
    data = _one_page(b"BX 1 2 frobnicate EX BT /F1 12 Tf 72 700 Td (Net price) Tj ET")
    pdf = _open(data)
    assert len(text.page_words(pdf, pdf.pages[0]).words) == 2


def test_contents_array_is_one_stream():
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=_helvetica()))
    page.obj.Contents = pikepdf.Array(
        [pdf.make_stream(b"BT /F1 12 Tf 72 700 Td"), pdf.make_stream(b"(Net price) Tj ET")]
    )
    data = _save(pdf)
    pdf = _open(data)
    assert [w.text for w in text.page_words(pdf, pdf.pages[0]).words] == ["Net", "price"]
    _check_invariant(data, [0])


def test_truetype_subset_from_reportlab(tmp_path):
    if not DEJAVU.exists():
        pytest.skip(f"no TrueType font at {DEJAVU}")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU)))
    path = tmp_path / "dejavu.pdf"
    c = canvas.Canvas(str(path), invariant=1)
    c.setFont("DejaVuSans", 11)
    c.drawString(72, 720, "Grüße aus Köln – naïve café, net price 1,250 €")
    c.setFont("DejaVuSans", 9)
    c.drawString(72, 700, "Zweite Zeile mit Wörtern")
    c.showPage()
    c.save()
    data = path.read_bytes()
    pdf = _open(data)
    words = [w.text for w in text.page_words(pdf, pdf.pages[0]).words]
    assert words[:4] == ["Grüße", "aus", "Köln", "–"]
    assert words[-4:] == ["Zweite", "Zeile", "mit", "Wörtern"]
    # ReportLab writes fractional /Widths, which pdfium truncates to integers.
    _check_invariant(data, [0], origin_tolerance=0.6)


def test_type0_identity_h_from_matplotlib(tmp_path):
    if not DEJAVU.exists():
        pytest.skip(f"no TrueType font at {DEJAVU}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}):
        figure = plt.figure(figsize=(5, 3))
        figure.text(0.05, 0.7, "Grüße aus Köln, net price 1,250 €", fontsize=12)
        figure.text(0.1, 0.2, "turned words here", rotation=30, fontsize=10)
        path = tmp_path / "type0.pdf"
        figure.savefig(path, format="pdf")
        plt.close(figure)
    data = path.read_bytes()
    pdf = _open(data)
    fonts = pdf.pages[0].obj.Resources.Font
    assert all(f.Subtype == pikepdf.Name.Type0 for f in fonts.values())
    assert all(f.Encoding == pikepdf.Name("/Identity-H") for f in fonts.values())
    words = text.page_words(pdf, pdf.pages[0]).words
    assert [w.text for w in words] == [
        "Grüße",
        "aus",
        "Köln,",
        "net",
        "price",
        "1,250",
        "€",
        "turned",
        "words",
        "here",
    ]
    assert words[-1].direction == pytest.approx((np.cos(np.pi / 6), np.sin(np.pi / 6)), abs=1e-6)
    _check_invariant(data, [0])


def test_libreoffice_pdf():
    # A LibreOffice Writer export (fixtures/pdfs/make_fixtures.py --office): TrueType subsets,
    # a table whose cells are shown one operator each.
    data = (FIXTURES / "libreoffice_sheet.pdf").read_bytes()
    pdf = _open(data)
    found = text.page_words(pdf, pdf.pages[0])
    assert found.skipped == []
    words = [word.text for word in found.words]
    assert len(words) > 150
    assert words[:3] == ["Configuration", "sheet", "–"]
    assert "Confidential:" in words and "334.00" in words
    _check_invariant(data, [0])


def test_rewritten_operator():
    data = _one_page(b"BT /F1 12 Tf 72 700 Td (Net price 1,250) Tj ET")
    pdf = _open(data)
    page = pdf.pages[0]
    assert text.shift_words(pdf, page, np.array([0.2, 0.0, -0.3])) == 2
    shown = [i for i in pikepdf.parse_content_stream(page) if str(i.operator) == "TJ"]
    assert len(shown) == 1
    # 0.2 pt at 12 pt is 16.666667 thousandths of an em, 0.3 pt is 25.
    assert pikepdf.unparse_content_stream(shown) == (
        b"[ -16.666667 (Net) 16.666667 ( price ) 25 (1,250) -25 ] TJ"
    )


def test_kerns_alone_move_the_line():
    data = _one_page(b"BT /F1 10 Tf 72 700 Td (Net) Tj [-3000] TJ (price) Tj ET")
    pdf = _open(data)
    words = text.page_words(pdf, pdf.pages[0]).words
    assert words[1].origin == pytest.approx((72 + 1556 * 0.01 + 30, 700.0))
    _check_invariant(data, [0])


def test_font_set_by_ext_gstate():
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    font = pdf.make_indirect(_helvetica())
    page.obj.Resources = pikepdf.Dictionary(
        ExtGState=pikepdf.Dictionary(GS1=pikepdf.Dictionary(Font=pikepdf.Array([font, 14])))
    )
    page.obj.Contents = pdf.make_stream(b"/GS1 gs BT 72 700 Td (Net price) Tj ET")
    data = _save(pdf)
    pdf = _open(data)
    assert [w.text for w in text.page_words(pdf, pdf.pages[0]).words] == ["Net", "price"]
    _check_invariant(data, [0])


@pytest.mark.parametrize(
    "resources",
    [
        pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=5)),
        pikepdf.Dictionary(Font=7),
        pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pikepdf.Dictionary(Subtype=3))),
        pikepdf.Dictionary(
            Font=pikepdf.Dictionary(
                F1=pikepdf.Dictionary(Subtype=pikepdf.Name.TrueType, Widths=[1, "x"])
            )
        ),
    ],
)
def test_odd_resources_do_not_raise(resources):
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].obj.Resources = resources
    pdf.pages[0].obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 700 Td (Net price) Tj ET")
    result = text.page_words(pdf, pdf.pages[0])
    assert result.words == [] and len(result.skipped) == 1
    assert text.shift_words(pdf, pdf.pages[0], np.zeros(0)) == 0
