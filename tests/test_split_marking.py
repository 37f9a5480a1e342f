"""One file for many recipients spread over worker processes: the same bytes, manifest and
registry records as one process, reruns that skip what is done, and one error for a bad file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from leaktrace.batch.marking import MIN_CHUNK, recipient_chunks
from leaktrace.cli import app
from leaktrace.registry import open_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY_HEX = bytes(range(50, 82)).hex()
EXIT_NOTHING_TO_DO = 6
RECIPIENTS = [f"r{k:02d}" for k in range(9)]


def run(*args: str):
    env = {"LEAKTRACE_KEY": KEY_HEX, "LEAKTRACE_REGISTRY": None, "LEAKTRACE_WORKERS": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def new_registry(location: Path) -> None:
    assert run("--registry", str(location), "init").exit_code == 0
    for rid in RECIPIENTS:
        result = run("--registry", str(location), "recipients", "add", rid.upper(), "--id", rid)
        assert result.exit_code == 0, result.output


def mark(location: Path, source: Path, out: Path, workers: int):
    result = run(
        "--registry", str(location), "mark", str(source), "--all", "--out", str(out),
        "--json", "--workers", str(workers),
    )  # fmt: skip
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_recipients_split_into_parts_in_order():
    ids = tuple(RECIPIENTS)
    parts = recipient_chunks(ids, n_files=1, workers=2)
    assert [len(p) for p in parts] == [5, 4]
    assert sum(parts, ()) == ids
    assert recipient_chunks(ids, n_files=4, workers=2) == [ids]  # the files keep 2 busy
    assert recipient_chunks(ids, n_files=1, workers=1) == [ids]
    few = ids[: 2 * MIN_CHUNK - 1]
    assert recipient_chunks(few, n_files=1, workers=2) == [few]
    assert len(recipient_chunks(ids * 4, n_files=3, workers=3)) == 3


def test_one_file_over_two_workers_is_one_process_byte_for_byte(tmp_path):
    source = FIXTURES / "drafts" / "cad_bumper.png"
    manifests = {}
    for workers in (1, 2):
        location = tmp_path / f"registry-{workers}"
        new_registry(location)
        result, manifests[workers] = mark(location, source, tmp_path / f"dist-{workers}", workers)
        assert result.exit_code == 0, result.output
    one, two = manifests[1]["copies"], manifests[2]["copies"]
    assert [c["recipient"] for c in two] == RECIPIENTS
    assert [(c["recipient"], c["asset"], c["sha256"]) for c in one] == [
        (c["recipient"], c["asset"], c["sha256"]) for c in two
    ]
    for a, b in zip(one, two, strict=True):
        assert Path(a["output"]).read_bytes() == Path(b["output"]).read_bytes()
    registry = open_registry(str(tmp_path / "registry-2"), key=bytes.fromhex(KEY_HEX))
    try:
        assert len(registry.list_assets()) == 1
        recorded = {c.recipient_id: c.output_sha256 for c in registry.list_copies()}
    finally:
        registry.close()
    assert recorded == {c["recipient"]: c["sha256"] for c in two}

    # A rerun over two workers skips everything; a lost copy is made again, the same bytes.
    location, out = tmp_path / "registry-2", tmp_path / "dist-2"
    result, again = mark(location, source, out, 2)
    assert result.exit_code == EXIT_NOTHING_TO_DO, result.output
    assert {c["status"] for c in again["copies"]} == {"skipped"}
    lost = out / "r07" / source.name
    lost.unlink()
    result, repaired = mark(location, source, out, 2)
    assert result.exit_code == 0, result.output
    assert [c["recipient"] for c in repaired["copies"] if c["status"] == "marked"] == ["r07"]
    assert hashlib.sha256(lost.read_bytes()).hexdigest() == recorded["r07"]


def test_a_bad_file_over_two_workers_fails_once_and_records_nothing(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 50)
    location = tmp_path / "registry"
    new_registry(location)
    result, manifest = mark(location, bad, tmp_path / "dist", 2)
    assert result.exit_code == 1, result.output
    assert manifest["copies"] == []
    assert [f["file"] for f in manifest["failures"]] == [str(bad)]
    assert "Traceback" not in result.output
    registry = open_registry(str(location), key=bytes.fromhex(KEY_HEX))
    try:
        assert registry.list_assets() == [] and registry.list_copies() == []
    finally:
        registry.close()
