"""Evidence cases of a picture of a PDF page: a screenshot of a marked page, exported with the
registry's key, is confirmed by a fresh process with no registry and no key on the page layer
alone; a leaked PDF file (decided on several layers and file tokens) is refused in one line."""

from __future__ import annotations

import hashlib
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
from leaktrace.simulate import pdf as simulate_pdf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY = "5d" * 32
PDF = FIXTURES / "pdfs" / "reportlab_price_sheet.pdf"


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": KEY})


def verify_alone(case: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKTRACE_")}
    return subprocess.run(
        [sys.executable, "-c", "from leaktrace.cli import main; main()"]
        + ["evidence", "verify", str(case), "--json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def exported(world, folder: Path) -> Path:
    """The evidence case of the page screenshot, exported with the registry's key."""
    case = folder / "case.zip"
    result = run(
        "--registry", world["registry"], "evidence", "export", str(world["shot"]), "--out",
        str(case),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return case


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence-pdf")
    registry = str(root / "registry")
    assert run("--registry", registry, "init").exit_code == 0
    for rid in ("alice", "bob", "carol"):
        assert run("--registry", registry, "recipients", "add", rid, "--id", rid).exit_code == 0
    result = run("--registry", registry, "mark", str(PDF), "--all", "--out", str(root / "dist"))
    assert result.exit_code == 0, result.output
    copy = root / "dist" / "bob" / PDF.name
    page = simulate_pdf.render_page(copy.read_bytes(), 0, 110)
    shot = root / "screenshot.png"
    cv2.imwrite(str(shot), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))
    result = run("--registry", registry, "identify", str(shot), "--json")
    assert result.exit_code == 0, result.output
    identified = json.loads(result.stdout)
    assert identified["verdict"] == "attributed" and identified["recipient"]["id"] == "bob"
    return {"root": root, "registry": registry, "shot": shot, "copy": copy}


def test_a_page_screenshot_case_is_confirmed_without_the_key(world, tmp_path):
    case = exported(world, tmp_path)
    with zipfile.ZipFile(case) as packed:
        data = json.loads(packed.read("case.json"))
    assert data["result"]["statistic"] == "page layer"
    assert data["original"]["kind"] == "pdf-page"
    document = data["original"]["document"]
    assert document["sha256"] == hashlib.sha256(PDF.read_bytes()).hexdigest()
    assert document["page"] == 1
    done = verify_alone(case, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["confirmed"] and verdict["copy"]["recipient"] == "bob"
    assert verdict["p_value"] <= 1e-9
    assert abs(verdict["score"] - verdict["recorded_score"]) <= verdict["tolerance"]


def test_an_edited_page_case_fails(world, tmp_path):
    case = exported(world, tmp_path)
    with zipfile.ZipFile(case) as packed:
        members = {name: packed.read(name) for name in packed.namelist()}
    data = json.loads(members["case.json"])
    data["result"]["score"] = float(data["result"]["score"]) * 2
    members["case.json"] = json.dumps(data).encode()
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(edited, "w") as packed:
        for name, content in members.items():
            packed.writestr(name, content)
    done = verify_alone(edited, tmp_path)
    assert done.returncode == 8, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert not verdict["confirmed"]
    assert [c["check"] for c in verdict["checks"] if not c["ok"]][0] == "score"


def test_a_leaked_pdf_file_is_refused_in_one_line(world, tmp_path):
    result = run("--registry", world["registry"], "identify", str(world["copy"]), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["recipient"]["id"] == "bob"
    case = tmp_path / "case.zip"
    result = run(
        "--registry", world["registry"], "evidence", "export", str(world["copy"]), "--out",
        str(case),
    )  # fmt: skip
    assert result.exit_code != 0 and not case.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error: "), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("dpi", [95, 120])
def test_the_page_layer_reads_at_viewer_zooms(world, tmp_path, dpi):
    """On a white page the tone curve is fitted mostly on paper; its slope must keep the mark's
    sign (at these zooms it once came out negative: the true recipient scored z = -25)."""
    page = simulate_pdf.render_page(world["copy"].read_bytes(), 0, dpi)
    shot = tmp_path / "shot.png"
    cv2.imwrite(str(shot), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))
    result = run("--registry", world["registry"], "identify", str(shot), "--json")
    assert result.exit_code == 0, result.output
    layers = {line["layer"]: line for line in json.loads(result.stdout)["evidence"]["layer_scores"]}
    assert layers["page layer"]["best"] == "bob" and layers["page layer"]["z"] > 6
