"""A recipients CSV is taken whole or not at all: a ragged row, a missing header, an unknown
column or a byte-order mark in the wrong place refuses the file with one line naming the row,
and nothing is recorded (``recipients import`` and ``mark --recipients``)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from leaktrace.cli import app

KEY = "c3" * 32


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": KEY})


@pytest.fixture
def registry(tmp_path) -> str:
    location = str(tmp_path / "registry")
    assert run("--registry", location, "init").exit_code == 0
    return location


def recipients(location: str) -> list[str]:
    listed = run("--registry", location, "recipients", "list", "--json")
    assert listed.exit_code == 0, listed.output
    return [r["id"] for r in json.loads(listed.stdout)]


BAD = {
    "too few fields": (b"id,name,email,org\nok,Fine,a@b,Org\nrag-1,Rag One\n", ":3:", "2 fields"),
    "too many fields": (
        b"id,name,email,org\nrag-2,Rag Two,x@y,Org,EXTRA\n",
        ":2:",
        "5 fields where the header has 4",
    ),
    "no header": (b"rag-1,Rag One,a@b,Org\n", ":1:", "the first row must be the header"),
    "unknown column": (b"id,name,phone\nr,R,123\n", ":1:", "unknown column 'phone'"),
    "column twice": (b"id,name,name\nr,R,S\n", ":1:", "appears twice"),
    "name missing from header": (b"id,email\nr,a@b\n", ":1:", "missing name"),
    "BOM inside": (b"id,name\na,A\n\xef\xbb\xbfb,B\n", ":3:", "byte-order mark"),
    "not UTF-8": (b"id,name\na,M\xfcller\n", "", "not a UTF-8 text file"),
    "empty name": (b"id,name\na,\n", ":2:", "name column is empty"),
    "empty file": (b"\n\n", "", "the CSV file is empty"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_csv_is_refused_whole_with_one_line(registry, tmp_path, case):
    data, where, needle = BAD[case]
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    result = run("--registry", registry, "recipients", "import", str(path))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error: "), result.stderr
    assert f"people.csv{where}" in lines[0] and needle in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert recipients(registry) == []


def test_mark_with_a_ragged_recipients_file_marks_nothing(registry, tmp_path):
    from PIL import Image

    image = tmp_path / "kit" / "photo.png"
    image.parent.mkdir()
    Image.new("RGB", (64, 64), (120, 130, 140)).save(image)
    path = tmp_path / "suppliers.csv"
    path.write_bytes(b"id,name,email,org\nacme,ACME,a@acme,ACME\nrag,Rag,x@y,Org,EXTRA\n")
    out = tmp_path / "dist"
    result = run(
        "--registry",
        registry,
        "mark",
        str(image.parent),
        "--recipients",
        str(path),
        "--out",
        str(out),
    )
    assert result.exit_code == 1, result.output
    assert "suppliers.csv:3:" in result.stderr
    assert recipients(registry) == []
    assert not out.exists() or not any(out.rglob("*.png"))


def test_a_good_csv_keeps_quoted_commas_a_leading_bom_and_any_column_order(registry, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(
        b'\xef\xbb\xbfname,org,id,email\r\n"Auto, Motor & Sport",Motor Press,,ams@example.com\r\n'
        b"\r\nBeta,,beta,\r\n"
    )
    assert run("--registry", registry, "recipients", "import", str(path)).exit_code == 0
    listed = json.loads(run("--registry", registry, "recipients", "list", "--json").stdout)
    by_id = {r["id"]: r for r in listed}
    assert set(by_id) == {"auto-motor-sport", "beta"}
    assert by_id["auto-motor-sport"]["name"] == "Auto, Motor & Sport"
    assert by_id["auto-motor-sport"]["org"] == "Motor Press"
    assert by_id["beta"]["email"] is None
