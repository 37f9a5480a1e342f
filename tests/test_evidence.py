"""Evidence an arbitrator can check without our key: public commitments made at marking, receipts,
evidence cases, and every way we could think of to make a false case verify.

A registry is made and marked through the real CLI; a leak of alice's copy is identified and
exported; ``evidence verify`` then runs in a fresh process, in a fresh folder, with no registry
and no key in its environment. Each tampered case must fail with its reason (exit 8), and a
file that is no case at all must be one error line (exit 1).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conftest import read_only_paths
from leaktrace.cli import app
from leaktrace.engine.watermark.pattern import AssetKeying, Layout
from leaktrace.media.image.files import load_display_rgb
from leaktrace.pipeline.openings import open_copy
from leaktrace.registry import open_registry
from leaktrace.simulate import run_attack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY = "3c" * 32
PHOTO = FIXTURES / "photos" / "coffee.png"
OTHER = FIXTURES / "photos" / "rocket.jpg"
RECIPIENTS = ("alice", "bob", "carol")


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env or {"LEAKTRACE_KEY": KEY})


def run_alone(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a fresh process, with no registry or key anywhere in its environment."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LEAKTRACE_") and name != "PYTHONSTARTUP"
    }
    return subprocess.run(
        [sys.executable, "-c", "from leaktrace.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def leak_of(copy: Path, attack: str, out: Path) -> Path:
    data, extension = run_attack(attack, load_display_rgb(copy), seed=3)
    path = out.with_suffix(extension)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence")
    registry = str(root / "registry")
    assert run("--registry", registry, "init").exit_code == 0
    for rid in RECIPIENTS:
        result = run("--registry", registry, "recipients", "add", rid.title(), "--id", rid)
        assert result.exit_code == 0, result.output
    result = run(
        "--registry",
        registry,
        "mark",
        str(PHOTO),
        str(OTHER),
        "--all",
        "--out",
        str(root / "dist"),
        "--receipts",
        str(root / "receipts"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    leak = leak_of(root / "dist" / "alice" / PHOTO.name, "social480", root / "leak")
    result = run("--registry", registry, "identify", str(leak), "--json")
    assert result.exit_code == 0, result.output
    identified = json.loads(result.stdout)
    assert identified["recipient"]["id"] == "alice"
    (root / "result.json").write_text(result.stdout)
    case = root / "case.zip"
    result = run("--registry", registry, "evidence", "export", str(leak), "--out", str(case))
    assert result.exit_code == 0, result.output
    return {
        "root": root,
        "registry": registry,
        "leak": leak,
        "case": case,
        "result": identified,
        "manifest": json.loads(
            run(
                "--registry", registry, "mark", str(PHOTO), "--all", "--out", str(root / "dist"),
                "--json",
            ).stdout
        ),
    }  # fmt: skip


def _registry(world):
    return open_registry(world["registry"], key=bytes.fromhex(KEY))


# -- commitments and receipts ---------------------------------------------------------------------


def test_every_copy_is_committed_and_the_receipts_list_the_commitments(world):
    with _registry(world) as reg:
        copies = [c for c in reg.list_copies() if c.code is not None]
        assert len(copies) == 2 * len(RECIPIENTS)
        for copy in copies:
            opening = open_copy(reg, reg.get_asset(copy.asset_id), copy.recipient_id, copy.code)
            assert opening.commitment() == copy.commitment
            # The audit row of the copy chains its commitment.
            row = next(
                e
                for e in reg.list_audit()
                if e.action == "copy recorded" and e.detail["copy_id"] == copy.id
            )
            assert row.detail["commitment"] == copy.commitment
        by_id = {(c.asset_id, c.recipient_id): c for c in copies}
        asset = copies[0].asset_id
        alice = open_copy(reg, reg.get_asset(asset), "alice", by_id[asset, "alice"].code)
    # One recipient's opening opens nothing else: not bob's commitment, nor alice's with
    # bob's code.
    assert alice.commitment() != by_id[asset, "bob"].commitment
    swapped = type(alice)(**{**alice.__dict__, "code": by_id[asset, "bob"].code})
    assert swapped.commitment() != by_id[asset, "alice"].commitment
    assert check_audit(world) == 0
    for rid in RECIPIENTS:
        receipt = json.loads((world["root"] / "receipts" / f"{rid}.json").read_text())
        assert receipt["recipient"]["id"] == rid and len(receipt["copies"]) == 2
        page = (world["root"] / "receipts" / f"{rid}.html").read_text()
        for line in receipt["copies"]:
            output = world["root"] / "dist" / rid / line["file"]
            assert hashlib.sha256(output.read_bytes()).hexdigest() == line["sha256"]
            (mark,) = line["commitments"]
            assert mark["commitment"] == by_id[mark["asset"], rid].commitment
            assert line["sha256"] in page and mark["commitment"] in page
        assert KEY not in page and KEY not in json.dumps(receipt)


def check_audit(world) -> int:
    return run("--registry", world["registry"], "audit").exit_code


def test_rerunning_a_batch_keeps_the_copies_and_their_commitments(world):
    statuses = {c["status"] for c in world["manifest"]["copies"]}
    assert statuses == {"skipped"}  # the same bytes were found: nothing was made again


# -- a genuine case -------------------------------------------------------------------------------


def test_a_genuine_case_is_confirmed_without_the_registry_or_the_key(world, tmp_path):
    fresh = tmp_path / "arbitrator"
    fresh.mkdir()
    shutil.copy(world["case"], fresh / "case.zip")
    done = run_alone("evidence", "verify", "case.zip", "--json", cwd=fresh)
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["confirmed"] and verdict["copy"]["recipient"] == "alice"
    assert verdict["p_value"] <= verdict["bound"] == 1e-9
    assert abs(verdict["score"] - verdict["recorded_score"]) <= verdict["tolerance"]
    assert {c["check"] for c in verdict["checks"]} >= {
        "commitment",
        "registration",
        "score",
        "significance",
        "audit",
    }
    assert sorted(p.name for p in fresh.iterdir()) == ["case.zip"]  # it wrote nothing
    human = run_alone("evidence", "verify", "case.zip", cwd=fresh)
    assert human.returncode == 0 and "CONFIRMED: the leak was made from the copy" in human.stdout


def test_the_case_reveals_only_the_accused_copy(world):
    """No key, no subkey and no other recipient's code or nonce is in the case."""
    with zipfile.ZipFile(world["case"]) as archive:
        text = archive.read("case.json").decode()
        everything = b"".join(archive.read(name) for name in archive.namelist())
    with _registry(world) as reg:
        asset = reg.get_asset(world["result"]["asset"]["id"])
        layout = Layout.from_params(asset.params["pattern"])
        keying = AssetKeying(reg.key, asset.sha256, layout)
        secrets = [reg.key.hex(), reg.key.hex().upper()]
        for rid in ("bob", "carol"):
            code = np.packbits(keying.recipient_code(rid) > 0).tobytes()
            secrets += [code.hex(), reg.copy_nonce(asset.id, rid).hex()]
        alice = np.packbits(keying.recipient_code("alice") > 0).tobytes()
    assert alice.hex() in text  # the accused copy's code is revealed, as it must be
    for secret in secrets:
        assert secret not in text and secret.encode() not in everything


def test_a_result_file_gives_the_same_case(world, tmp_path):
    out = tmp_path / "again.zip"
    result = run(
        "--registry",
        world["registry"],
        "evidence",
        "export",
        str(world["leak"]),
        "--out",
        str(out),
        "--result",
        str(world["root"] / "result.json"),
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(world["case"]) as b:
        first, second = json.loads(a.read("case.json")), json.loads(b.read("case.json"))
    assert first["opening"] == second["opening"] and first["copy"] == second["copy"]


# -- cases that must not verify -------------------------------------------------------------------


def _members(case: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(case) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(members: dict[str, bytes], path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


def _tampered(world, tmp_path, edit) -> Path:
    members = _members(world["case"])
    data = json.loads(members["case.json"])
    edit(data, members)
    members["case.json"] = json.dumps(data).encode()
    return _write(members, tmp_path / "tampered.zip")


def _code_of(world, rid: str) -> tuple[bytes, str, dict]:
    with _registry(world) as reg:
        asset = reg.get_asset(world["result"]["asset"]["id"])
        (copy,) = reg.list_copies(asset_id=asset.id, recipient_id=rid)
        opening = open_copy(reg, asset, rid, copy.code).to_dict()
        row = next(
            e
            for e in reg.list_audit()
            if e.action == "copy recorded" and e.detail["copy_id"] == copy.id
        )
        audit_row = {"seq": row.seq, "action": row.action, "detail": row.detail}
        return copy.code, copy.commitment, {"opening": opening, "row": audit_row, "copy": copy}


def _swap_code(world):
    bob_code, _, _ = _code_of(world, "bob")

    def edit(data, _members):
        data["opening"]["code"] = bob_code.hex()

    return edit


def _another_copy(world):
    """Everything about the accused copy replaced, consistently, by bob's: what a dishonest key
    holder could assemble. Only the leak itself still says whose copy it is."""
    _, commitment, bob = _code_of(world, "bob")

    def edit(data, _members):
        data["opening"] = bob["opening"]
        data["accused"] = {"id": "bob", "name": "Bob", "org": None}
        data["copy"].update(
            recipient="bob", commitment=commitment, output_sha256=bob["copy"].output_sha256
        )
        data["audit"] = [bob["row"] if r["action"] == "copy recorded" else r for r in data["audit"]]
        for row in data["audit"]:
            if row["action"] == "identify":
                row["detail"]["recipient"] = "bob"

    return edit


def _other_original(world):
    other = OTHER.read_bytes()

    def edit(data, members):
        members[data["original"]["member"]] = other
        data["original"]["sha256"] = hashlib.sha256(other).hexdigest()

    return edit


def _edited_leak_bytes(world):
    def edit(data, members):
        name = data["leak"]["member"]
        raw = bytearray(members[name])
        raw[len(raw) // 2] ^= 0xFF
        members[name] = bytes(raw)

    return edit


def _another_leak(world):
    """The leak replaced by one of bob's copy, with every hash in the case made to fit."""
    bob_leak = leak_of(
        world["root"] / "dist" / "bob" / PHOTO.name, "social480", world["root"] / "bob-leak"
    )
    data_bytes = bob_leak.read_bytes()
    digest = hashlib.sha256(data_bytes).hexdigest()

    def edit(data, members):
        members[data["leak"]["member"]] = data_bytes
        data["leak"]["sha256"] = digest
        for row in data["audit"]:
            if row["action"] == "identify":
                row["detail"]["file_sha256"] = digest

    return edit


def _edited_score(world):
    def edit(data, _members):
        data["result"]["score"] = round(data["result"]["score"] * 1.6, 3)

    return edit


def _edited_p_value(world):
    def edit(data, _members):
        data["result"]["p_value"] = 1e-300

    return edit


def _wrong_commitment(world):
    def edit(data, _members):
        data["copy"]["commitment"] = hashlib.sha256(b"something else").hexdigest()

    return edit


def _weak_bound(world):
    """A bound so strict that the real p-value does not pass it: the verifier must say so."""

    def edit(data, _members):
        data["parameters"]["bound"] = 1e-299

    return edit


@pytest.mark.parametrize(
    ("tamper", "check", "reason"),
    [
        (_swap_code, "commitment", "not to the commitment recorded at marking"),
        (_another_copy, "score", "does not match its leak and code"),
        (_other_original, "pattern", "another original"),
        (_edited_leak_bytes, "leak", "not the one the case records"),
        (_another_leak, "score", "does not match its leak and code"),
        (_edited_score, "score", "does not match its leak and code"),
        (_edited_p_value, "result", "does not follow from the recorded score"),
        (_wrong_commitment, "commitment", "not to the commitment recorded at marking"),
        (_weak_bound, "significance", "above the bound"),
    ],
)
def test_a_tampered_case_fails_with_its_reason(world, tmp_path, tamper, check, reason):
    case = _tampered(world, tmp_path, tamper(world))
    done = run_alone("evidence", "verify", str(case), "--json", cwd=tmp_path)
    assert done.returncode == 8, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert not verdict["confirmed"] and reason in verdict["reason"]
    failed = [c for c in verdict["checks"] if not c["ok"]]
    assert [c["check"] for c in failed] == [check]
    human = run_alone("evidence", "verify", str(case), cwd=tmp_path)
    assert human.returncode == 8 and "NOT CONFIRMED: " in human.stdout and reason in human.stdout


def _truncated(world, tmp_path) -> Path:
    raw = world["case"].read_bytes()
    return _write_bytes(tmp_path / "cut.zip", raw[: len(raw) // 2])


def _garbage(world, tmp_path) -> Path:
    return _write_bytes(tmp_path / "noise.zip", np.random.default_rng(5).bytes(4096))


def _no_case_json(world, tmp_path) -> Path:
    members = _members(world["case"])
    del members["case.json"]
    return _write(members, tmp_path / "incomplete.zip")


def _no_leak(world, tmp_path) -> Path:
    members = _members(world["case"])
    data = json.loads(members["case.json"])
    del members[data["leak"]["member"]]
    return _write(members, tmp_path / "noleak.zip")


def _corrupt_member(world, tmp_path) -> Path:
    raw = bytearray(world["case"].read_bytes())
    raw[200] ^= 0x55  # inside the first member's compressed data: its CRC no longer matches
    return _write_bytes(tmp_path / "crc.zip", bytes(raw))


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_truncated, "not a readable evidence case"),
        (_garbage, "not a readable evidence case"),
        (_no_case_json, "not a complete evidence case"),
        (_no_leak, "not a complete evidence case"),
        (_corrupt_member, "evidence case"),
    ],
)
def test_a_file_that_is_no_case_is_one_error_line(world, tmp_path, make, message):
    case = make(world, tmp_path)
    done = run_alone("evidence", "verify", str(case), cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("leaktrace: error: ") and message in line


def test_export_refuses_what_is_no_accusation(world, tmp_path):
    innocent = leak_of(PHOTO, "social480", tmp_path / "unmarked")
    result = run(
        "--registry",
        world["registry"],
        "evidence",
        "export",
        str(innocent),
        "--out",
        str(tmp_path / "x.zip"),
    )
    assert result.exit_code == 1 and "attributed nobody" in result.output
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**world["result"], "sha256": "0" * 64}))
    result = run(
        "--registry",
        world["registry"],
        "evidence",
        "export",
        str(world["leak"]),
        "--out",
        str(tmp_path / "y.zip"),
        "--result",
        str(other),
    )
    assert result.exit_code == 1 and "not about this leak" in result.output
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "y.zip").exists()


# -- identify and scan against read-only registries -----------------------------------------------


def _audit_count(location: str) -> int:
    # A registry on read-only media is opened as an immutable file, as leaktrace opens it.
    database = Path(location) / "registry.sqlite"
    url = location if "://" in location else f"sqlite:///file:{database}?immutable=1&uri=true"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM audit")).scalar_one()
    finally:
        engine.dispose()


def _logged_to_case_file(registry: str, leak: Path, tmp_path: Path, monkeypatch) -> Path:
    before = _audit_count(registry)
    case_file = tmp_path / "investigation.jsonl"
    result = run(
        "--registry", registry, "identify", str(leak), "--json", "--case-file", str(case_file)
    )
    assert result.exit_code == 0, result.output
    logged = json.loads(result.stdout)["logged"]
    assert logged["to"] == "case file" and logged["path"] == str(case_file.resolve())
    assert "read-only" in logged["why"]
    result = run("--registry", registry, "identify", str(leak), "--case-file", str(case_file))
    assert result.exit_code == 0 and "Logged to the case file" in result.output
    # scan, in a folder of its own, logs to the default case file in the working directory.
    folder = tmp_path / "crawl"
    folder.mkdir()
    shutil.copy(leak, folder / leak.name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = run("--registry", registry, "scan", str(folder), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "1 identifications logged to the case file" in result.output
    (default,) = work.glob("leaktrace-case-*.jsonl")
    result = run("--registry", registry, "case", "verify", str(case_file))
    assert result.exit_code == 0, result.output
    assert _audit_count(registry) == before  # nothing was written to the registry
    return default


def test_identify_and_scan_on_read_only_media_log_to_a_case_file(world, tmp_path, monkeypatch):
    copy = tmp_path / "registry"
    shutil.copytree(world["registry"], copy)
    with read_only_paths(copy):
        default = _logged_to_case_file(str(copy), world["leak"], tmp_path, monkeypatch)
        lines = [json.loads(line) for line in default.read_text().splitlines()]
        assert lines[-1]["action"] == "identify" and lines[-1]["detail"]["recipient"] == "alice"


@pytest.mark.postgres
def test_identify_and_scan_with_a_select_only_role_log_to_a_case_file(
    pg_database, tmp_path, monkeypatch
):
    assert (
        run("--registry", pg_database, "init", "--originals", str(tmp_path / "originals")).exit_code
        == 0
    )
    assert (
        run("--registry", pg_database, "recipients", "add", "Alice", "--id", "alice").exit_code == 0
    )
    result = run(
        "--registry", pg_database, "mark", str(PHOTO), "--to", "alice", "--out", str(tmp_path / "d")
    )
    assert result.exit_code == 0, result.output
    leak = leak_of(tmp_path / "d" / "alice" / PHOTO.name, "social480", tmp_path / "leak")
    role = "lt_evidence_" + os.urandom(4).hex()
    engine = sa.create_engine("postgresql+psycopg://" + pg_database.split("://", 1)[1])
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    try:
        url = (
            sa.engine.make_url(pg_database).set(username=role).render_as_string(hide_password=False)
        )
        _logged_to_case_file(url, leak, tmp_path, monkeypatch)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        engine.dispose()
