"""The distribution record and the audit trail, through the real command line, on both back ends.

A registry is filled through the CLI (recipients, ``mark``, ``identify``); ``leaktrace audit`` must
find every change in the hash-chained log and pass. Then rows are edited directly in the database,
as an insider with database access would, and ``leaktrace audit`` must exit 5 and name the first
broken row. Every edit is undone afterwards, so the tests share one registry per back end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from leaktrace.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTOS = [FIXTURES / "photos" / "astronaut.jpg", FIXTURES / "photos" / "rocket.jpg"]
RECIPIENTS = {"alice": "Alice Archer", "bob": "Bob Baker"}
AUDITED = {"registry created", "recipient added", "asset added", "copy recorded", "identify"}
EXIT_AUDIT_BROKEN = 5
ANSI = re.compile(r"\x1b\[")


@dataclass
class World:
    """A registry with two recipients, two photos marked for both, and one identification."""

    backend: str
    location: str
    key_hex: str | None  # given through $LEAKTRACE_KEY (PostgreSQL); SQLite reads its key file
    dist: Path

    def run(self, *args: str):
        # One process: worker start-up would cost more than marking two small photos.
        env = {"LEAKTRACE_KEY": self.key_hex, "LEAKTRACE_REGISTRY": None, "LEAKTRACE_WORKERS": "1"}
        return CliRunner().invoke(app, ["--registry", self.location, *args], env=env)

    def audit(self) -> tuple[int, dict]:
        result = self.run("audit", "--json")
        assert result.exit_code in (0, EXIT_AUDIT_BROKEN), result.output
        return result.exit_code, json.loads(result.stdout)

    def entries(self) -> list[dict]:
        result = self.run("audit", "--show", "--json")
        assert result.exit_code in (0, EXIT_AUDIT_BROKEN), result.output
        return json.loads(result.stdout)["entries"]

    def chain_ok(self) -> bool:
        """The hash chain alone, as the registry checks it."""
        from leaktrace.api import open_registry

        key = bytes.fromhex(self.key_hex) if self.key_hex else None
        with open_registry(self.location, key=key) as registry:
            return registry.verify_audit().ok

    def seq_of(self, action: str, **detail) -> int:
        found = [
            e["seq"]
            for e in self.entries()
            if e["action"] == action and all(e["detail"].get(k) == v for k, v in detail.items())
        ]
        assert len(found) == 1, (action, detail, found)
        return found[0]

    def engine(self) -> sa.Engine:
        if self.backend == "sqlite":
            return sa.create_engine(f"sqlite:///{Path(self.location) / 'registry.sqlite'}")
        return sa.create_engine(self.location.replace("postgresql://", "postgresql+psycopg://"))

    def sql(self, statement: str, **params) -> list:
        engine = self.engine()
        try:
            with engine.begin() as conn:
                result = conn.execute(sa.text(statement), params)
                return [dict(row._mapping) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def secret(self) -> str:
        if self.key_hex is not None:
            return self.key_hex
        return (Path(self.location) / "key").read_text().strip()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pg_server_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new PostgreSQL database for this module's registry, dropped at the end."""
    from conftest import fresh_pg_database

    with fresh_pg_database(request.getfixturevalue("pg_server_url"), "leaktrace_records") as url:
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp(f"records-{request.param}")
    if request.param == "sqlite":
        world = World("sqlite", str(root / "registry"), None, root / "dist")
        assert world.run("init").exit_code == 0
    else:
        key = np.random.default_rng(5).bytes(32)
        url = request.getfixturevalue("pg_server_database")
        world = World("postgresql", url, key.hex(), root / "dist")
        result = world.run("init", "--originals", str(root / "originals"))
        assert result.exit_code == 0, result.output
    for rid, name in RECIPIENTS.items():
        assert world.run("recipients", "add", name, "--id", rid).exit_code == 0
    marked = world.run("mark", *map(str, PHOTOS), "--all", "--out", str(world.dist), "--json")
    assert marked.exit_code == 0, marked.output
    found = world.run("identify", str(world.dist / "alice" / PHOTOS[0].name), "--json")
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["recipient"]["id"] == "alice"
    return world


# ------------------------------------------------------------------------------- intact trail


def test_every_change_is_in_the_audit_log(world):
    entries = world.entries()
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    ours = [e for e in entries if e["action"] in AUDITED]
    # mark may work on several files at once: only the causal order is fixed.
    assert [e["action"] for e in ours[:3]] == ["registry created", *["recipient added"] * 2]
    assert ours[-1]["action"] == "identify"
    middle = sorted(e["action"] for e in ours[3:-1])
    assert middle == ["asset added"] * len(PHOTOS) + ["copy recorded"] * len(PHOTOS) * 2
    assert ours[0]["detail"]["backend"] == world.backend
    assert [(e["detail"]["id"], e["detail"]["name"]) for e in ours[1:3]] == list(RECIPIENTS.items())
    assets = {
        e["detail"]["id"]: (e["seq"], e["detail"]) for e in ours if e["action"] == "asset added"
    }
    assert sorted((a["file_name"], a["sha256"]) for _, a in assets.values()) == sorted(
        (p.name, sha256_of(p)) for p in PHOTOS
    )
    copies = [e for e in ours if e["action"] == "copy recorded"]
    for copy in copies:  # a copy is recorded after its asset
        assert assets[copy["detail"]["asset_id"]][0] < copy["seq"]
    assert sorted(
        (c["detail"]["recipient_id"], c["detail"]["output_name"], c["detail"]["output_sha256"])
        for c in copies
    ) == sorted(
        (rid, photo.name, sha256_of(world.dist / rid / photo.name))
        for photo in PHOTOS
        for rid in RECIPIENTS
    )
    identified = ours[-1]["detail"]
    assert identified["verdict"] == "attributed" and identified["recipient"] == "alice"
    assert identified["file_sha256"] == sha256_of(world.dist / "alice" / PHOTOS[0].name)

    code, report = world.audit()
    assert (code, report) == (
        0,
        {"ok": True, "rows": len(entries), "first_broken_seq": None, "reason": None},
    )


def test_audit_says_intact_with_the_row_count(world):
    result = world.run("audit")
    assert result.exit_code == 0, result.output
    assert f"intact: {len(world.entries())} rows" in result.stdout
    assert result.stderr == ""


def test_audit_show_lists_every_row(world):
    result = world.run("audit", "--show")
    assert result.exit_code == 0, result.output
    for action in AUDITED:
        assert action in result.stdout
    assert "intact" in result.stdout


def test_key_never_appears_in_the_records_output(world):
    key_text = world.secret()
    outputs = [
        world.run(*args).output
        for args in (
            ["audit", "--show"],
            ["audit", "--show", "--json"],
            ["copies", "list"],
            ["copies", "list", "--json"],
        )
    ]
    assert all(key_text not in text and key_text.upper() not in text for text in outputs)


def test_a_new_registry(tmp_path):
    location = str(tmp_path / "registry")
    env = {"LEAKTRACE_KEY": None, "LEAKTRACE_REGISTRY": None, "LEAKTRACE_WORKERS": "1"}
    assert CliRunner().invoke(app, ["--registry", location, "init"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["--registry", location, "audit", "--json"], env=env)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "ok": True,
        "rows": 1,
        "first_broken_seq": None,
        "reason": None,
    }
    result = CliRunner().invoke(app, ["--registry", location, "copies", "list"], env=env)
    assert (result.exit_code, result.stdout.strip()) == (0, "No copies recorded yet.")
    result = CliRunner().invoke(app, ["--registry", location, "copies", "list", "--json"], env=env)
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])
    for name, rid in (("Carol [/] Chen", "carol"), ("Dan Dunn", "dan")):
        add = ["--registry", location, "recipients", "add", name, "--id", rid]
        assert CliRunner().invoke(app, add, env=env).exit_code == 0
    mark = ["mark", str(PHOTOS[1]), "--to", "carol", "--out", str(tmp_path / "dist")]
    assert CliRunner().invoke(app, ["--registry", location, *mark], env=env).exit_code == 0
    filtered = ["--registry", location, "copies", "list", "--recipient", "dan"]
    result = CliRunner().invoke(app, filtered, env=env)
    assert (result.exit_code, result.stdout.strip()) == (0, "No copies match the filters.")
    # A name is data, not Rich markup: "[/]" must neither vanish nor crash the table.
    result = CliRunner().invoke(app, ["--registry", location, "copies", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "Carol [/] Chen" in result.stdout and "1 copy" in result.stdout


# ------------------------------------------------------------------------------ tampering


def assert_broken(world: World, seq: int | None, *needles: str) -> None:
    code, report = world.audit()
    assert (code, report["ok"], report["first_broken_seq"]) == (EXIT_AUDIT_BROKEN, False, seq)
    assert report["rows"] == len(world.sql("SELECT seq FROM audit"))
    for needle in needles:
        assert needle in report["reason"]
    human = world.run("audit")
    assert human.exit_code == EXIT_AUDIT_BROKEN
    assert "BROKEN" in human.stdout and report["reason"] in human.stdout
    if seq is not None:
        assert f"First broken row: seq {seq}" in human.stdout


def test_audit_catches_an_edited_audit_row(world):
    rng = np.random.default_rng(11)
    seq = world.seq_of("identify")
    (row,) = world.sql("SELECT detail FROM audit WHERE seq = :seq", seq=seq)
    detail = json.loads(row["detail"])
    # The insider shifts the blame to bob and hides the file they really leaked.
    forged = {**detail, "recipient": "bob", "file_sha256": rng.bytes(32).hex()}
    try:
        world.sql(
            "UPDATE audit SET detail = :d WHERE seq = :seq",
            d=json.dumps(forged, sort_keys=True, separators=(",", ":")),
            seq=seq,
        )
        assert_broken(world, seq, f"audit row {seq}", "changed")
    finally:
        world.sql("UPDATE audit SET detail = :d WHERE seq = :seq", d=row["detail"], seq=seq)
    assert world.audit()[0] == 0


def body_text(entry: dict, detail: dict) -> str:
    """The documented canonical row: JSON of seq, at, action, detail, sorted and compact."""
    body = {"seq": entry["seq"], "at": entry["at"], "action": entry["action"], "detail": detail}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_chain(prev_hash: str, entry: dict, detail: dict) -> str:
    """The chain before schema version 3: anyone could recompute it."""
    return hashlib.sha256((prev_hash + body_text(entry, detail)).encode("utf-8")).hexdigest()


def keyed_chain(key: bytes, prev_hash: str, entry: dict, detail: dict) -> str:
    """The documented keyed chain: HMAC-SHA256 under HKDF-SHA256(key, "leaktrace/audit-chain/v1")."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    sub = HKDF(hashes.SHA256(), 32, salt=None, info=b"leaktrace/audit-chain/v1").derive(key)
    message = (prev_hash + body_text(entry, detail)).encode("utf-8")
    return hmac.new(sub, message, hashlib.sha256).hexdigest()


def test_the_chain_is_the_documented_hmac(world):
    """The formula the tests below forge with is the one the registry uses, with the right key."""
    key = bytes.fromhex(world.secret())
    entries = world.entries()
    rows = world.sql("SELECT seq, prev_hash, row_hash FROM audit ORDER BY seq")
    assert [r["seq"] for r in rows] == [e["seq"] for e in entries]
    for entry, row in zip(entries, rows, strict=True):
        assert keyed_chain(key, row["prev_hash"], entry, entry["detail"]) == row["row_hash"]
        assert sha256_chain(row["prev_hash"], entry, entry["detail"]) != row["row_hash"]


@pytest.mark.parametrize("forger", ["sha256", "another key"])
def test_audit_catches_a_row_rewritten_and_the_chain_rebuilt_without_the_key(world, forger):
    """An insider with write access edits a row and recomputes every hash after it, as the old
    SHA-256 chain allowed, or with an HMAC under a key of their own: the edited row is caught."""
    rng = np.random.default_rng(12)
    own_key = rng.bytes(32)
    entries = world.entries()
    index = next(i for i, e in enumerate(entries) if e["action"] == "asset added")
    saved = world.sql("SELECT seq, detail, prev_hash, row_hash FROM audit ORDER BY seq")
    forged_detail = {**entries[index]["detail"], "sha256": rng.bytes(32).hex()}
    try:
        prev = saved[index]["prev_hash"]
        for i in range(index, len(entries)):
            detail = forged_detail if i == index else entries[i]["detail"]
            digest = (
                sha256_chain(prev, entries[i], detail)
                if forger == "sha256"
                else keyed_chain(own_key, prev, entries[i], detail)
            )
            world.sql(
                "UPDATE audit SET detail = :d, prev_hash = :p, row_hash = :h WHERE seq = :s",
                d=json.dumps(detail, sort_keys=True, separators=(",", ":")),
                p=prev,
                h=digest,
                s=entries[i]["seq"],
            )
            prev = digest
        assert_broken(world, entries[index]["seq"], "does not match its hash")
    finally:
        for row in saved[index:]:
            world.sql(
                "UPDATE audit SET detail = :d, prev_hash = :p, row_hash = :h WHERE seq = :s",
                d=row["detail"],
                p=row["prev_hash"],
                h=row["row_hash"],
                s=row["seq"],
            )
    assert world.audit()[0] == 0


@pytest.mark.parametrize(
    ("table", "column", "action", "which"),
    [
        (
            "copies",
            "output_sha256",
            "copy recorded",
            {"recipient_id": "bob", "output_name": "rocket.jpg"},
        ),
        ("assets", "sha256", "asset added", {"file_name": "rocket.jpg"}),
        ("recipients", "name", "recipient added", {"id": "bob"}),
    ],
    ids=["copy", "asset", "recipient"],
)
def test_audit_catches_an_edited_record(world, table, column, action, which):
    """The chain covers the audit table only; each record must still match its audit row."""
    rng = np.random.default_rng(13)
    seq = world.seq_of(action, **which)
    detail = next(e["detail"] for e in world.entries() if e["seq"] == seq)
    key = detail["copy_id"] if table == "copies" else detail["id"]
    (row,) = world.sql(f"SELECT {column} FROM {table} WHERE id = :k", k=key)
    forged = "Mallory Mole" if column == "name" else rng.bytes(32).hex()
    try:
        world.sql(f"UPDATE {table} SET {column} = :v WHERE id = :k", v=forged, k=key)
        assert world.chain_ok()  # the hash chain alone cannot see this edit
        assert_broken(world, seq, f"audit row {seq}", column, "changed", forged)
    finally:
        world.sql(f"UPDATE {table} SET {column} = :v WHERE id = :k", v=row[column], k=key)
    assert world.audit()[0] == 0


@pytest.mark.parametrize("column", ["code", "commitment", "key_id"])
def test_audit_catches_an_edited_code_commitment_or_key_id(world, column):
    """A copy's cached code, its commitment and the key that made it are covered by its audit
    row: copying bob's code onto alice's copy, giving it a commitment or another key is caught."""
    seq = world.seq_of("copy recorded", recipient_id="alice", output_name=PHOTOS[1].name)
    detail = next(e["detail"] for e in world.entries() if e["seq"] == seq)
    assert detail["key_id"] == 1 and re.fullmatch(r"[0-9a-f]{64}", detail["commitment"])
    assert re.fullmatch(r"[0-9a-f]{64}", detail["code_sha256"])
    copy_id = detail["copy_id"]
    (row,) = world.sql(f"SELECT {column} FROM copies WHERE id = :k", k=copy_id)
    if column == "code":
        (bob,) = world.sql(
            "SELECT code FROM copies WHERE recipient_id = 'bob' AND asset_id = :a",
            a=detail["asset_id"],
        )
        forged, shown = bob["code"], "cached code"
        assert forged is not None and bytes(forged) != bytes(row["code"])
    elif column == "commitment":
        forged, shown = np.random.default_rng(14).bytes(32).hex(), "commitment"
    else:
        forged, shown = 2, "key_id"
    try:
        world.sql(f"UPDATE copies SET {column} = :v WHERE id = :k", v=forged, k=copy_id)
        assert world.chain_ok()  # the chain alone cannot see this edit
        assert_broken(world, seq, f"audit row {seq}", f"copy {copy_id}", shown)
    finally:
        world.sql(f"UPDATE copies SET {column} = :v WHERE id = :k", v=row[column], k=copy_id)
    assert world.audit()[0] == 0


def test_audit_catches_an_edited_key_record(world):
    """The keys table holds fingerprints only; an edited one no longer matches its audit row
    (or the key given at all, which opening reports first)."""
    (row,) = world.sql("SELECT fingerprint FROM keys WHERE id = 1")
    try:
        world.sql("UPDATE keys SET fingerprint = :f WHERE id = 1", f="0123456789abcdef")
        result = world.run("audit")
        assert result.exit_code == 1
        assert "does not belong to this registry" in result.stderr
        assert result.stdout == ""
    finally:
        world.sql("UPDATE keys SET fingerprint = :f WHERE id = 1", f=row["fingerprint"])
    assert world.audit()[0] == 0


def test_audit_catches_a_deleted_copy_record(world):
    seq = world.seq_of("copy recorded", recipient_id="bob", output_name=PHOTOS[0].name)
    copy_id = next(e["detail"]["copy_id"] for e in world.entries() if e["seq"] == seq)
    (row,) = world.sql("SELECT * FROM copies WHERE id = :i", i=copy_id)
    try:
        world.sql("DELETE FROM copies WHERE id = :i", i=copy_id)
        assert_broken(world, seq, f"copy {copy_id}", "deleted")
    finally:
        columns = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        world.sql(f"INSERT INTO copies ({columns}) VALUES ({values})", **row)
    assert world.audit()[0] == 0


def test_audit_catches_a_record_added_behind_its_back(world):
    try:
        world.sql(
            "INSERT INTO recipients (id, name, created_at) VALUES ('mallory', 'Mallory', :t)",
            t="2026-01-01 12:00:00",
        )
        assert_broken(world, None, "recipient mallory", "no audit row")
        human = world.run("audit")
        assert "First broken row: none" in human.stdout
    finally:
        world.sql("DELETE FROM recipients WHERE id = 'mallory'")
    assert world.audit()[0] == 0


# --------------------------------------------------------------------------------- copies list


def test_copies_list_json(world):
    result = world.run("copies", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [set(row) for row in rows] == [
        {"id", "asset", "recipient", "output_name", "output_sha256", "created_at"}
    ] * 4
    assets = {p.name: sha256_of(p)[:16] for p in PHOTOS}  # asset ids are the SHA-256's prefix
    assert sorted(
        (row["asset"]["file"], row["recipient"]["id"], row["recipient"]["name"]) for row in rows
    ) == sorted((p.name, rid, name) for p in PHOTOS for rid, name in RECIPIENTS.items())
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)  # in recorded order
    for row in rows:
        assert row["asset"]["id"] == assets[row["asset"]["file"]]
        assert row["output_name"] == row["asset"]["file"]
        assert row["output_sha256"] == sha256_of(
            world.dist / row["recipient"]["id"] / row["output_name"]
        )
        assert datetime.fromisoformat(row["created_at"]).utcoffset().total_seconds() == 0
    assert len({row["id"] for row in rows}) == len(rows)


def test_copies_list_filters(world):
    def listed(*args: str) -> list[tuple[str, str]]:
        result = world.run("copies", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return sorted((r["recipient"]["id"], r["asset"]["file"]) for r in json.loads(result.stdout))

    rocket = sha256_of(PHOTOS[1])[:16]
    assert listed("--recipient", "bob") == [("bob", p.name) for p in PHOTOS]
    assert listed("--asset", rocket) == [(rid, PHOTOS[1].name) for rid in RECIPIENTS]
    assert listed("--asset", rocket, "--recipient", "alice") == [("alice", PHOTOS[1].name)]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--asset", "0123456789abcdef"], "no asset 0123456789abcdef"),
        (["--recipient", "nobody"], "no recipient nobody"),
        (["--recipient", "../etc"], "invalid recipient id"),
    ],
)
def test_copies_list_unknown_filter_is_one_line_error(world, args, needle):
    result = world.run("copies", "list", *args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error: ") and needle in lines[0]
    assert result.stdout == ""


# ------------------------------------------------------------------------------------ colours


@pytest.fixture(scope="module")
def small_registry(tmp_path_factory) -> str:
    """A SQLite registry with one copy, for the commands run as separate processes."""
    root = tmp_path_factory.mktemp("colours")
    location = str(root / "registry")
    env = {"LEAKTRACE_KEY": None, "LEAKTRACE_REGISTRY": None, "LEAKTRACE_WORKERS": "1"}
    for args in (
        ["init"],
        ["recipients", "add", "Dana Diaz", "--id", "dana"],
        ["mark", str(PHOTOS[1]), "--all", "--out", str(root / "dist")],
    ):
        result = CliRunner().invoke(app, ["--registry", location, *args], env=env)
        assert result.exit_code == 0, result.output
    return location


def run_process(registry: str, args: list[str], **env: str) -> subprocess.CompletedProcess:
    """The CLI as a separate process, stdout a pipe, with only the colour settings given."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "FORCE_COLOR",
            "NO_COLOR",
            "CLICOLOR_FORCE",
            "TTY_COMPATIBLE",
            "TTY_INTERACTIVE",
            "COLUMNS",
            "LEAKTRACE_KEY",
            "LEAKTRACE_REGISTRY",
        }
    }
    # A capable terminal type: only the pipe, or NO_COLOR, may turn the colours off.
    clean.update({"TERM": "xterm-256color", "COLUMNS": "200", **env})
    code = "from leaktrace.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "--registry", registry, *args],
        capture_output=True,
        text=True,
        env=clean,
        timeout=120,
    )


COLOUR_COMMANDS = [["copies", "list"], ["audit"]]


@pytest.mark.parametrize("args", COLOUR_COMMANDS, ids=" ".join)
def test_no_escape_sequences_when_not_a_terminal(small_registry, args):
    result = run_process(small_registry, args)
    assert result.returncode == 0, result.stderr
    assert "dana" in result.stdout or "intact" in result.stdout
    assert not ANSI.search(result.stdout + result.stderr)


def test_table_is_readable_in_a_pipe(small_registry):
    result = run_process(small_registry, ["copies", "list"])
    assert result.returncode == 0, result.stderr
    sha = sha256_of(Path(small_registry).parent / "dist" / "dana" / PHOTOS[1].name)
    for text in ("dana", "Dana Diaz", PHOTOS[1].name, sha[:16], "1 copy"):
        assert text in result.stdout


def test_forced_colour_is_detected(small_registry):
    """The check below would see escapes if there were any: forcing colour produces them."""
    result = run_process(small_registry, ["copies", "list"], FORCE_COLOR="1")
    assert result.returncode == 0, result.stderr
    assert ANSI.search(result.stdout)


@pytest.mark.parametrize(
    "args", [*COLOUR_COMMANDS, ["recipients", "list"], ["assets", "list"]], ids=" ".join
)
def test_no_color_wins_over_forced_colour(small_registry, args):
    result = run_process(small_registry, args, FORCE_COLOR="1", NO_COLOR="1")
    assert result.returncode == 0, result.stderr
    assert not ANSI.search(result.stdout + result.stderr), result.stdout
