"""Bad input gets one clear line on stderr and a non-zero exit, never a traceback, and leaves the
registry and the output folder as they were."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from leaktrace.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTO = FIXTURES / "photos" / "astronaut.jpg"


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": None, **(env or {})})


def assert_one_line_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def registry(tmp_path) -> str:
    location = str(tmp_path / "registry")
    assert run("--registry", location, "init").exit_code == 0
    assert run("--registry", location, "recipients", "add", "Alice", "--id", "alice").exit_code == 0
    return location


def bomb_png(path: Path) -> None:
    """A valid, tiny PNG whose header declares 100,000 x 100,000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["empty.jpg"] = tmp_path / "empty.jpg"
    files["empty.jpg"].write_bytes(b"")
    files["text.jpg"] = tmp_path / "text.jpg"
    files["text.jpg"].write_text("definitely not an image\n")
    files["truncated.jpg"] = tmp_path / "truncated.jpg"
    files["truncated.jpg"].write_bytes(PHOTO.read_bytes()[:3000])
    png = tmp_path / "whole.png"
    Image.fromarray(np.full((300, 300, 3), 120, np.uint8)).save(png)
    files["truncated.png"] = tmp_path / "truncated.png"
    files["truncated.png"].write_bytes(png.read_bytes()[:-40])
    files["bomb.png"] = tmp_path / "bomb.png"
    bomb_png(files["bomb.png"])
    return files


@pytest.mark.parametrize(
    "name", ["empty.jpg", "text.jpg", "truncated.jpg", "truncated.png", "bomb.png"]
)
def test_identify_refuses_bad_files(registry, tmp_path, name):
    path = bad_files(tmp_path)[name]
    assert_one_line_error(run("--registry", registry, "identify", str(path)), 1, name)


@pytest.mark.parametrize(
    "name", ["empty.jpg", "text.jpg", "truncated.jpg", "truncated.png", "bomb.png"]
)
def test_mark_refuses_bad_files_and_records_nothing(registry, tmp_path, name):
    path = bad_files(tmp_path)[name]
    result = run(
        "--registry", registry, "mark", str(path), "--to", "alice", "--out", str(tmp_path / "out")
    )
    assert_one_line_error(result, 1, name)
    assert not (tmp_path / "out" / "alice" / name).exists()
    assets = json.loads(run("--registry", registry, "assets", "list", "--json").stdout)
    assert assets == []


def test_unknown_recipient(registry, tmp_path):
    result = run(
        "--registry", registry, "mark", str(PHOTO), "--to", "mallory", "--out", str(tmp_path / "o")
    )
    assert_one_line_error(result, 1, "mallory")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("slug", ["../evil", "a/b", "a\\b", "..", "UPPER CASE"])
def test_unsafe_recipient_ids_are_refused(registry, slug):
    assert_one_line_error(run("--registry", registry, "recipients", "add", "X", "--id", slug), 1)
    people = json.loads(run("--registry", registry, "recipients", "list", "--json").stdout)
    assert [p["id"] for p in people] == ["alice"]


def test_duplicate_recipient(registry):
    assert_one_line_error(
        run("--registry", registry, "recipients", "add", "Alice", "--id", "alice"), 1, "alice"
    )


def test_missing_registry(tmp_path):
    result = run("--registry", str(tmp_path / "nowhere"), "recipients", "list")
    assert_one_line_error(result, 1, "leaktrace init")


def test_registry_from_environment(registry):
    result = CliRunner().invoke(
        app, ["recipients", "list", "--json"], env={"LEAKTRACE_REGISTRY": registry}
    )
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["id"] == "alice"


def test_wrong_key_is_refused_without_echoing_it(registry):
    wrong = "ab" * 32
    result = run("--registry", registry, "recipients", "list", env={"LEAKTRACE_KEY": wrong})
    assert_one_line_error(result, 1, "key")
    assert wrong not in result.output


def test_malformed_key_is_refused_without_echoing_it(registry):
    secret = "not-hex-but-secret-" * 3
    result = run("--registry", registry, "recipients", "list", env={"LEAKTRACE_KEY": secret})
    assert_one_line_error(result, 1, "LEAKTRACE_KEY")
    assert secret not in result.output


def test_missing_key_file(registry):
    (Path(registry) / "key").unlink()
    assert_one_line_error(run("--registry", registry, "recipients", "list"), 1, "key")


def test_init_twice_keeps_the_first_registry(registry):
    key_before = (Path(registry) / "key").read_bytes()
    assert_one_line_error(run("--registry", registry, "init"), 1)
    assert (Path(registry) / "key").read_bytes() == key_before


def test_usage_errors_exit_2(registry, tmp_path):
    assert run("--registry", registry, "mark", str(PHOTO), "--out", str(tmp_path)).exit_code == 2
    assert (
        run(
            "--registry",
            registry,
            "mark",
            str(PHOTO),
            "--to",
            "alice",
            "--all",
            "--out",
            str(tmp_path),
        ).exit_code
        == 2
    )
    assert run("--registry", registry, "identify").exit_code == 2
    assert (
        run("--registry", registry, "identify", str(PHOTO), "--max-false-accusation", "2").exit_code
        == 2
    )


def test_output_into_a_file_instead_of_a_folder(registry, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    result = run("--registry", registry, "mark", str(PHOTO), "--to", "alice", "--out", str(blocker))
    assert_one_line_error(result, 1)
    assert blocker.read_text().startswith("a file")
    assert json.loads(run("--registry", registry, "assets", "list", "--json").stdout) == []


def test_partial_batch_exits_3_and_keeps_the_good_copies(registry, tmp_path):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (kit / "good.jpg").write_bytes(PHOTO.read_bytes())
    result = run(
        "--registry",
        registry,
        "mark",
        str(kit),
        "--to",
        "alice",
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert result.exit_code == 3
    manifest = json.loads(result.stdout)
    assert [Path(c["output"]).name for c in manifest["copies"]] == ["good.jpg"]
    assert [Path(f["file"]).name for f in manifest["failures"]] == ["broken.png"]


def test_version_and_help():
    from leaktrace import __version__

    assert run("--version").stdout.strip() == f"leaktrace {__version__}"
    for command in (["mark"], ["identify"], ["init"], ["recipients", "add"], ["simulate"]):
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout
