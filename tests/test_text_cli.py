"""Text canaries through the real command line: ``mark`` for .md/.txt/.html/.docx (folders,
CSV recipients, manifests, skip-if-done), ``identify`` of quotes, web pages and standard input,
``text check``, the text ``simulate`` attacks, bad input, and innocent leaks.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaktrace.cli import app
from leaktrace.media.text import decode_code, keyed_choices, load_document, make_plan
from leaktrace.registry import open_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"
SHEET = FIXTURES / "price-sheet-aurora-authored.en.md"
KEY = "3c" * 32
OTHER_KEY = "a7" * 32
RECIPIENTS = ["alice", "bob", "carol", "dave"]


def run(*args: str, key: str = KEY, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": key}, input=stdin)


def prose_lines(text: str) -> list[str]:
    """The sheet's prose and list lines, without Markdown syntax (for HTML and DOCX copies)."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("|") or line == "{{unordered}}":
            continue
        lines.append(re.sub(r"^(#+|-)\s+", "", line))
    return lines


def make_html(path: Path) -> Path:
    body = "\n".join(
        f"<p>{html.escape(line, quote=False)}</p>" for line in prose_lines(SHEET.read_text())
    )
    path.write_text(
        f"<!doctype html>\n<html><head><title>Aurora</title></head><body>\n{body}\n</body></html>\n"
    )
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    for line in prose_lines(SHEET.read_text()):
        document.add_paragraph(line)
    document.save(str(path))
    return path


def init_world(root: Path, key: str = KEY) -> str:
    registry = str(root / "registry")
    assert run("--registry", registry, "init", key=key).exit_code == 0
    for rid in RECIPIENTS:
        result = run("--registry", registry, "recipients", "add", rid.title(), "--id", rid, key=key)
        assert result.exit_code == 0, result.output
    return registry


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A registry with four recipients and the sheet marked as .md, .txt, .html and .docx."""
    root = tmp_path_factory.mktemp("text-world")
    registry = init_world(root)
    sources = root / "sources"
    sources.mkdir()
    (sources / "sheet.md").write_bytes(SHEET.read_bytes())
    (sources / "notes.txt").write_text("\n\n".join(prose_lines(SHEET.read_text())[:12]) + "\n")
    make_html(sources / "page.html")
    make_docx(sources / "brief.docx")
    result = run(
        "--registry", registry, "mark", str(sources), "--all", "--out", str(root / "dist"), "--json"
    )
    assert result.exit_code == 0, result.output
    return {
        "root": root,
        "registry": registry,
        "dist": root / "dist",
        "manifest": json.loads(result.stdout),
    }


def identify(world, *args: str, stdin: str | None = None, key: str = KEY) -> tuple[int, dict]:
    result = run("--registry", world["registry"], "identify", *args, "--json", stdin=stdin, key=key)
    assert result.exit_code in (0, 4), result.output
    return result.exit_code, json.loads(result.stdout)


# ---------------------------------------------------------------------------------- marking


def test_a_folder_of_text_documents_is_marked_for_everyone(world):
    copies = world["manifest"]["copies"]
    assert len(copies) == 4 * len(RECIPIENTS)
    assert {c["status"] for c in copies} == {"marked"}
    for name in ("sheet.md", "notes.txt", "page.html", "brief.docx"):
        digests = {
            hashlib.sha256((world["dist"] / rid / name).read_bytes()).hexdigest()
            for rid in RECIPIENTS
        }
        assert len(digests) == len(RECIPIENTS), f"{name}: two recipients got the same copy"


def test_registry_records_follow_the_documented_format(world):
    registry = open_registry(world["registry"], key=bytes.fromhex(KEY))
    assets = {a.file_name: a for a in registry.list_assets("text")}
    assert set(assets) == {"sheet.md", "notes.txt", "page.html", "brief.docx"}
    sheet = assets["sheet.md"]
    assert sheet.sha256 == hashlib.sha256(SHEET.read_bytes()).hexdigest()
    params = sheet.params
    assert params["text"] == "leaktrace-text/1" and params["format"] == "markdown"
    assert params["code_version"] == 1 and params["original_sha256"] == sheet.sha256
    manifest = registry.store.get(params["plan_sha256"])
    assert json.loads(manifest)["version"] == "leaktrace-text-plan/1"
    assert registry.store.get(sheet.sha256) == SHEET.read_bytes()
    plan = make_plan(load_document(SHEET.read_bytes(), "sheet.md"))
    assert plan.digest == params["plan_sha256"] and params["points"] == len(plan.points)
    for copy in registry.list_copies(asset_id=sheet.id):
        expected = keyed_choices(bytes.fromhex(KEY), sheet.id, copy.recipient_id, plan.points)
        assert decode_code(copy.code, plan.digest, plan.ks) == expected
        assert copy.key_id == 1


def test_a_diff_of_two_copies_shows_only_wording(world):
    alice = (world["dist"] / "alice" / "sheet.md").read_text().splitlines()
    bob = (world["dist"] / "bob" / "sheet.md").read_text().splitlines()
    assert len(alice) == len(bob)
    changed = [i for i, (a, b) in enumerate(zip(alice, bob, strict=True)) if a != b]
    assert changed, "the copies are identical"
    # Figures never change: every number of every line is the same in both copies.
    for a, b in zip(alice, bob, strict=True):
        assert re.findall(r"\d+", a.replace(",", "")) == re.findall(r"\d+", b.replace(",", ""))


def test_a_docx_copy_is_still_a_word_document(world):
    import docx

    copy = docx.Document(str(world["dist"] / "carol" / "brief.docx"))
    text = "\n".join(p.text for p in copy.paragraphs)
    assert "{{" not in text and "Aurora" in text


def test_marking_again_skips_what_is_done(world):
    result = run(
        "--registry",
        world["registry"],
        "mark",
        str(world["root"] / "sources"),
        "--all",
        "--out",
        str(world["dist"]),
    )
    assert result.exit_code == 6, result.output


def test_recipients_from_a_csv_file(tmp_path):
    registry = init_world(tmp_path)
    csv_file = tmp_path / "outlets.csv"
    csv_file.write_text("id,name,email,org\nev-daily,EV Daily,,\nalice,Alice,,\n")
    result = run(
        "--registry",
        registry,
        "mark",
        str(SHEET),
        "--recipients",
        str(csv_file),
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["recipients_added"] == ["ev-daily"]
    assert sorted(c["recipient"] for c in payload["copies"]) == ["alice", "ev-daily"]
    assert (tmp_path / "out" / "ev-daily" / SHEET.name).is_file()


BAD_INPUTS = {
    "binary.txt": (b"\x00\x01\x02binary\xff" * 20, "binary data"),
    "latin1.md": (
        "Le prix est d\u00e9j\u00e0 fix\u00e9 \u00e0 39 900 \u20ac.".encode("cp1252"),
        "not valid utf-8",
    ),
    "broken.md": (b"The {{flagship|top model launches soon.\n", "not closed"),
    "archive.docx": (None, "not a Word document"),
    "plain.md": (b"Hello there.\n", "bits are needed"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_records_nothing(tmp_path, name):
    data, message = BAD_INPUTS[name]
    if data is None:  # a ZIP archive of something else, renamed
        import zipfile

        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("readme.txt", "not a document")
    else:
        (tmp_path / name).write_bytes(data)
    registry = init_world(tmp_path)
    result = run(
        "--registry",
        registry,
        "mark",
        str(tmp_path / name),
        "--all",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error:"), result.stderr
    assert message.lower() in lines[0].lower()
    assert "Traceback" not in result.output
    opened = open_registry(registry, key=bytes.fromhex(KEY))
    assert opened.list_assets() == [] and opened.list_copies() == []
    assert not any((tmp_path / "out").rglob("*.*")) if (tmp_path / "out").exists() else True


# ----------------------------------------------------------------------------- identifying


def test_a_retyped_quote_names_its_recipient(world, tmp_path):
    leak = tmp_path / "quote.txt"
    result = run(
        "simulate",
        str(world["dist"] / "bob" / "sheet.md"),
        "--attack",
        "quote500",
        "--seed",
        "1",
        "--out",
        str(leak),
    )
    assert result.exit_code == 0, result.output
    code, payload = identify(world, str(leak))
    assert code == 0, payload["reason"]
    assert payload["verdict"] == "attributed" and payload["recipient"]["id"] == "bob"
    assert payload["asset"]["file"] == "sheet.md"
    assert payload["p_value"] <= 1e-9
    assert payload["candidates"][1]["p_value"] > 1e-3
    # Bonferroni over every (document, recipient) pair the leak matched.
    matched = payload["evidence"]["text"]["documents_matched"]
    assert payload["evidence"]["hypotheses_tested"] >= len(RECIPIENTS)
    assert payload["evidence"]["hypotheses_tested"] == len(RECIPIENTS) * len(matched)
    assert payload["evidence"]["null"]["observed_points"] > 10


def test_a_web_page_is_read_as_text(world):
    code, payload = identify(world, str(world["dist"] / "dave" / "page.html"))
    assert code == 0 and payload["recipient"]["id"] == "dave"
    assert payload["asset"]["file"] == "page.html"


def test_a_docx_leak_names_its_recipient(world):
    code, payload = identify(world, str(world["dist"] / "alice" / "brief.docx"))
    assert code == 0 and payload["recipient"]["id"] == "alice"


def test_standard_input(world):
    pasted = (world["dist"] / "carol" / "sheet.md").read_text()
    code, payload = identify(world, "--text", "-", stdin=pasted)
    assert code == 0 and payload["recipient"]["id"] == "carol"
    assert payload["file"] == "-"
    code, payload = identify(world, "-", stdin=pasted)
    assert code == 0 and payload["recipient"]["id"] == "carol"


def test_empty_standard_input_is_an_error(world):
    result = run("--registry", world["registry"], "identify", "-", stdin="")
    assert result.exit_code == 1 and "standard input" in result.stderr


def test_the_report_describes_the_text_reading(world, tmp_path):
    leak = tmp_path / "paste.txt"
    leak.write_text((world["dist"] / "bob" / "sheet.md").read_text())
    report = tmp_path / "report.html"
    result = run("--registry", world["registry"], "identify", str(leak), "--report", str(report))
    assert result.exit_code == 0, result.output
    page = report.read_text()
    assert "What the text shows" in page and "Poisson-binomial" in page
    stdin_report = tmp_path / "stdin.html"
    result = run(
        "--registry",
        world["registry"],
        "identify",
        "-",
        "--report",
        str(stdin_report),
        stdin=leak.read_text(),
    )
    assert result.exit_code == 0, result.output
    assert stdin_report.is_file()


def test_the_unmarked_original_is_inconclusive(world):
    code, payload = identify(world, str(SHEET))
    assert code == 4 and payload["verdict"] == "inconclusive"
    assert payload["recipient"] is None


def test_a_copy_made_under_another_key_is_inconclusive(world, tmp_path):
    other = init_world(tmp_path, key=OTHER_KEY)
    result = run(
        "--registry",
        other,
        "mark",
        str(SHEET),
        "--to",
        "alice",
        "--out",
        str(tmp_path / "out"),
        key=OTHER_KEY,
    )
    assert result.exit_code == 0, result.output
    code, payload = identify(world, str(tmp_path / "out" / "alice" / SHEET.name))
    assert code == 4 and payload["verdict"] == "inconclusive", payload
    assert payload["candidates"][0]["p_value"] > 1e-9


def test_unrelated_text_is_unknown(world, tmp_path):
    leak = tmp_path / "other.txt"
    leak.write_text((FIXTURES / "handbook-foreword.en.md").read_text())
    code, payload = identify(world, str(leak))
    assert code == 4 and payload["verdict"] == "unknown"


def test_an_edited_code_in_the_registry_accuses_nobody(world, tmp_path):
    registry = init_world(tmp_path)
    result = run(
        "--registry", registry, "mark", str(SHEET), "--all", "--out", str(tmp_path / "out")
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "registry" / "registry.sqlite") as db:
        codes = dict(db.execute("select recipient_id, code from copies"))
        # Give bob's code to alice: a leak of bob's copy would now point at alice.
        db.execute("update copies set code = ? where recipient_id = 'alice'", (codes["bob"],))
    result = run("--registry", registry, "identify", str(tmp_path / "out" / "bob" / SHEET.name))
    assert result.exit_code == 1, result.output
    assert "does not match the key" in result.stderr


# ------------------------------------------------------------------------ text check, simulate


def test_text_check_lists_choice_points(world):
    result = run("text", "check", str(SHEET), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    authored = [p for p in report["points"] if p["family"] == "authored"]
    assert authored and all(p["bits"] > 0 for p in report["points"])
    assert report["separable"] > 100 and report["bits_needed"] == pytest.approx(36.5, abs=0.1)
    human = run("text", "check", str(SHEET))
    assert human.exit_code == 0 and "separates up to" in human.stdout


def test_text_check_refuses_a_document_without_choice_points(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("Hello there.\n")
    result = run("text", "check", str(plain))
    assert result.exit_code == 1 and "37 bits" in result.stderr


def test_simulate_lists_and_runs_text_attacks(world, tmp_path):
    listed = run("simulate", str(SHEET), "--list")
    assert listed.exit_code == 0
    for name in ("retype", "quote50", "quote500", "drop-reorder", "paraphrase20", "screenshot-ocr"):
        assert name in listed.stdout
    out = tmp_path / "short.txt"
    result = run(
        "simulate",
        str(world["dist"] / "alice" / "sheet.md"),
        "--attack",
        "quote50",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert 30 <= len(out.read_text().split()) <= 120
    result = run("simulate", str(SHEET), "--attack", "social480", "--out", str(out))
    assert result.exit_code == 2 and "unknown text attack" in result.stderr


@pytest.mark.parametrize("attack", ["retype", "drop-reorder", "paraphrase20"])
def test_simulated_leaks_of_the_whole_sheet_are_attributed(world, tmp_path, attack):
    leak = tmp_path / f"{attack}.txt"
    result = run(
        "simulate",
        str(world["dist"] / "dave" / "sheet.md"),
        "--attack",
        attack,
        "--seed",
        "2",
        "--out",
        str(leak),
    )
    assert result.exit_code == 0, result.output
    code, payload = identify(world, str(leak))
    assert code == 0 and payload["recipient"]["id"] == "dave", payload["reason"]


def test_a_screenshot_of_the_text_is_read_by_ocr(world, tmp_path):
    from leaktrace.media.text.ocr import available_languages, tesseract_path

    if tesseract_path() is None or "eng" not in available_languages():
        pytest.skip("Tesseract with English is not installed (scripts/ensure-tesseract)")
    leak = tmp_path / "screenshot.png"
    result = run(
        "simulate",
        str(world["dist"] / "carol" / "sheet.md"),
        "--attack",
        "text-screenshot",
        "--seed",
        "4",
        "--out",
        str(leak),
    )
    assert result.exit_code == 0, result.output
    code, payload = identify(world, str(leak))
    assert payload["evidence"]["text"]["source"] == "ocr"
    assert code == 0 and payload["recipient"]["id"] == "carol", payload["reason"]
