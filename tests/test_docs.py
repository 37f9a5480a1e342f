"""The CLI reference stays in sync with the commands, and every command is documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from leaktrace.cli import app
from leaktrace.cli.docs import command_paths, help_text, is_group, main, render

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"


def test_cli_reference_is_up_to_date():
    current = CLI_MD.read_text(encoding="utf-8") if CLI_MD.is_file() else ""
    assert current == render(), "docs/cli.md is out of date: run scripts/gen-cli-docs"


def test_every_command_has_an_example():
    """The program and every command that does something; groups list their commands instead."""
    missing = [
        " ".join(("leaktrace", *path))
        for path in command_paths()
        if (path == () or not is_group(path))
        and not re.search(r"^\s*Example: leaktrace\b", help_text(path), re.MULTILINE)
    ]
    assert missing == [], (
        f"these commands' --help has no line starting 'Example: leaktrace': {missing}"
    )


def test_every_top_level_command_is_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    missing = [
        name
        for (name,) in (path for path in command_paths() if len(path) == 1)
        # "leaktrace NAME" or "leaktrace [--registry DIR] NAME"
        if not re.search(rf"leaktrace (\[[^\]]*\] )?{re.escape(name)}\b", readme)
    ]
    assert missing == [], f"README.md does not mention these commands: {missing}"


def test_reference_lists_every_command_and_option():
    text = render()
    paths = command_paths()
    assert {(), ("audit",), ("copies",), ("copies", "list"), ("recipients", "add")} <= set(paths)
    for path in paths:
        assert f"\n## `{' '.join(('leaktrace', *path))}`\n" in text
    assert "--recipient SLUG" in text and "--asset ID" in text


def test_a_new_command_appears_without_touching_the_generator():
    def probe() -> None:
        """A command added only for this test.

        Example: leaktrace zz-docs-probe
        """

    app.command("zz-docs-probe")(probe)
    try:
        assert ("zz-docs-probe",) in command_paths()
        assert "Example: leaktrace zz-docs-probe" in help_text(("zz-docs-probe",))
        assert "## `leaktrace zz-docs-probe`" in render()
    finally:
        app.registered_commands[:] = [
            info for info in app.registered_commands if info.callback is not probe
        ]
    assert ("zz-docs-probe",) not in command_paths()


@pytest.mark.parametrize("columns", ["40", "250"])
def test_help_does_not_depend_on_the_terminal(monkeypatch, columns):
    expected = help_text(("audit",))
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert help_text(("audit",)) == expected
    assert "\x1b[" not in expected


def test_generator_writes_and_checks(tmp_path, capsys):
    target = tmp_path / "cli.md"
    assert main(["--output", str(target), "--check"]) == 1
    assert "run scripts/gen-cli-docs" in capsys.readouterr().err
    assert main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()
    assert main(["--output", str(target), "--check"]) == 0
    target.write_text(render().replace("Usage:", "Usage :", 1), encoding="utf-8")
    assert main(["--output", str(target), "--check"]) == 1


def test_script_runs_the_generator(tmp_path):
    target = tmp_path / "cli.md"
    result = subprocess.run(
        [str(ROOT / "scripts" / "gen-cli-docs"), "--output", str(target)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == render()
