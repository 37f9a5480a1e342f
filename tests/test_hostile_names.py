"""Names, organisations, e-mail addresses and file names are data: every command that prints
them for people shows them literally, on one line, without letting markup, terminal escapes,
line breaks or right-to-left overrides through, and never crashes on them."""

from __future__ import annotations

import pytest
from PIL import Image
from typer.testing import CliRunner

from leaktrace.cli import app

KEY = "5e" * 32
LONG = "L" * 10_000
HOSTILE = {
    "link": (
        "Beta [link=https://evil.example]Corp[/link]",
        "[link=https://evil.example]Corp[/link]",
    ),
    "closing-tag": ("Close [/bold] tag", "Close [/bold] tag"),
    "ansi": ("\x1b[31mRed\x1b[0m Media \x1b]8;;https://evil.example\x07x", "\\x1b[31mRed"),
    "newline": ("Evil\nleaktrace: error: forged line", "Evil⏎leaktrace: error: forged line"),
    "rtl": ("Cars \u202egnp.exe", "Cars <U+202E>gnp.exe"),
    "emoji-code": ("Heart :red_heart: Press", "Heart :red_heart: Press"),
    "long": (LONG, "more characters"),
}
FORBIDDEN = ("\x1b", "\u202e", "\x07", "❤", "Traceback")


def run(*args: str):
    # Wide enough that no cell wraps: each value shows on one line, where it can be checked.
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": KEY, "COLUMNS": "4000"})


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    location = str(root / "registry")
    assert run("--registry", location, "init").exit_code == 0
    for slug, (name, _) in HOSTILE.items():
        added = run(
            "--registry", location, "recipients", "add", name, "--id", slug,
            "--org", name, "--email", name,
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    kit = root / "kit [bold]"
    kit.mkdir()
    rng_pixels = Image.effect_noise((96, 80), 40).convert("RGB")
    names = ["photo [red]x [link=https:evil].png", "\x1b[31mescape.png", "rtl \u202egnp.png"]
    for name in names:
        rng_pixels.save(kit / name)
    marked = run("--registry", location, "mark", str(kit), "--all", "--out", str(root / "dist"))
    assert marked.exit_code == 0, marked.output
    return {"registry": location, "root": root, "kit": kit, "marked": marked, "files": names}


def commands(world) -> dict[str, tuple[list[str], int]]:
    root = world["root"]
    leak = root / "dist" / "link" / world["files"][0]
    return {
        "recipients list": (["recipients", "list"], 0),
        "assets list": (["assets", "list"], 0),
        "copies list": (["copies", "list"], 0),
        "audit --show": (["audit", "--show"], 0),
        "identify": (["identify", str(leak)], 0),
        "scan": (["scan", str(root / "dist"), "--workers", "1"], 0),
    }


def assert_shown_safely(output: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in output, repr(bad)
    assert LONG not in output  # cut to a readable length; --json has it whole


@pytest.mark.parametrize(
    "command", ["recipients list", "assets list", "copies list", "audit --show", "identify", "scan"]
)
def test_every_table_shows_hostile_text_literally(world, command):
    args, code = commands(world)[command]
    result = run("--registry", world["registry"], *args)
    assert result.exit_code == code, result.output
    assert_shown_safely(result.output)
    if command in ("recipients list", "copies list"):
        for slug, (_, visible) in HOSTILE.items():
            assert visible in result.output, (slug, visible)


def test_recipients_list_shows_markup_names_literally_on_one_line(world):
    result = run("--registry", world["registry"], "recipients", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    # The forged "error" line never starts a line of its own.
    assert not any(line.lstrip("│ ").startswith("leaktrace: error") for line in lines)
    assert "Evil⏎leaktrace" in result.output.replace("│", "").replace("\n", "").replace(
        " ", ""
    ) or ("Evil⏎" in result.output)


def test_mark_and_add_outputs_are_safe(world):
    assert_shown_safely(world["marked"].output)
    assert "[red]x [link=https:evil]" in world["marked"].output.replace("\n", "")
    added = run(
        "--registry",
        world["registry"],
        "recipients",
        "add",
        "Another \x1b[2J\nname",
        "--id",
        "another",
    )
    assert added.exit_code == 0
    assert added.output.count("\n") == 1 and "\x1b" not in added.output
    assert "\\x1b[2J⏎name" in added.output


def test_errors_about_hostile_values_stay_one_line(world):
    result = run(
        "--registry", world["registry"], "identify", str(world["root"] / "missing\n[x].jpg")
    )
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "missing⏎[x].jpg" in result.stderr


def test_json_keeps_every_value_whole(world):
    import json

    result = run("--registry", world["registry"], "recipients", "list", "--json")
    by_id = {r["id"]: r for r in json.loads(result.stdout)}
    assert by_id["long"]["name"] == LONG
    assert by_id["ansi"]["org"] == HOSTILE["ansi"][0]
