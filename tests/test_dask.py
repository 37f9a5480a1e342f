"""Marking and scanning on a Dask cluster give the same files and records as doing it locally.

A real ``distributed.LocalCluster`` with two worker processes stands in for a cluster; the command
line reaches it through ``--scheduler ADDRESS`` like any other, with the registry in PostgreSQL.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from leaktrace.batch.executors import ClusterError, make_executor
from leaktrace.cli import app
from leaktrace.registry import init_registry, open_registry

KEY = bytes(range(90, 122))
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def run(*args: str, registry: str):
    env = {"LEAKTRACE_KEY": KEY.hex(), "LEAKTRACE_REGISTRY": registry, "LEAKTRACE_WORKERS": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def _packet(root: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    packet = root / "packet"
    packet.mkdir()
    (packet / "rocket.jpg").write_bytes((FIXTURES / "photos" / "rocket.jpg").read_bytes())
    for index in range(2):
        art = np.clip(rng.normal(128, 40, (150, 220, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(art).save(packet / f"swatch-{index}.png")
    return packet


def _records(location: str) -> list[tuple]:
    with open_registry(location, key=KEY) as registry:
        return sorted(
            (c.asset_id, c.recipient_id, c.output_sha256, c.output_name, c.code)
            for c in registry.list_copies()
        )


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.mark.postgres
def test_local_cluster_gives_the_local_outputs_and_records(pg_database, tmp_path, cluster):
    init_registry(pg_database, key=KEY, originals_dir=str(tmp_path / "originals")).close()
    csv = tmp_path / "suppliers.csv"
    csv.write_text("id,name\nacme,ACME\nbolt,Bolt\ncogs,Cogs\n")
    packet = _packet(tmp_path, seed=21)
    mark = ["mark", str(packet), "--recipients", str(csv), "--json"]

    local = run(*mark, "--out", str(tmp_path / "local"), registry=pg_database)
    assert local.exit_code == 0, local.output
    local_records = _records(pg_database)
    assert len(local_records) == 9

    on_cluster = ["--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "dask")]
    dask = run(*mark, *on_cluster, registry=pg_database)
    assert dask.exit_code == 0, dask.output
    again = run(*mark, *on_cluster, registry=pg_database)
    assert again.exit_code == 6, again.output  # nothing left to do
    # The files really went through the cluster's scheduler, one task each.
    prefix = cluster.scheduler.task_prefixes["mark_file_job"]
    assert prefix.state_counts["memory"] == 2 * len(list(packet.iterdir()))  # two runs

    local_rows, dask_rows = json.loads(local.stdout)["copies"], json.loads(dask.stdout)["copies"]
    assert [(r["file"], r["recipient"], r["asset"], r["sha256"]) for r in dask_rows] == [
        (r["file"], r["recipient"], r["asset"], r["sha256"]) for r in local_rows
    ]
    assert all(r["status"] == "marked" for r in dask_rows)
    for a, b in zip(local_rows, dask_rows, strict=True):
        assert Path(b["output"]).read_bytes() == Path(a["output"]).read_bytes()
        assert Path(b["output"]).is_relative_to(tmp_path / "dask")
    # The cluster's copies are the same copies: recorded once, with the same codes.
    assert _records(pg_database) == local_records
    with open_registry(pg_database, key=KEY) as registry:
        assert registry.verify_audit().ok


def test_scheduler_needs_a_postgresql_registry(tmp_path):
    location = str(tmp_path / "registry")
    init_registry(location, key=KEY).close()
    photo = str(FIXTURES / "photos" / "astronaut.jpg")
    result = run(
        "mark", photo, "--all", "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9",
        registry=location,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "PostgreSQL" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unreachable_scheduler_and_missing_dask(monkeypatch):
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        make_executor(scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    with pytest.raises(ClusterError, match=r"pip install leaktrace\[dask\]"):
        make_executor(scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ValueError, match="workers"):
        make_executor(0)


@pytest.mark.postgres
def test_scan_on_a_local_cluster_gives_the_local_results(pg_database, tmp_path, cluster):
    init_registry(pg_database, key=KEY, originals_dir=str(tmp_path / "originals")).close()
    assert run("recipients", "add", "Acme", "--id", "acme", registry=pg_database).exit_code == 0
    assert run("recipients", "add", "Bolt", "--id", "bolt", registry=pg_database).exit_code == 0
    packet = _packet(tmp_path, seed=22)
    marked = run("mark", str(packet), "--all", "--out", str(tmp_path / "out"), registry=pg_database)
    assert marked.exit_code == 0, marked.output
    crawl = tmp_path / "crawl"
    (crawl / "forum").mkdir(parents=True)
    (crawl / "leak-acme.jpg").write_bytes((tmp_path / "out/acme/rocket.jpg").read_bytes())
    (crawl / "forum/leak-bolt.png").write_bytes((tmp_path / "out/bolt/swatch-1.png").read_bytes())
    (crawl / "forum/unrelated.jpg").write_bytes((FIXTURES / "unrelated/china.jpg").read_bytes())
    (crawl / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")

    local = run("scan", str(crawl), "--json", registry=pg_database)
    before = cluster.scheduler.task_prefixes.get("identify_one")
    done_before = before.state_counts["memory"] if before is not None else 0
    dask = run("scan", str(crawl), "--json", "--scheduler", cluster.scheduler_address,
               registry=pg_database)  # fmt: skip
    assert local.exit_code == dask.exit_code == 3  # one file failed, the rest were reported
    assert cluster.scheduler.task_prefixes["identify_one"].state_counts["memory"] == done_before + 4

    def summary(output: str) -> list[tuple]:
        records = [json.loads(line) for line in output.splitlines()]
        return [
            (
                Path(r["file"]).name,
                r["verdict"],
                (r.get("recipient") or {}).get("id"),
                r.get("p_value"),
            )
            for r in records
        ]

    assert summary(dask.stdout) == summary(local.stdout)
    verdicts = {name: (verdict, who) for name, verdict, who, _ in summary(local.stdout)}
    assert verdicts["leak-acme.jpg"] == ("attributed", "acme")
    assert verdicts["leak-bolt.png"] == ("attributed", "bolt")
    assert verdicts["unrelated.jpg"][0] == "unknown"
    assert verdicts["broken.jpg"][0] == "error"


def test_scan_scheduler_needs_a_postgresql_registry(tmp_path):
    location = str(tmp_path / "registry")
    init_registry(location, key=KEY).close()
    result = run("scan", str(FIXTURES / "photos"), "--scheduler", "tcp://127.0.0.1:9",
                 registry=location)  # fmt: skip
    assert result.exit_code == 1
    assert "PostgreSQL" in result.stderr and len(result.stderr.strip().splitlines()) == 1
