"""``leaktrace scan``: a folder of leaks, one summary, through the real command line.

The folder holds marked copies after simulated leaks (three of them, for two recipients), the
unmarked original, an unrelated photo, a truncated JPEG, a PDF, a nested sub-folder, a hidden
folder and a text file. The scan runs once in-process and once in two worker processes.
"""

from __future__ import annotations

import json
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from leaktrace import api
from leaktrace.batch.scan import identify_one, scan_folder
from leaktrace.cli import app
from leaktrace.media.image.files import load_display_rgb
from leaktrace.simulate import run_attack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECIPIENTS = ["auto-weekly", "motor-daily", "gadget-review"]
# relative path -> (verdict, recipient); what the scan must find.
EXPECTED = {
    "a-social480.jpg": ("attributed", "motor-daily"),
    "b-crop25.jpg": ("attributed", "gadget-review"),
    "corrupt.jpg": ("error", None),
    "press/statement.pdf": ("error", None),
    "sub/c-screenshot75.png": ("attributed", "motor-daily"),
    "sub/deeper/original.jpg": ("inconclusive", None),
    "unrelated.jpg": ("unknown", None),
}


def run(*args: str):
    # A wide terminal, so that table rows keep each file's path on one line.
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": None, "COLUMNS": "160"})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    rng = np.random.default_rng(5)
    root = tmp_path_factory.mktemp("scan")
    registry_dir = root / "registry"
    registry = api.init_registry(str(registry_dir))
    for rid in RECIPIENTS:
        api.add_recipient(registry, rid.replace("-", " ").title(), recipient_id=rid)
    photo = FIXTURES / "photos" / "rocket.jpg"
    api.mark_files(registry, [photo], root / "dist")
    registry.close()
    leaks = root / "leaks"
    leaks.mkdir()
    seeds = iter(rng.integers(0, 2**31, size=3).tolist())
    for name, source, attack in [
        ("a-social480", "motor-daily/rocket.jpg", "social480"),
        ("b-crop25", "gadget-review/rocket.jpg", "crop25"),
        ("sub/c-screenshot75", "motor-daily/rocket.jpg", "screenshot75"),
    ]:
        data, extension = run_attack(
            attack, load_display_rgb(root / "dist" / source), seed=next(seeds)
        )
        target = leaks / f"{name}{extension}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (leaks / "sub" / "deeper").mkdir()
    (leaks / "sub" / "deeper" / "original.jpg").write_bytes(photo.read_bytes())
    (leaks / "unrelated.jpg").write_bytes((FIXTURES / "unrelated" / "china.jpg").read_bytes())
    whole = (root / "dist" / "auto-weekly" / "rocket.jpg").read_bytes()
    (leaks / "corrupt.jpg").write_bytes(whole[: len(whole) // 3])
    (leaks / "press").mkdir()
    (leaks / "press" / "statement.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    # Neither is scanned: a hidden folder (a registry kept beside the leaks) and a non-image.
    (leaks / ".cache").mkdir()
    (leaks / ".cache" / "copy.jpg").write_bytes(whole)
    (leaks / "notes.txt").write_text("found on a forum")
    return {"root": root, "registry": str(registry_dir), "leaks": leaks}


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture(scope="module")
def serial(world):
    result = run(
        "--registry", world["registry"], "scan", str(world["leaks"]), "--json", "--workers", "1"
    )
    return result


@pytest.fixture(scope="module")
def parallel(world):
    return run(
        "--registry", world["registry"], "scan", str(world["leaks"]), "--json", "--workers", "2"
    )


def by_relative(world, records: list[dict]) -> dict[str, dict]:
    return {Path(r["file"]).relative_to(world["leaks"]).as_posix(): r for r in records}


def test_json_is_one_record_per_file_in_path_order(world, serial):
    assert serial.exit_code == 3, serial.output  # two files failed
    assert serial.stderr == ""
    records = json_lines(serial.stdout)
    relatives = [Path(r["file"]).relative_to(world["leaks"]).as_posix() for r in records]
    assert relatives == sorted(EXPECTED)


def test_every_file_gets_the_right_verdict_and_recipient(world, serial):
    records = by_relative(world, json_lines(serial.stdout))
    for relative, (verdict, recipient) in EXPECTED.items():
        record = records[relative]
        assert record["verdict"] == verdict, (relative, record.get("reason"), record.get("error"))
        if verdict == "attributed":
            assert record["recipient"]["id"] == recipient
            assert record["p_value"] <= 1e-9
            assert record["asset"]["file"] == "rocket.jpg"
        elif verdict != "error":
            assert record["recipient"] is None and record["p_value"] is None


def test_records_have_the_shape_of_identify_json(world, serial):
    records = by_relative(world, json_lines(serial.stdout))
    single = run(
        "--registry",
        world["registry"],
        "identify",
        str(world["leaks"] / "a-social480.jpg"),
        "--json",
    )
    assert single.exit_code == 0, single.output
    expected = json.loads(single.stdout)
    record = records["a-social480.jpg"]
    assert set(record) == set(expected)
    assert record["file"] == str(world["leaks"] / "a-social480.jpg")
    assert record["candidates"] == expected["candidates"]


def test_failed_files_are_listed_with_their_reason(world, serial):
    records = by_relative(world, json_lines(serial.stdout))
    corrupt = records["corrupt.jpg"]
    assert set(corrupt) == {"file", "verdict", "error"}
    assert "truncated or corrupt" in corrupt["error"]
    assert "not a readable PDF" in records["press/statement.pdf"]["error"]


def test_two_workers_give_the_same_records(serial, parallel):
    assert parallel.exit_code == 3, parallel.output
    assert json_lines(parallel.stdout) == json_lines(serial.stdout)


def test_report_dir_holds_one_report_per_file_and_an_index(world, tmp_path):
    reports = tmp_path / "reports"
    result = run(
        "--registry",
        world["registry"],
        "scan",
        str(world["leaks"] / "sub"),
        "--json",
        "--workers",
        "1",
        "--report-dir",
        str(reports),
    )
    assert result.exit_code == 0, result.output
    records = json_lines(result.stdout)
    assert [r["report"] for r in records] == [
        str(reports / "c-screenshot75.png.html"),
        str(reports / "deeper" / "original.jpg.html"),
    ]
    for record in records:
        assert record["sha256"] in Path(record["report"]).read_text(encoding="utf-8")
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert 'href="c-screenshot75.png.html"' in index
    assert 'href="deeper/original.jpg.html"' in index
    assert "2 files: 1 attributed, 1 inconclusive." in " ".join(index.split())


def test_human_summary_lists_files_and_totals_per_recipient(world):
    result = run("--registry", world["registry"], "scan", str(world["leaks"]), "--workers", "1")
    assert result.exit_code == 3, result.output
    text = result.stdout
    assert "Identifying" not in text  # no progress bar when stdout is not a terminal
    lines = text.splitlines()
    for relative, (verdict, recipient) in EXPECTED.items():
        row = [line for line in lines if f" {relative} " in line]
        assert len(row) == 1 and f" {verdict} " in row[0], (relative, row)
        assert recipient is None or f" {recipient} " in row[0]
    totals = text[text.index("Totals per recipient") :]
    counts = {
        rid: int(line.split("│")[3])
        for line in totals.splitlines()
        for rid in RECIPIENTS
        if f" {rid} " in line
    }
    assert counts == {"motor-daily": 2, "gadget-review": 1}
    assert "corrupt.jpg: truncated or corrupt image" in text
    assert "7 files: 3 attributed, 1 inconclusive, 1 unknown, 2 failed" in text


def test_key_never_printed(world, serial):
    key = (Path(world["registry"]) / "key").read_text().strip()
    assert key.lower() not in serial.stdout.lower()
    assert key.lower() not in serial.stderr.lower()


@pytest.mark.parametrize(
    ("files", "code"),
    [(["a-social480.jpg"], 0), (["unrelated.jpg", "sub/deeper/original.jpg"], 4)],
)
def test_exit_code_says_whether_anyone_was_attributed(world, tmp_path, files, code):
    rng = np.random.default_rng(11)
    folder = tmp_path / "some"
    folder.mkdir()
    for name in rng.permutation(files):
        (folder / Path(name).name).write_bytes((world["leaks"] / name).read_bytes())
    result = run("--registry", world["registry"], "scan", str(folder), "--workers", "1")
    assert result.exit_code == code, result.output


def test_missing_folder_and_registry_are_one_line_errors(world, tmp_path):
    result = run("--registry", world["registry"], "scan", str(tmp_path / "nothing"))
    assert result.exit_code == 1
    assert result.stderr.startswith("leaktrace: error: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""
    result = run("--registry", str(tmp_path / "no-registry"), "scan", str(world["leaks"]))
    assert result.exit_code == 1
    assert "run leaktrace init" in result.stderr


def test_any_executor_runs_the_picklable_work_function(world):
    rng = np.random.default_rng(3)
    assert pickle.loads(pickle.dumps(identify_one)) is identify_one
    workers = int(rng.integers(2, 4))
    with ThreadPoolExecutor(max_workers=workers) as executor:
        scan = scan_folder(world["registry"], None, world["leaks"] / "sub", executor=executor)
        assert scan.total == 2
        results = list(scan)
    assert [r.relative for r in results] == ["c-screenshot75.png", "deeper/original.jpg"]
    assert [r.verdict for r in results] == ["attributed", "inconclusive"]
    assert results[0].recipient["id"] == "motor-daily"


def _thread_counts() -> dict:
    import cv2
    from threadpoolctl import threadpool_info

    from leaktrace.batch.executors import one_thread_per_worker

    one_thread_per_worker()
    return {
        "opencv": cv2.getNumThreads(),
        "pools": {info["filepath"]: info["num_threads"] for info in threadpool_info()},
    }


def test_a_worker_process_runs_one_thread_in_every_native_pool():
    # Two workers on two CPUs must not each start a thread per CPU: OpenBLAS's idle threads
    # spin and stall the other worker. cv2 ships a BLAS of its own, loaded after numpy's.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        counts = pool.submit(_thread_counts).result()
    assert counts["opencv"] == 1
    assert counts["pools"], "no native thread pool found: numpy's BLAS should be one"
    assert set(counts["pools"].values()) == {1}, counts["pools"]
