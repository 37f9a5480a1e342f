"""An edited registry must never turn into an accusation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from leaktrace.cli import app
from leaktrace.media.image.files import load_display_rgb
from leaktrace.simulate import run_attack

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "astronaut.jpg"


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": None})


def test_a_cached_code_copied_onto_an_innocent_is_refused(tmp_path):
    registry = str(tmp_path / "registry")
    assert run("--registry", registry, "init").exit_code == 0
    for rid in ("alice", "bob"):
        assert (
            run("--registry", registry, "recipients", "add", rid.title(), "--id", rid).exit_code
            == 0
        )
    assert (
        run(
            "--registry", registry, "mark", str(PHOTO), "--all", "--out", str(tmp_path / "out")
        ).exit_code
        == 0
    )
    data, extension = run_attack(
        "social480", load_display_rgb(tmp_path / "out" / "bob" / PHOTO.name)
    )
    leak = tmp_path / f"leak{extension}"
    leak.write_bytes(data)
    assert run("--registry", registry, "identify", str(leak)).exit_code == 0  # bob, before the edit

    # An insider copies the guilty recipient's cached code onto alice's copy.
    with sqlite3.connect(Path(registry) / "registry.sqlite") as db:
        (code,) = db.execute("SELECT code FROM copies WHERE recipient_id = 'bob'").fetchone()
        assert code is not None
        db.execute("UPDATE copies SET code = ? WHERE recipient_id = 'alice'", (code,))
    result = run("--registry", registry, "identify", str(leak), "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert (
        "alice" in result.stderr and "altered" in result.stderr and "no accusation" in result.stderr
    )
