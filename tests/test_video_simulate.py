"""``leaktrace simulate`` on videos through the real command line: the video leak simulations by
name, a leak written atomically in the format the attack names, identified back to its
recipient; picture attacks asked of a video (and video attacks of a picture), unknown names and
unreadable videos refused with one line.

The clip is 2.5 s of a camera moving past a card (fixture photographs, parallax) at 480x270.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from leaktrace.cli import app
from leaktrace.media.video import scenes
from leaktrace.media.video.probe import probe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# A fixed key: the attribution case asserts a verdict for one set of marks.
KEY = "5d" * 32
SIZE = (480, 270)
GUILTY = "motor-daily"
ISSUE_ATTACKS = [
    "crf23",
    "crf28",
    "crf35",
    "720p",
    "480p",
    "trim10",
    "trim5",
    "trim2",
    "fps24",
    "crop50",
    "story",
    "stickers",
    "speed125",
    "screen",
    "phone",
    "frame_jpeg",
]


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": KEY})


def _photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / "photos" / name).convert("RGB"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("video-simulate")
    registry = str(root / "registry")
    assert run("--registry", registry, "init").exit_code == 0
    teaser = root / "teaser.mp4"
    rng = np.random.default_rng(7)
    footage = scenes.parallax(_photo("rocket.jpg"), _photo("coffee.png"), SIZE, 75, rng)
    scenes.write_clip(teaser, list(footage))
    csv_file = root / "outlets.csv"
    csv_file.write_text(f"id,name,email,org\nauto-weekly,Auto Weekly,,\n{GUILTY},Motor Daily,,\n")
    result = run(
        "--registry", registry, "mark", str(teaser), "--recipients", str(csv_file),
        "--out", str(root / "dist"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {"root": root, "registry": registry, "teaser": teaser, "dist": root / "dist"}


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".tmp" in p.name]


def test_list_shows_the_video_simulations_beside_the_picture_ones():
    result = run("simulate", "any.mp4", "--list")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line}
    assert set(ISSUE_ATTACKS) <= rows
    assert {"social480", "retype"} <= rows  # the picture and text ones are still listed


def test_a_simulated_reencode_is_identified_to_its_recipient_and_is_repeatable(world):
    source = world["dist"] / GUILTY / "teaser.mp4"
    leaks = [world["root"] / "repost.mp4", world["root"] / "repost-again.mp4"]
    for leak in leaks:
        result = run("simulate", str(source), "--attack", "crf28", "--seed", "3",
                     "--out", str(leak))  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "Wrote" in result.stdout and "crf28" in result.stdout
    assert leaks[0].read_bytes() == leaks[1].read_bytes()  # deterministic for --seed
    assert probe(leaks[0]).codec == "h264"
    assert not _leftovers(world["root"])
    result = run("--registry", world["registry"], "identify", str(leaks[0]), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "attributed" and report["recipient"]["id"] == GUILTY


def test_trim2_writes_a_two_second_clip_and_the_seed_picks_where(world, tmp_path):
    starts = []
    for seed in (1, 2):
        leak = tmp_path / f"trim-{seed}.mp4"
        result = run("simulate", str(world["teaser"]), "--attack", "trim2", "--seed", str(seed),
                     "--out", str(leak))  # fmt: skip
        assert result.exit_code == 0, result.output
        info = probe(leak)
        assert 1.8 <= info.duration_s <= 2.1 and info.frame_count in range(59, 63)
        starts.append(leak.read_bytes())
    assert starts[0] != starts[1]  # another seed, another excerpt


def test_frame_jpeg_writes_one_frame_as_a_jpeg(world, tmp_path):
    leak = tmp_path / "frame.jpg"
    result = run("simulate", str(world["teaser"]), "--attack", "frame_jpeg", "--out", str(leak))
    assert result.exit_code == 0, result.output
    assert leak.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(leak) as picture:
        assert picture.format == "JPEG" and picture.size == SIZE


@pytest.mark.parametrize(
    ("attack", "out_name", "words"),
    [
        ("social480", "leak.jpg", "is not a video simulation"),
        ("retype", "leak.txt", "is not a video simulation"),
        ("crf99", "leak.mp4", "is not a video simulation"),
        ("frame_jpeg", "leak.mp4", "name --out FILE with .jpg"),
        ("crf23", "leak.jpg", "name --out FILE with .mp4"),
    ],
)
def test_a_wrong_attack_for_a_video_gets_one_line(world, tmp_path, attack, out_name, words):
    result = run("simulate", str(world["teaser"]), "--attack", attack,
                 "--out", str(tmp_path / out_name))  # fmt: skip
    assert result.exit_code == 2
    errors = _errors(result)
    assert len(errors) == 1 and words in errors[0], result.stderr
    assert not list(tmp_path.iterdir())


def test_a_video_attack_asked_of_a_picture_gets_one_line(tmp_path):
    result = run("simulate", str(FIXTURES / "photos" / "rocket.jpg"), "--attack", "crf28",
                 "--out", str(tmp_path / "leak.mp4"))  # fmt: skip
    assert result.exit_code == 2
    errors = _errors(result)
    assert len(errors) == 1 and "simulates a video leak" in errors[0], result.stderr
    assert not list(tmp_path.iterdir())


def test_an_unreadable_video_gets_one_line_and_no_file(world, tmp_path):
    data = world["teaser"].read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (tmp_path / "noise.mkv").write_bytes(np.random.default_rng(0).bytes(20_000))
    for name in ("truncated.mp4", "noise.mkv", "missing.mp4"):
        result = run("simulate", str(tmp_path / name), "--attack", "crf28",
                     "--out", str(tmp_path / "out.mp4"))  # fmt: skip
        assert result.exit_code == 1, (name, result.output)
        errors = _errors(result)
        assert len(errors) == 1 and name in errors[0], (name, result.stderr)
        assert "Traceback" not in result.output
    assert not (tmp_path / "out.mp4").exists() and not _leftovers(tmp_path)
