"""Two ``leaktrace mark`` processes on one registry at the same time lose no record and record
nothing twice, on SQLite and on PostgreSQL.

Both are real OS processes of the command line. Their recipient lists overlap, so both add the
shared recipients and mark the same files for them at once, into the same output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from leaktrace.registry import Recipient, init_registry, open_registry

KEY = bytes(range(50, 82))
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _packet(root: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    packet = root / "packet"
    packet.mkdir()
    (packet / "astronaut.jpg").write_bytes((FIXTURES / "photos" / "astronaut.jpg").read_bytes())
    for index in range(3):
        base = rng.integers(60, 200, 3)
        art = np.clip(rng.normal(base, 25, (160, 200, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(art).save(packet / f"part-{index}.png")
    return packet


def _csv(path: Path, ids: list[str]) -> Path:
    path.write_text("id,name\n" + "".join(f"{rid},Supplier {rid}\n" for rid in ids))
    return path


def _start(location: str, packet: Path, csv: Path, out: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "LEAKTRACE_KEY": KEY.hex(),
        "LEAKTRACE_REGISTRY": location,
        "LEAKTRACE_WORKERS": "1",
    }
    command = [sys.executable, "-c", "from leaktrace.cli import main; main()", "mark", str(packet)]
    command += ["--recipients"]
    command += [str(csv), "--out", str(out), "--json"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_mark_processes_at_once(registry_location, tmp_path):
    originals = str(tmp_path / "originals") if "://" in registry_location else None
    with init_registry(registry_location, key=KEY, originals_dir=originals) as registry:
        registry.add_recipient(Recipient("s1", "Supplier s1"))  # known before the batches
    packet = _packet(tmp_path, seed=11)
    lists = [["s1", "s2", "s3", "s4"], ["s3", "s4", "s5", "s6"]]
    csvs = [_csv(tmp_path / f"list-{i}.csv", ids) for i, ids in enumerate(lists)]
    dist = tmp_path / "dist"

    procs = [_start(registry_location, packet, csv, dist) for csv in csvs]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr.decode()
    manifests = [json.loads(stdout) for stdout, _ in outputs]

    files = sorted(p.name for p in packet.iterdir())
    everyone = sorted(set(lists[0]) | set(lists[1]))
    with open_registry(registry_location, key=KEY) as registry:
        assert [r.id for r in registry.list_recipients()] == everyone
        copies = registry.list_copies()
        pairs = [(c.asset_id, c.recipient_id) for c in copies]
        assert len(pairs) == len(set(pairs)) == len(files) * len(everyone)  # none lost, none twice
        assert len(registry.list_assets()) == len(files)
        recorded = {(c.recipient_id, c.output_name): c.output_sha256 for c in copies}
        for manifest in manifests:
            assert manifest["failures"] == []
            for row in manifest["copies"]:  # what each process reported is what is recorded
                name = Path(row["file"]).name
                assert recorded[(row["recipient"], name)] == row["sha256"]
        for (rid, name), sha in recorded.items():
            output = dist / rid / name
            assert hashlib.sha256(output.read_bytes()).hexdigest() == sha
        report = registry.verify_audit()
        assert report.ok, report.reason
        seqs = [entry.seq for entry in registry.list_audit()]
        assert seqs == list(range(1, len(seqs) + 1))
        added = [e.detail["id"] for e in registry.list_audit() if e.action == "recipient added"]
        assert sorted(added) == everyone  # s3 and s4 were listed by both: added once
    added_by = [set(m["recipients_added"]) for m in manifests]
    assert added_by[0].isdisjoint(added_by[1])
    assert added_by[0] | added_by[1] == set(everyone) - {"s1"}
