"""PDFs through the real command line: mark a packet for several recipients, then identify the
leaked file (re-saved and stripped, pages copied out, printed to PDF), a page screenshot, and
the unmarked originals, which must never be attributed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import environment_missing
from leaktrace.cli import app
from leaktrace.simulate import pdf as simulate

PDFS = Path(__file__).resolve().parents[1] / "fixtures" / "pdfs"
PACKET = ["reportlab_price_sheet.pdf", "pikepdf_drawing.pdf"]
RECIPIENTS = ["alice", "bob", "carol"]


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(
        app, list(args), env={"LEAKTRACE_KEY": None, "LEAKTRACE_PDF_PASSWORD": None, **(env or {})}
    )


def identify(world: dict, leak: Path, env: dict | None = None) -> dict:
    result = run("--registry", world["registry"], "identify", str(leak), "--json", env=env)
    assert result.exit_code in (0, 4), result.output
    found = json.loads(result.stdout)
    assert (result.exit_code == 0) == (found["verdict"] == "attributed")
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Three recipients; a folder holding the packet's two PDFs marked for all of them."""
    root = tmp_path_factory.mktemp("pdfworld")
    registry = str(root / "registry")
    assert run("--registry", registry, "init").exit_code == 0
    for rid in RECIPIENTS:
        result = run("--registry", registry, "recipients", "add", rid.title(), "--id", rid)
        assert result.exit_code == 0, result.output
    packet = root / "packet"
    packet.mkdir()
    for name in PACKET:
        shutil.copy(PDFS / name, packet / name)
    dist = root / "dist"
    result = run("--registry", registry, "mark", str(packet), "--all", "--out", str(dist), "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["summary"] == {"marked": 6, "skipped": 0, "failed_files": 0}
    return {"root": root, "registry": registry, "packet": packet, "dist": dist}


def copy_of(world, rid: str, name: str) -> bytes:
    return (world["dist"] / rid / name).read_bytes()


def renders(data: bytes, dpi: float = 100) -> list[np.ndarray]:
    return [simulate.render_page(data, page, dpi) for page in range(len(pdfium.PdfDocument(data)))]


def texts(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


@pytest.mark.parametrize("name", PACKET)
def test_marked_copy_looks_reads_and_links_like_the_original(world, name):
    original = (PDFS / name).read_bytes()
    marked = copy_of(world, "bob", name)
    assert marked != original
    assert texts(marked) == texts(original)
    for before, after in zip(renders(original), renders(marked), strict=True):
        assert before.shape == after.shape
        difference = np.abs(before.astype(np.int16) - after.astype(np.int16))
        # A faint layer (a few gray levels) and words moved by 0.2 pt (a third of a pixel
        # here): anti-aliased edges change, nothing reflows and no glyph goes missing.
        assert difference.mean() < 4
        assert np.mean(difference > 128) < 0.005
        ink = (before.min(axis=2) < 240).astype(np.uint8)  # anything drawn, light gray too
        near_ink = cv2.dilate(ink, np.ones((5, 5), np.uint8)).astype(bool)
        assert difference.max(axis=2)[~near_ink].max() <= 8
    with pikepdf.open(PDFS / name) as a, pikepdf.open(world["dist"] / "bob" / name) as b:
        assert [len(p.obj.get("/Annots", [])) for p in a.pages] == [
            len(p.obj.get("/Annots", [])) for p in b.pages
        ]
        with a.open_outline() as oa, b.open_outline() as ob:
            assert [item.title for item in oa.root] == [item.title for item in ob.root]
        assert b"%%EOF" not in marked[: marked.rindex(b"%%EOF")]  # a full rewrite, not an update


def test_copies_differ_per_recipient_and_carry_no_recipient_id(world):
    copies = {rid: copy_of(world, rid, PACKET[0]) for rid in RECIPIENTS}
    assert len({hashlib.sha256(data).hexdigest() for data in copies.values()}) == 3
    for rid, data in copies.items():
        assert rid.encode() not in data


def test_exact_copy_is_attributed_by_every_layer(world):
    found = identify(world, world["dist"] / "alice" / PACKET[0])
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "alice"
    assert found["asset"]["file"] == PACKET[0]
    assert 0 < found["p_value"] <= 1e-9  # never a bare zero, even when the tail underflows
    assert found["evidence"]["layers"] == [
        "page layer",
        "word shifts",
        "embedded images",
        "file-level marks",
    ]
    assert found["evidence"]["images_combined"] == 1
    assert found["evidence"]["word_shift_pages_combined"] == 3
    marks = found["evidence"]["file_marks"]
    assert len(marks) == 1 + 1 + 3  # /ID, XMP, one key per page
    assert {line["recipient"] for line in marks} == {"alice"}


def test_resaved_and_stripped_file_is_attributed_by_the_page_layer(world, tmp_path):
    leak = tmp_path / "forwarded.pdf"
    leak.write_bytes(simulate.strip_file_marks(simulate.resave(copy_of(world, "bob", PACKET[0]))))
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "bob"
    # file marks gone
    assert found["evidence"]["layers"] == ["page layer", "word shifts", "embedded images"]
    assert found["evidence"]["pages_combined"] == 3
    assert found["p_value"] <= 1e-9
    assert found["candidates"][1]["score"] < 5  # the innocent runner-up stays in the noise


def test_pages_copied_into_a_new_document_are_attributed(world, tmp_path):
    leak = tmp_path / "excerpt.pdf"
    leak.write_bytes(simulate.copy_pages(copy_of(world, "carol", PACKET[1]), [1]))
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "carol"
    assert [p["document_page"] for p in found["evidence"]["pages"]] == [2]


def test_printed_to_pdf_is_attributed(world, tmp_path):
    if simulate.ghostscript() is None:
        environment_missing("needs gs: scripts/ensure-ghostscript")
    leak = tmp_path / "printed.pdf"
    leak.write_bytes(simulate.print_to_pdf(copy_of(world, "alice", PACKET[1])))
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "alice"
    assert "file-level marks" not in found["evidence"]["layers"]  # Ghostscript drops them


def test_page_screenshot_as_jpeg_is_attributed_to_its_document_and_page(world, tmp_path):
    leak = tmp_path / "page2.jpg"
    leak.write_bytes(simulate.jpeg(simulate.render_page(copy_of(world, "bob", PACKET[0]), 1, 150)))
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "bob"
    assert found["evidence"]["pdf_page"]["page"] == 2


def test_unmarked_originals_and_other_documents_are_never_attributed(world, tmp_path):
    found = identify(world, PDFS / PACKET[0])
    assert found["verdict"] == "inconclusive"
    assert found["asset"]["file"] == PACKET[0]
    assert found["evidence"]["file_marks"] == []
    shot = tmp_path / "original-page.jpg"
    shot.write_bytes(simulate.jpeg(simulate.render_page((PDFS / PACKET[1]).read_bytes(), 0, 150)))
    assert identify(world, shot)["verdict"] == "inconclusive"
    other = identify(world, PDFS / "matplotlib_charts.pdf")
    assert other["verdict"] == "unknown" and other["recipient"] is None


def test_rerun_skips_and_rewrites_byte_identical_copies(world):
    args = ["--registry", world["registry"], "mark", str(world["packet"]), "--all"]
    result = run(*args, "--out", str(world["dist"]))
    assert result.exit_code == 6, result.output  # nothing to do
    target = world["dist"] / "carol" / PACKET[0]
    before = target.read_bytes()
    target.unlink()
    result = run(*args, "--out", str(world["dist"]), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["marked"] == 1
    assert target.read_bytes() == before


def test_encrypted_pdf_is_marked_and_identified_with_its_password(world, tmp_path):
    source = tmp_path / "locked.pdf"
    with pikepdf.open(PDFS / PACKET[1]) as pdf:
        pdf.save(source, encryption=pikepdf.Encryption(owner="owner-secret", user="reader"))
    out = tmp_path / "out"
    args = ["--registry", world["registry"], "mark", str(source), "--to", "bob", "--out", str(out)]
    refused = run(*args)
    assert refused.exit_code == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error: ")
    assert "encrypted" in lines[0] and "--password" in lines[0]
    wrong = run(*args, "--password", "guess")
    assert wrong.exit_code == 1 and "password is wrong" in wrong.stderr
    result = run(*args, "--password", "reader")
    assert result.exit_code == 0, result.output
    copy = out / "bob" / "locked.pdf"
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(copy)
    with pikepdf.open(copy, password="reader") as pdf:
        assert len(pdf.pages) == 2
    found = identify(world, copy, env={"LEAKTRACE_PDF_PASSWORD": "reader"})
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "bob"
    given = run("--registry", world["registry"], "identify", str(copy), "--password", "reader")
    assert given.exit_code == 0, given.output
    locked = run("--registry", world["registry"], "identify", str(copy))
    assert locked.exit_code == 1 and len(locked.stderr.strip().splitlines()) == 1
    assert "encrypted" in locked.stderr


def test_embedded_image_keeps_its_encoding_and_identifies_when_pulled_out(world, tmp_path):
    with (
        pikepdf.open(PDFS / PACKET[0]) as a,
        pikepdf.open(world["dist"] / "carol" / PACKET[0]) as b,
    ):
        before, after = (
            next(x for x in pdf.pages[1].obj.Resources.XObject.values() if x.Subtype == "/Image")
            for pdf in (a, b)
        )
        for key in ("/Width", "/Height", "/ColorSpace", "/BitsPerComponent"):
            assert after.get(key) == before.get(key)
        assert after.Filter == pikepdf.Name.FlateDecode  # lossless stays lossless
        pulled = np.asarray(pikepdf.PdfImage(after).as_pil_image())
        original = np.asarray(pikepdf.PdfImage(before).as_pil_image())
        assert 0 < np.abs(pulled.astype(int) - original.astype(int)).max() <= 8
    leak = tmp_path / "photo-from-the-packet.png"
    Image.fromarray(pulled).save(leak)
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "carol"


def test_report_of_a_leaked_pdf_shows_its_pages_and_file_marks(world, tmp_path):
    leak = tmp_path / "forwarded.pdf"
    leak.write_bytes(simulate.resave(copy_of(world, "carol", PACKET[0])))
    report = tmp_path / "evidence.html"
    args = ["--registry", world["registry"], "identify", str(leak), "--report", str(report)]
    result = run(*args)
    assert result.exit_code == 0, result.output
    html = report.read_text()
    assert "What was found in the leaked PDF (3 pages)" in html
    assert "names the copy of" in html and "<code>carol</code>" in html
    assert "data:image/png;base64," in html  # the leak's first page, inlined


def test_scan_attributes_leaked_pdfs_among_images(world, tmp_path):
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    (crawl / "from-bob.pdf").write_bytes(
        simulate.strip_file_marks(simulate.resave(copy_of(world, "bob", PACKET[1])))
    )
    shutil.copy(PDFS / PACKET[0], crawl / "original.pdf")
    result = run("--registry", world["registry"], "scan", str(crawl), "--json", "--workers", "1")
    assert result.exit_code == 0, result.output
    records = {Path(r["file"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["from-bob.pdf"]["verdict"] == "attributed"
    assert records["from-bob.pdf"]["recipient"]["id"] == "bob"
    assert records["original.pdf"]["verdict"] != "attributed"


def test_a_page_reissued_in_another_document_still_finds_its_copy(world, tmp_path):
    """A revision that repeats a page unchanged registers a second page asset with the same
    render: the leak is scored against both documents, and the right one proves the copy."""
    revision = tmp_path / "revision-2.pdf"
    with pikepdf.open(PDFS / PACKET[1]) as pdf:
        pdf.docinfo["/Title"] = "Revision 2"
        pdf.save(revision)
    out = tmp_path / "out"
    args = ["--registry", world["registry"], "mark", str(revision), "--to", "alice"]
    assert run(*args, "--out", str(out)).exit_code == 0
    leak = tmp_path / "from-carol.pdf"
    leak.write_bytes(simulate.strip_file_marks(simulate.resave(copy_of(world, "carol", PACKET[1]))))
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "carol"
    # every document holding the page was scored: the original, the revision (and the encrypted
    # variant another test may have marked)
    documents = {page["document"] for page in found["evidence"]["pages"]}
    assert found["asset"]["id"] in documents and len(documents) >= 2
    assert found["evidence"]["hypotheses_tested"] >= 4  # and the correction covers both


def test_word_shifts_alone_attribute_a_file_whose_page_layer_was_blanked(world, tmp_path):
    # A leaker who found the overlay image and blanked it, then dropped the file marks: the
    # words themselves still sit where this recipient's copy put them.
    leak = tmp_path / "cleaned.pdf"
    copy = copy_of(world, "carol", PACKET[0])
    leak.write_bytes(simulate.strip_file_marks(simulate.strip_page_layer(copy)))
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "carol"
    evidence = found["evidence"]
    by_layer = {line["layer"]: line for line in evidence["layer_scores"]}
    assert by_layer["page layer"]["p_family"] > 1e-3  # the layer is really gone
    assert by_layer["word shifts"]["best"] == "carol"
    assert by_layer["word shifts"]["p_family"] <= 1e-9
    assert evidence["statistics_compared"] == 4  # all layers, and each of the three alone
    shifts = evidence["word_shifts"]
    assert [line["page"] for line in shifts] == [1, 2, 3]
    assert all(line["measured"] == line["words"] > 100 for line in shifts)
    # every word moved by the full keyed amount, read back exactly from the file
    assert all(abs(line["median_shift_pt"] - 0.2) < 0.02 for line in shifts)


def test_word_shifts_move_no_line_end_and_differ_per_recipient(world):
    from leaktrace.media.pdf import text

    ends, firsts = {}, {}
    for rid in ["original", *RECIPIENTS]:
        data = (
            (PDFS / PACKET[0]).read_bytes() if rid == "original" else copy_of(world, rid, PACKET[0])
        )
        chars, origins = text.glyph_origins(data, 0)
        lines = [i for i, c in enumerate(chars) if c in "\r\n"]
        # the glyph before every line break: the last of its line
        ends[rid] = origins[[i - 1 for i in lines if i > 0 and chars[i - 1] not in "\r\n "]]
        firsts[rid] = origins[: len(chars)]
    for rid in RECIPIENTS:
        assert ends[rid].shape == ends["original"].shape
        moved = np.abs(firsts[rid] - firsts["original"]).max(axis=1)
        assert 0.15 < np.median(moved[moved > 0.01]) < 0.25  # words moved by ~0.2 pt
    a, b = firsts["alice"], firsts["bob"]
    assert np.mean(np.abs(a - b).max(axis=1) > 0.3) > 0.2  # opposite signs on many words


def test_unmarked_file_gives_word_shifts_no_weight(world):
    found = identify(world, PDFS / PACKET[0])
    assert found["verdict"] == "inconclusive"
    shifts = found["evidence"]["word_shifts"]
    assert shifts and all(line["median_shift_pt"] < 0.01 for line in shifts)


def test_a_file_assembled_from_two_copies_names_both_page_by_page(world, tmp_path):
    import io

    merged = pikepdf.new()
    for rid, pages in (("alice", [0, 1]), ("bob", [2])):
        with pikepdf.open(io.BytesIO(copy_of(world, rid, PACKET[0]))) as source:
            for index in pages:
                merged.pages.append(source.pages[index])
    leak = tmp_path / "assembled.pdf"
    merged.save(leak)
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "alice"
    by_page = {line["page"]: line for line in found["evidence"]["page_scores"]}
    assert [by_page[n]["best"] for n in (1, 2, 3)] == ["alice", "alice", "bob"]
    assert all(line["significant"] for line in by_page.values())
    assert "page 3: bob" in found["evidence"]["conflict"]
    assert "pages 1, 2: alice" in found["evidence"]["conflict"]


def test_a_page_screenshot_carries_the_word_shifts_too(world, tmp_path):
    leak = tmp_path / "page1.jpg"
    leak.write_bytes(
        simulate.jpeg(simulate.render_page(copy_of(world, "carol", PACKET[0]), 0, 150))
    )
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "carol"
    by_layer = {line["layer"]: line for line in found["evidence"]["layer_scores"]}
    # read from the picture alone, sub-pixel (0.2 pt is 0.42 px here), and enough to accuse
    assert by_layer["word shifts"]["best"] == "carol"
    assert by_layer["word shifts"]["p_family"] <= 1e-9
    [line] = found["evidence"]["word_shifts"]
    assert line["read_from"] == "picture" and line["measured"] > 200


def test_word_shifts_read_from_a_picture_of_the_unmarked_page_stay_null(world, tmp_path):
    leak = tmp_path / "original-page1.jpg"
    leak.write_bytes(simulate.jpeg(simulate.render_page((PDFS / PACKET[0]).read_bytes(), 0, 150)))
    found = identify(world, leak)
    assert found["verdict"] == "inconclusive"
    # The page the picture shows is reported, not whichever sister page's null scores happened
    # to be lowest under this run's random key (which once made this read vary, 0.001-0.053 pt).
    assert found["evidence"]["pdf_page"]["page"] == 1
    assert found["evidence"]["asset_found_by"] == "perceptual hash"
    [line] = found["evidence"]["word_shifts"]
    # nothing moved: what is read is the fit's noise, far under the 0.2 pt shift
    assert line["median_shift_pt"] < 0.02
    assert all(entry["p_family"] > 1e-3 for entry in found["evidence"]["layer_scores"])


def test_an_image_only_print_of_the_file_still_gives_its_word_shifts(world, tmp_path):
    leak = tmp_path / "flattened.pdf"
    leak.write_bytes(simulate.image_pdf(copy_of(world, "bob", PACKET[0])))
    found = identify(world, leak)
    assert found["verdict"] == "attributed" and found["recipient"]["id"] == "bob"
    lines = found["evidence"]["word_shifts"]
    assert [line["read_from"] for line in lines] == ["picture"] * 3  # no glyphs in the file
    by_layer = {line["layer"]: line for line in found["evidence"]["layer_scores"]}
    assert by_layer["word shifts"]["best"] == "bob"
    assert by_layer["word shifts"]["p_family"] <= 1e-9
