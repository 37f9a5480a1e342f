"""Identify after ``leaktrace key rotate``: every copy is read with the key that made it.

One registry marks a photo and a PDF for three recipients, rotates its key, and marks the photo
again for one of them: alice then holds copies of the photo under key 1 and key 2, each its own
hypothesis. Leaks of either copy must name alice with the key that made it; bob's old copy
must name bob; the old PDF copy must be traced by its page layer, word shifts and file token;
an evidence case of an old copy must verify; and a missing old key is one line, nothing
recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from leaktrace.cli import app
from leaktrace.media.image.files import load_display_rgb
from leaktrace.simulate import pdf as simulate_pdf
from leaktrace.simulate import run_attack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTO = FIXTURES / "photos" / "coffee.png"
PDF = FIXTURES / "pdfs" / "reportlab_price_sheet.pdf"
BASE_ENV = {
    "LEAKTRACE_KEY": None,
    "LEAKTRACE_KEYRING": None,
    "LEAKTRACE_REGISTRY": None,
    "LEAKTRACE_WORKERS": "1",
}


def run(registry: Path, *args: str):
    return CliRunner().invoke(app, ["--registry", str(registry), *args], env=BASE_ENV)


def identified(registry: Path, leak: Path) -> dict:
    result = run(registry, "identify", str(leak), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def leak_of(copy: Path, attack: str, out: Path) -> Path:
    data, extension = run_attack(attack, load_display_rgb(copy), seed=5)
    path = out.with_suffix(extension)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("rotation")
    registry = root / "registry"
    assert run(registry, "init").exit_code == 0
    for rid in ("alice", "bob", "carol"):
        assert run(registry, "recipients", "add", rid.title(), "--id", rid).exit_code == 0
    old = root / "old"
    result = run(registry, "mark", str(PHOTO), str(PDF), "--all", "--out", str(old))
    assert result.exit_code == 0, result.output
    result = run(registry, "key", "rotate")
    assert result.exit_code == 0, result.output
    new = root / "new"
    result = run(registry, "mark", str(PHOTO), "--to", "alice", "--out", str(new))
    assert result.exit_code == 0, result.output
    return {"root": root, "registry": registry, "old": old, "new": new}


def test_copies_under_both_keys_are_each_read_with_their_own(world):
    root, registry = world["root"], world["registry"]
    for made, key_id in (("old", 1), ("new", 2)):
        leak = leak_of(world[made] / "alice" / PHOTO.name, "social480", root / f"alice-{made}")
        result = identified(registry, leak)
        assert result["verdict"] == "attributed", result["reason"]
        assert result["recipient"]["id"] == "alice"
        assert result["p_value"] <= 1e-9
        assert result["evidence"]["copy_key_id"] == key_id
        # alice, bob and carol under key 1, alice again under key 2: four hypotheses
        assert result["evidence"]["hypotheses_tested"] == 4


def test_an_old_copy_of_someone_who_got_no_new_one(world):
    leak = leak_of(world["old"] / "bob" / PHOTO.name, "jpeg70", world["root"] / "bob-old")
    result = identified(world["registry"], leak)
    assert result["verdict"] == "attributed" and result["recipient"]["id"] == "bob"
    assert result["evidence"]["copy_key_id"] == 1


def test_an_old_pdf_copy_is_traced_by_every_layer(world):
    copy = world["old"] / "carol" / PDF.name
    result = identified(world["registry"], copy)
    assert result["verdict"] == "attributed" and result["recipient"]["id"] == "carol"
    marks = result["evidence"]["file_marks"]
    assert marks and all(mark["recipient"] == "carol" for mark in marks)
    layers = {line["layer"]: line for line in result["evidence"]["layer_scores"]}
    assert layers["page layer"]["best"] == "carol" and layers["page layer"]["z"] > 6
    assert layers["word shifts"]["best"] == "carol"
    # a screenshot of the old copy's first page: the page layer, read with key 1
    page = simulate_pdf.render_page(copy.read_bytes(), 0, 110)
    shot = world["root"] / "page.png"
    cv2.imwrite(str(shot), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))
    result = identified(world["registry"], shot)
    assert result["verdict"] == "attributed" and result["recipient"]["id"] == "carol"
    assert result["evidence"]["copy_key_id"] == 1


def test_an_evidence_case_of_an_old_copy_verifies_without_the_key(world, tmp_path):
    leak = leak_of(world["old"] / "alice" / PHOTO.name, "social480", tmp_path / "leak")
    case = tmp_path / "case.zip"
    result = run(world["registry"], "evidence", "export", str(leak), "--out", str(case))
    assert result.exit_code == 0, result.output
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKTRACE_")}
    done = subprocess.run(
        [sys.executable, "-c", "from leaktrace.cli import main; main()"]
        + ["evidence", "verify", str(case), "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["confirmed"] and verdict["copy"]["recipient"] == "alice"
    with zipfile.ZipFile(case) as packed:
        assert json.loads(packed.read("case.json"))["copy"]["key_id"] == 1


def test_a_missing_old_key_is_one_line_and_records_nothing(world, tmp_path):
    registry = world["registry"]
    leak = leak_of(world["old"] / "bob" / PHOTO.name, "jpeg70", tmp_path / "leak")
    before = run(registry, "audit", "--show", "--json")
    assert before.exit_code == 0, before.output
    old_key = registry / "keys" / "1"
    saved = old_key.read_bytes()
    old_key.unlink()
    try:
        result = run(registry, "identify", str(leak))
        assert result.exit_code != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("leaktrace: error: "), result.stderr
        assert "key 1" in lines[0] and "Traceback" not in result.output
    finally:
        old_key.write_bytes(saved)
        old_key.chmod(0o600)
    after = run(registry, "audit", "--show", "--json")
    assert after.exit_code == 0 and after.stdout == before.stdout
