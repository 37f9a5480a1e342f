"""``leaktrace key ...``, ``leaktrace case ...`` and ``audit --export/--against`` through the CLI.

Bad input must give one line on stderr and a non-zero exit, and lose or overwrite nothing; no
output and no file but the key files may ever contain a key.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaktrace.cli import app

PASS = "correct horse battery staple"
EXIT_AUDIT_BROKEN = 5
OUTPUTS: list[str] = []  # every output of this module, checked for keys at the end


def run(location: str, *args: str, env: dict | None = None, input: str | None = None):
    base = {
        "LEAKTRACE_KEY": None,
        "LEAKTRACE_KEYRING": None,
        "LEAKTRACE_PASSPHRASE": None,
        "LEAKTRACE_REGISTRY": None,
        "LEAKTRACE_WORKERS": "1",
    }
    result = CliRunner().invoke(
        app, ["--registry", location, *args], env={**base, **(env or {})}, input=input
    )
    OUTPUTS.append(result.stdout + result.stderr)
    return result


def one_line_error(result, *needles: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def folder(tmp_path) -> Path:
    location = tmp_path / "registry"
    assert run(str(location), "init").exit_code == 0
    assert run(str(location), "recipients", "add", "Alice", "--id", "alice").exit_code == 0
    return location


def key_of(folder: Path) -> str:
    return (folder / "key").read_text().strip()


# -- backup and restore ---------------------------------------------------------------------------


def test_backup_and_restore_a_lost_key(folder, tmp_path):
    backup = tmp_path / "keys.backup"
    key = key_of(folder)
    result = run(
        str(folder), "key", "backup", "--out", str(backup), env={"LEAKTRACE_PASSPHRASE": PASS}
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    document = json.loads(backup.read_text())
    assert document["format"] == "leaktrace-key-backup" and key not in backup.read_text()
    (folder / "key").unlink()
    one_line_error(run(str(folder), "recipients", "list"), "no key file")
    result = run(str(folder), "key", "restore", str(backup), env={"LEAKTRACE_PASSPHRASE": PASS})
    assert result.exit_code == 0, result.output
    assert key_of(folder) == key and stat.S_IMODE((folder / "key").stat().st_mode) == 0o600
    assert run(str(folder), "recipients", "list").exit_code == 0
    again = run(str(folder), "key", "restore", str(backup), env={"LEAKTRACE_PASSPHRASE": PASS})
    assert again.exit_code == 0 and "nothing written" in again.stdout


def test_the_passphrase_from_a_prompt_or_a_file(folder, tmp_path):
    prompted = tmp_path / "prompted.backup"
    result = run(str(folder), "key", "backup", "--out", str(prompted), input=f"{PASS}\n{PASS}\n")
    assert result.exit_code == 0, result.output
    assert PASS not in result.output  # hidden input is not echoed
    secret = tmp_path / "passphrase"
    secret.write_text(PASS + "\n")
    filed = tmp_path / "filed.backup"
    result = run(
        str(folder), "key", "backup", "--out", str(filed), "--passphrase-file", str(secret)
    )
    assert result.exit_code == 0, result.output
    (folder / "key").unlink()
    result = run(str(folder), "key", "restore", str(prompted), "--passphrase-file", str(secret))
    assert result.exit_code == 0, result.output
    # no passphrase anywhere and no terminal (CI): one clear line, nothing written
    empty = tmp_path / "none.backup"
    one_line_error(run(str(folder), "key", "backup", "--out", str(empty)), "no passphrase")
    assert not empty.exists()
    one_line_error(
        run(
            str(folder), "key", "backup", "--out", str(empty), env={"LEAKTRACE_PASSPHRASE": "short"}
        ),
        "too short",
    )
    assert not empty.exists()


def test_bad_backups_are_refused_and_nothing_is_lost(folder, tmp_path):
    backup = tmp_path / "keys.backup"
    env = {"LEAKTRACE_PASSPHRASE": PASS}
    assert run(str(folder), "key", "backup", "--out", str(backup), env=env).exit_code == 0
    one_line_error(
        run(str(folder), "key", "backup", "--out", str(backup), env=env), "already exists"
    )
    text = backup.read_text()
    document = json.loads(text)
    key = key_of(folder)
    (folder / "key").unlink()

    def restore(content: str, **extra):
        path = tmp_path / "bad.backup"
        path.write_text(content)
        return run(str(folder), "key", "restore", str(path), env={**env, **extra})

    cipher = document["ciphertext"]
    flipped = cipher[:10] + ("A" if cipher[10] != "A" else "B") + cipher[11:]
    edited_keys = {**document, "keys": [{"id": 1, "fingerprint": "0" * 16}]}
    for content, needle in (
        (text[: len(text) // 2], "corrupt or truncated"),
        ("", "corrupt or truncated"),
        ("not json at all", "not a leaktrace key backup"),
        (json.dumps({**document, "version": 7}), "upgrade leaktrace"),
        (json.dumps({**document, "kdf": {**document["kdf"], "n": 2**30}}), "damaged"),
        (
            json.dumps({**document, "ciphertext": flipped}),
            "wrong passphrase, or the file was altered",
        ),
        (json.dumps(edited_keys), "wrong passphrase, or the file was altered"),
        (json.dumps({**document, "registry": "0123456789abcdef"}), "another registry"),
    ):
        one_line_error(restore(content), needle)
        assert not (folder / "key").exists()
    one_line_error(restore(text, LEAKTRACE_PASSPHRASE="wrong passphrase here"), "wrong passphrase")
    assert not (folder / "key").exists()
    one_line_error(run(str(folder), "key", "restore", str(tmp_path / "missing")), "cannot read")
    # a different key where the backup's would go is never overwritten
    other = "ab" * 32
    (folder / "key").write_text(other + "\n")
    one_line_error(restore(text), "holds a different key")
    assert (folder / "key").read_text().strip() == other
    (folder / "key").write_text(key + "\n")
    # a backup of another registry
    elsewhere = tmp_path / "elsewhere"
    assert run(str(elsewhere), "init").exit_code == 0
    one_line_error(run(str(elsewhere), "key", "restore", str(backup), env=env), "another registry")
    assert key_of(folder) == key


# -- check and rotate -----------------------------------------------------------------------------


def test_key_check(folder):
    result = run(str(folder), "key", "check", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and [k["id"] for k in report["keys"]] == [1]
    assert report["keys"][0]["found_in"] == [str(folder / "key")]
    one_line_error(
        run(str(folder), "key", "check", env={"LEAKTRACE_KEY": "cd" * 32}), "does not belong"
    )
    one_line_error(run(str(folder), "key", "check", env={"LEAKTRACE_KEY": "nothex"}), "malformed")


def test_rotate_a_folder_registry(folder, tmp_path):
    old = key_of(folder)
    head = tmp_path / "head.json"
    assert run(str(folder), "audit", "--export", str(head)).exit_code == 0
    result = run(str(folder), "key", "rotate")
    assert result.exit_code == 0, result.output
    assert "Key 2" in result.stdout and key_of(folder) != old
    assert (folder / "keys" / "1").read_text().strip() == old
    check = json.loads(run(str(folder), "key", "check", "--json").stdout)
    assert [(k["id"], k["current"], k["available"]) for k in check["keys"]] == [
        (1, False, True),
        (2, True, True),
    ]
    result = run(str(folder), "audit", "--against", str(head))
    assert result.exit_code == 0, result.output
    assert "still extends the head" in result.stdout
    (folder / "keys" / "1").unlink()
    one_line_error(run(str(folder), "audit"), "key 1", "not available")
    one_line_error(run(str(folder), "audit", "--against", str(head)), "key 1")


@pytest.mark.postgres
def test_rotate_and_restore_a_postgresql_registry(pg_database, tmp_path):
    key = os.urandom(32).hex()
    env = {"LEAKTRACE_KEY": key}
    assert run(pg_database, "init", "--originals", str(tmp_path / "o"), env=env).exit_code == 0
    one_line_error(run(pg_database, "key", "rotate", env=env), "keyring")
    ring = tmp_path / "keyring"
    result = run(pg_database, "key", "rotate", "--keyring", str(ring), env=env)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    one_line_error(run(pg_database, "recipients", "list", env=env), "current key is key 2")
    with_ring = {"LEAKTRACE_KEYRING": str(ring)}
    assert run(pg_database, "recipients", "list", env=with_ring).exit_code == 0
    assert run(pg_database, "audit", env={**env, **with_ring}).exit_code == 0
    backup = tmp_path / "keys.backup"
    result = run(
        pg_database,
        "key",
        "backup",
        "--out",
        str(backup),
        env={**with_ring, "LEAKTRACE_PASSPHRASE": PASS},
    )
    assert result.exit_code == 0, result.output
    one_line_error(
        run(pg_database, "key", "restore", str(backup), env={"LEAKTRACE_PASSPHRASE": PASS}),
        "--out FILE",
    )
    restored = tmp_path / "restored-keyring"
    result = run(
        pg_database,
        "key",
        "restore",
        str(backup),
        "--out",
        str(restored),
        env={"LEAKTRACE_PASSPHRASE": PASS},
    )
    assert result.exit_code == 0, result.output
    assert run(pg_database, "audit", env={"LEAKTRACE_KEYRING": str(restored)}).exit_code == 0
    one_line_error(
        run(
            pg_database,
            "key",
            "restore",
            str(backup),
            "--out",
            str(restored),
            env={"LEAKTRACE_PASSPHRASE": PASS},
        ),
        "already exists",
    )
    assert all(key not in text and key.upper() not in text for text in OUTPUTS)


# -- signed heads ---------------------------------------------------------------------------------


def test_audit_export_and_against(folder, tmp_path):
    head = tmp_path / "head.json"
    result = run(str(folder), "audit", "--export", str(head), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    exported = json.loads(head.read_text())
    assert payload["exported"]["head_hash"] == exported["head_hash"] and exported["seq"] == 2
    assert len(head.read_bytes()) < 1024
    human = run(str(folder), "audit", "--export", str(tmp_path / "head2.json"))
    assert exported["head_hash"] in human.stdout  # readable out loud, too
    one_line_error(run(str(folder), "audit", "--export", str(head)), "refusing to overwrite")
    assert json.loads(head.read_text()) == exported
    assert run(str(folder), "recipients", "add", "Bob", "--id", "bob").exit_code == 0
    result = run(str(folder), "audit", "--against", str(head), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["against"]["ok"]

    import sqlite3

    with sqlite3.connect(folder / "registry.sqlite") as db:
        saved = db.execute("SELECT * FROM audit WHERE seq >= 2").fetchall()
        db.execute("DELETE FROM audit WHERE seq >= 2")
        db.execute("DELETE FROM recipients")
    result = run(str(folder), "audit", "--against", str(head))
    assert result.exit_code == EXIT_AUDIT_BROKEN and "row 2 is gone" in result.stdout
    no_head = tmp_path / "never.json"
    result = run(str(folder), "audit", "--against", str(head), "--export", str(no_head))
    assert result.exit_code == EXIT_AUDIT_BROKEN and not no_head.exists()
    with sqlite3.connect(folder / "registry.sqlite") as db:
        db.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)", saved)
        db.execute(
            "INSERT INTO recipients VALUES ('alice', 'Alice', NULL, NULL, '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO recipients VALUES ('bob', 'Bob', NULL, NULL, '2026-01-01 00:00:00')"
        )
    assert run(str(folder), "audit", "--against", str(head)).exit_code == 0

    for content, needle in (
        ("{", "not JSON"),
        ("", "not JSON"),
        (json.dumps({**exported, "seq": 1}), "altered or forged"),
        (json.dumps({**exported, "registry": "0" * 16}), "another registry"),
        (json.dumps({k: v for k, v in exported.items() if k != "mac"}), "damaged"),
    ):
        bad = tmp_path / "bad-head.json"
        bad.write_text(content)
        one_line_error(run(str(folder), "audit", "--against", str(bad)), needle)
    one_line_error(
        run(str(folder), "audit", "--against", str(tmp_path / "nope.json")), "cannot read"
    )
    other = tmp_path / "other"
    assert run(str(other), "init").exit_code == 0
    one_line_error(run(str(other), "audit", "--against", str(head)), "another registry")


# -- case files -----------------------------------------------------------------------------------


def test_case_files_verify_and_merge(folder, tmp_path):
    from leaktrace.registry import open_registry
    from leaktrace.registry.caselog import log_event

    case = tmp_path / "case.jsonl"
    with open_registry(str(folder), read_only=True) as ro:
        for verdict in ("attributed", "inconclusive"):
            log_event(ro, "identify", {"verdict": verdict}, case_file=case)
    assert stat.S_IMODE(case.stat().st_mode) == 0o600
    result = run(str(folder), "case", "verify", str(case), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["entries"] == 3
    lines = case.read_text().splitlines()
    for broken, line in (
        ([lines[0], lines[1].replace("attributed", "unknown"), lines[2]], 2),
        ([lines[0], lines[2]], 2),
        ([lines[0], lines[1], lines[2][:-10]], 3),
    ):
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(broken) + "\n")
        result = run(str(folder), "case", "verify", str(bad), "--json")
        assert result.exit_code == EXIT_AUDIT_BROKEN, result.output
        assert json.loads(result.stdout)["first_broken_line"] == line
        one_line_error(run(str(folder), "case", "merge", str(bad)), "nothing merged")
    result = run(str(folder), "case", "merge", str(case))
    assert result.exit_code == 0 and "Merged 2 entries" in result.stdout
    assert "nothing to do" in run(str(folder), "case", "merge", str(case)).stdout
    entries = json.loads(run(str(folder), "audit", "--show", "--json").stdout)["entries"]
    assert [e["action"] for e in entries[-3:]] == ["identify", "identify", "case file merged"]
    other = tmp_path / "other"
    assert run(str(other), "init").exit_code == 0
    one_line_error(run(str(other), "case", "verify", str(case)), "another registry")


# -- identify after a rotation (the pipeline's part) ---------------------------------------------


def test_identify_attributes_a_copy_made_before_a_rotation(folder, tmp_path):
    photo = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "rocket.jpg"
    assert (
        run(str(folder), "mark", str(photo), "--all", "--out", str(tmp_path / "dist")).exit_code
        == 0
    )
    assert run(str(folder), "key", "rotate").exit_code == 0
    result = run(str(folder), "identify", str(tmp_path / "dist" / "alice" / photo.name), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["recipient"]["id"] == "alice"


# -- no key in any output -------------------------------------------------------------------------


def test_no_output_or_evidence_file_contains_a_key(folder, tmp_path):
    """Every command of this module on one registry, rotated; then every output, and every file
    that is not a key file, is searched for every key in hex (either case)."""
    env = {"LEAKTRACE_PASSPHRASE": PASS}
    start = len(OUTPUTS)
    for args in (
        ["key", "check"],
        ["key", "check", "--json"],
        ["audit", "--export", str(tmp_path / "h1.json")],
        ["key", "rotate"],
        ["key", "rotate", "--json"],
        ["key", "backup", "--out", str(tmp_path / "k.backup")],
        ["audit", "--show", "--json", "--against", str(tmp_path / "h1.json")],
        ["audit", "--show", "--export", str(tmp_path / "h2.json")],
        ["key", "check", "--json"],
        ["key", "restore", str(tmp_path / "k.backup")],
        ["key", "restore", str(tmp_path / "k.backup"), "--out", str(tmp_path / "ring")],
        ["copies", "list", "--json"],
    ):
        result = run(str(folder), *args, env=env)
        assert result.exit_code == 0, (args, result.output)
    from leaktrace.registry import open_registry
    from leaktrace.registry.caselog import log_event

    with open_registry(str(folder), read_only=True) as ro:
        log_event(ro, "identify", {"verdict": "unknown"}, case_file=tmp_path / "case.jsonl")
    assert run(str(folder), "case", "verify", str(tmp_path / "case.jsonl")).exit_code == 0
    keys = [(folder / "keys" / name).read_text().strip() for name in ("1", "2", "3")]
    evidence = [tmp_path / n for n in ("h1.json", "h2.json", "k.backup", "case.jsonl")]
    texts = OUTPUTS[start:] + [p.read_text() for p in evidence]
    for key in keys:
        for text in texts:
            assert key not in text and key.upper() not in text
    assert all(key in (tmp_path / "ring").read_text() for key in keys)  # the one file that should
