"""Unattended batches through the real command line, as a CI job runs them.

``leaktrace mark packet/ --recipients suppliers.csv --out dist/ --json`` with the key in
``$LEAKTRACE_KEY``: the manifest, reruns that skip what is done (exit 6) and rewrite what is
missing byte for byte, the CSV's all-or-nothing additions, and PostgreSQL registries created and
used from the command line like folder ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from leaktrace.cli import app
from leaktrace.media.image.files import load_display_rgb
from leaktrace.registry import open_registry
from leaktrace.simulate import run_attack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY_HEX = bytes(range(7, 39)).hex()
EXIT_NOTHING_TO_DO = 6


def run(*args: str, env: dict | None = None):
    base = {"LEAKTRACE_KEY": KEY_HEX, "LEAKTRACE_REGISTRY": None, "LEAKTRACE_WORKERS": "1"}
    return CliRunner().invoke(app, list(args), env={**base, **(env or {})})


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_packet(root: Path, seed: int) -> Path:
    """A supplier packet: a photo, a draft and a small generated drawing in a sub-folder."""
    rng = np.random.default_rng(seed)
    packet = root / "packet"
    (packet / "drawings").mkdir(parents=True)
    (packet / "photo.jpg").write_bytes((FIXTURES / "photos" / "astronaut.jpg").read_bytes())
    (packet / "chelsea.jpg").write_bytes((FIXTURES / "photos" / "chelsea.jpg").read_bytes())
    drawing = np.full((180, 240, 3), 245, np.uint8)
    for _ in range(12):
        y, x = rng.integers(10, 160), rng.integers(10, 220)
        drawing[y : y + 12, x : x + 40] = rng.integers(0, 200, 3)
    Image.fromarray(drawing).save(packet / "drawings" / "bracket.png")
    return packet


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["id,name,email,org"] + [
        f"{rid},{name},{rid}@example.org,Suppliers" for rid, name in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SUPPLIERS = [("acme", "ACME Parts"), ("bolt-nut", "Bolt & Nut"), ("cogs", "Cogs Ltd")]


def init_registry(location: str, tmp_path: Path) -> None:
    args = ["--registry", location, "init"]
    if "://" in location:
        args += ["--originals", str(tmp_path / "originals")]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert KEY_HEX not in result.output


def mark(location: str, packet: Path, csv: Path, out: Path, *extra: str):
    result = run(
        "--registry", location, "mark", str(packet), "--recipients", str(csv), "--out", str(out),
        "--json", *extra,
    )  # fmt: skip
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_batch_manifest_rerun_and_repair(registry_location, tmp_path):
    """The CI journey, on SQLite and on PostgreSQL, the key from $LEAKTRACE_KEY only."""
    init_registry(registry_location, tmp_path)
    if "://" not in registry_location:
        assert not (Path(registry_location) / "key").exists()  # the key came from the environment
    packet = make_packet(tmp_path, seed=1)
    csv = write_csv(tmp_path / "suppliers.csv", SUPPLIERS)
    dist = tmp_path / "dist"

    result, manifest = mark(registry_location, packet, csv, dist)
    assert result.exit_code == 0, result.output
    assert manifest["recipients_added"] == ["acme", "bolt-nut", "cogs"]
    assert manifest["summary"] == {"marked": 9, "skipped": 0, "failed_files": 0}
    assert manifest["failures"] == []
    rows = manifest["copies"]
    assert [(Path(r["file"]).name, r["recipient"]) for r in rows[:3]] == [
        ("chelsea.jpg", "acme"),
        ("chelsea.jpg", "bolt-nut"),
        ("chelsea.jpg", "cogs"),
    ]
    for row in rows:
        output = Path(row["output"])
        assert output == dist / row["recipient"] / Path(row["file"]).relative_to(packet)
        assert row["status"] == "marked" and sha(output) == row["sha256"]
    first = {row["output"]: Path(row["output"]).read_bytes() for row in rows}
    mtimes = {name: os.stat(name).st_mtime_ns for name in first}
    with open_registry(registry_location, key=bytes.fromhex(KEY_HEX)) as reg:
        recorded = {(c.recipient_id, c.output_sha256) for c in reg.list_copies()}
        assert recorded == {(r["recipient"], r["sha256"]) for r in rows}
        assert all(c.code is not None and len(c.code) == 128 for c in reg.list_copies())

    # A rerun of a finished batch has nothing to do and touches nothing.
    again, manifest2 = mark(registry_location, packet, csv, dist)
    assert again.exit_code == EXIT_NOTHING_TO_DO, again.output
    assert manifest2["summary"] == {"marked": 0, "skipped": 9, "failed_files": 0}
    assert manifest2["recipients_added"] == []
    assert [(r["output"], r["sha256"]) for r in manifest2["copies"]] == [
        (r["output"], r["sha256"]) for r in rows
    ]
    assert {name: os.stat(name).st_mtime_ns for name in first} == mtimes

    # A lost copy and a tampered one are made again, byte for byte, and recorded once.
    lost = dist / "cogs" / "drawings" / "bracket.png"
    tampered = dist / "acme" / "photo.jpg"
    lost.unlink()
    tampered.write_bytes(tampered.read_bytes()[:-100] + b"\0" * 100)
    repair, manifest3 = mark(registry_location, packet, csv, dist)
    assert repair.exit_code == 0, repair.output
    redone = {
        (r["recipient"], Path(r["file"]).name)
        for r in manifest3["copies"]
        if r["status"] == "marked"
    }
    assert redone == {("cogs", "bracket.png"), ("acme", "photo.jpg")}
    assert {name: Path(name).read_bytes() for name in first} == first
    with open_registry(registry_location, key=bytes.fromhex(KEY_HEX)) as reg:
        assert len(reg.list_copies()) == 9
        assert reg.verify_audit().ok
    every_output = again.output + repair.output + result.output
    assert KEY_HEX not in every_output and KEY_HEX.upper() not in every_output


def test_marks_exactly_those_listed_and_adds_all_or_nothing(tmp_path):
    location = str(tmp_path / "registry")
    init_registry(location, tmp_path)
    assert run("--registry", location, "recipients", "add", "Other", "--id", "other").exit_code == 0
    packet = make_packet(tmp_path, seed=2)
    dist = tmp_path / "dist"

    bad = write_csv(tmp_path / "bad.csv", [("acme", "ACME"), ("Bad Id", "Bad")])
    result, _ = mark(location, packet, bad, dist)
    assert result.exit_code == 1 and "invalid recipient id" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with open_registry(location, key=bytes.fromhex(KEY_HEX)) as reg:
        assert [r.id for r in reg.list_recipients()] == ["other"]
        assert reg.list_assets() == []
    assert not dist.exists() or not any(dist.rglob("*.*"))

    csv = write_csv(tmp_path / "two.csv", [("acme", "ACME"), ("other", "Renamed Other")])
    result, manifest = mark(location, packet, csv, dist)
    assert result.exit_code == 0, result.output
    assert manifest["recipients_added"] == ["acme"]
    assert sorted(p.name for p in dist.iterdir()) == ["acme", "other"]
    assert {r["recipient"] for r in manifest["copies"]} == {"acme", "other"}
    with open_registry(location, key=bytes.fromhex(KEY_HEX)) as reg:
        assert reg.get_recipient("other").name == "Other"  # kept as it was

    empty = tmp_path / "empty.csv"
    empty.write_text("id,name,email,org\n")
    result, _ = mark(location, packet, empty, dist)
    assert result.exit_code == 1 and "lists no recipients" in result.stderr


def test_batch_exit_codes_for_failures(tmp_path):
    location = str(tmp_path / "registry")
    init_registry(location, tmp_path)
    csv = write_csv(tmp_path / "s.csv", SUPPLIERS[:1])
    packet = make_packet(tmp_path, seed=3)
    (packet / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    result, manifest = mark(location, packet, csv, tmp_path / "dist")
    assert result.exit_code == 3
    assert [Path(f["file"]).name for f in manifest["failures"]] == ["corrupt.jpg"]
    assert manifest["summary"]["marked"] == 3
    # Everything that can be done is done: a rerun still reports the broken file.
    result, manifest = mark(location, packet, csv, tmp_path / "dist")
    assert result.exit_code == 3 and manifest["summary"] == {
        "marked": 0,
        "skipped": 3,
        "failed_files": 1,
    }
    only_bad = tmp_path / "only-bad"
    only_bad.mkdir()
    (only_bad / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result, _ = mark(location, only_bad, csv, tmp_path / "dist")
    assert result.exit_code == 1


def test_recipient_options_are_exclusive(tmp_path):
    location = str(tmp_path / "registry")
    init_registry(location, tmp_path)
    csv = write_csv(tmp_path / "s.csv", SUPPLIERS)
    photo = str(FIXTURES / "photos" / "astronaut.jpg")
    for choice in (["--all", "--recipients", str(csv)], ["--to", "acme", "--all"], []):
        result = run("--registry", location, "mark", photo, "--out", str(tmp_path / "o"), *choice)
        assert result.exit_code == 2, result.output
        assert "--recipients" in result.stderr


def test_local_worker_processes_write_the_same_bytes(tmp_path):
    """Two worker processes, one file each, give what one process gives."""
    packet = make_packet(tmp_path, seed=4)
    csv = write_csv(tmp_path / "s.csv", SUPPLIERS[:2])
    manifests = {}
    for workers in ("1", "2"):
        location = str(tmp_path / f"registry-{workers}")
        init_registry(location, tmp_path)
        result, manifests[workers] = mark(
            location, packet, csv, tmp_path / f"dist-{workers}", "--workers", workers
        )
        assert result.exit_code == 0, result.output
    one, two = manifests["1"]["copies"], manifests["2"]["copies"]
    assert [(r["file"], r["recipient"], r["sha256"]) for r in one] == [
        (r["file"], r["recipient"], r["sha256"]) for r in two
    ]
    for a, b in zip(one, two, strict=True):
        assert Path(a["output"]).read_bytes() == Path(b["output"]).read_bytes()


def test_keygen_prints_or_writes_a_new_key(tmp_path):
    first, second = run("keygen"), run("keygen")
    assert first.exit_code == 0 and second.exit_code == 0
    keys = [first.stdout.strip(), second.stdout.strip()]
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys) and keys[0] != keys[1]
    path = tmp_path / "ci.key"
    result = run("keygen", "--out", str(path))
    assert result.exit_code == 0 and stat.S_IMODE(path.stat().st_mode) == 0o600
    written = path.read_text().strip()
    assert len(written) == 64 and written not in result.output
    refused = run("keygen", "--out", str(path))
    assert refused.exit_code == 1 and "refusing to overwrite" in refused.stderr
    assert path.read_text().strip() == written


@pytest.mark.postgres
def test_postgres_registry_from_the_command_line(pg_database, tmp_path):
    """init, import, mark, identify on a PostgreSQL URL given in $LEAKTRACE_REGISTRY."""
    env = {"LEAKTRACE_REGISTRY": pg_database}
    no_key = run("init", "--originals", str(tmp_path / "orig"), env={**env, "LEAKTRACE_KEY": None})
    assert no_key.exit_code == 1 and "leaktrace keygen" in no_key.stderr
    no_store = run("init", env=env)
    assert no_store.exit_code == 1 and "--originals" in no_store.stderr
    created = run("init", "--originals", str(tmp_path / "orig"), env=env)
    assert created.exit_code == 0, created.output
    assert "postgresql://" in created.stdout and str(tmp_path / "orig") in created.stdout
    assert run("init", "--originals", str(tmp_path / "o2"), env=env).exit_code == 1

    csv = write_csv(tmp_path / "s.csv", SUPPLIERS)
    assert run("recipients", "import", str(csv), env=env).exit_code == 0
    photo = FIXTURES / "photos" / "rocket.jpg"
    dist = tmp_path / "dist"
    result = run("mark", str(photo), "--all", "--out", str(dist), "--json", env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "orig").is_dir() and any((tmp_path / "orig").rglob("*"))

    leak = tmp_path / "leak.jpg"
    data, _ = run_attack("social1080", load_display_rgb(dist / "bolt-nut" / "rocket.jpg"), seed=5)
    leak.write_bytes(data)
    found = run("identify", str(leak), "--json", env=env)
    assert found.exit_code == 0, found.output
    verdict = json.loads(found.stdout)
    assert verdict["verdict"] == "attributed" and verdict["recipient"]["id"] == "bolt-nut"
    assert KEY_HEX not in found.output + result.output + created.output


def test_packed_codes_score_exactly_like_signs():
    from leaktrace.engine.watermark.detect import SCORE_BLOCK, attribute, standardized_scores

    rng = np.random.default_rng(12)
    signs = rng.choice(np.array([-1, 1], np.int8), (SCORE_BLOCK + 37, 1024))
    y = rng.standard_normal(1024) * 3.0
    packed = np.packbits(signs > 0, axis=1)
    exact = signs.astype(np.float64) @ (y / np.linalg.norm(y))
    assert np.allclose(standardized_scores(y, packed), exact, rtol=0, atol=1e-9)
    assert np.allclose(standardized_scores(y, signs), exact, rtol=0, atol=1e-4)
    ids = [f"r{i}" for i in range(len(signs))]
    decoys = rng.choice(np.array([-1, 1], np.int8), (256, 1024))
    a, b = attribute(y, signs, ids, decoys), attribute(y, packed, ids, decoys)
    assert a.recipient_ids[:50] == b.recipient_ids[:50]
    assert np.allclose(a.z, b.z, atol=1e-4)
    with pytest.raises(ValueError, match="packed codes"):
        standardized_scores(y, packed[:, :64])


def test_identify_derives_codes_that_were_not_cached(tmp_path):
    """Copies recorded before schema version 2 have no cached code: identify derives them."""
    import sqlite3

    location = str(tmp_path / "registry")
    init_registry(location, tmp_path)
    csv = write_csv(tmp_path / "s.csv", SUPPLIERS)
    photo = FIXTURES / "photos" / "rocket.jpg"
    result, _ = mark(location, photo, csv, tmp_path / "dist")
    assert result.exit_code == 0, result.output
    data, _ = run_attack("jpeg50", load_display_rgb(tmp_path / "dist" / "cogs" / "rocket.jpg"))
    leak = tmp_path / "leak.jpg"
    leak.write_bytes(data)

    def scores() -> dict:
        found = run("--registry", location, "identify", str(leak), "--json")
        assert found.exit_code == 0, found.output
        verdict = json.loads(found.stdout)
        assert verdict["recipient"]["id"] == "cogs"
        return {c["id"]: c["score"] for c in verdict["candidates"]}

    cached = scores()
    with sqlite3.connect(Path(location) / "registry.sqlite") as conn:
        conn.execute("UPDATE copies SET code = NULL WHERE recipient_id != 'acme'")
    assert scores() == cached
