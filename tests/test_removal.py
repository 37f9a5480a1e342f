"""A mark removed on purpose is proof of whose copy was altered, never an attribution.

Someone holding the original (a press photo published after launch) subtracts their copy's
difference from it. Removed exactly, nothing is left and the answer is inconclusive; removed
with an overshoot, the leak is anti-correlated with exactly that copy's pattern, which no
innocent leak can be: the verdict ``removed`` names that copy, with a p-value corrected for
both tails, exit code 7, and never names anyone else.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from leaktrace.cli import app
from leaktrace.engine.watermark.detect import attribute
from leaktrace.media.image.files import load_display_rgb

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "astronaut.jpg"
KEY = "7a" * 32
RECIPIENTS = [f"r{i}" for i in range(8)]


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": KEY})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("removal")
    registry = str(root / "registry")
    assert run("--registry", registry, "init").exit_code == 0
    for rid in RECIPIENTS:
        assert run("--registry", registry, "recipients", "add", rid, "--id", rid).exit_code == 0
    assert (
        run("--registry", registry, "mark", str(PHOTO), "--all", "--out", str(root)).exit_code == 0
    )
    return {"root": root, "registry": registry}


def subtracted(world, rid: str, k: float, quality: int | None = 90) -> Path:
    original = load_display_rgb(PHOTO).astype(np.float64)
    copy = load_display_rgb(world["root"] / rid / PHOTO.name).astype(np.float64)
    leak = np.clip(np.rint(copy - k * (copy - original)), 0, 255).astype(np.uint8)
    path = world["root"] / f"removed-{rid}-{k}-{quality}.{'jpg' if quality else 'png'}"
    buffer = io.BytesIO()
    if quality:
        Image.fromarray(leak).save(buffer, format="JPEG", quality=quality)
    else:
        Image.fromarray(leak).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def identify(world, path: Path):
    result = run("--registry", world["registry"], "identify", str(path), "--json")
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("k, quality", [(2.0, 90), (3.0, None)])
def test_an_overshot_subtraction_names_the_altered_copy_and_is_not_an_attribution(
    world, k, quality
):
    code, found = identify(world, subtracted(world, "r3", k, quality))
    assert code == 7
    assert found["verdict"] == "removed"
    assert found["recipient"]["id"] == "r3"
    assert found["p_value"] <= 1e-9
    removal = found["evidence"]["removal"]
    assert removal["id"] == "r3" and removal["score"] < -10
    assert removal["hypotheses_tested"] == 2 * found["evidence"]["hypotheses_tested"]
    assert found["significant"] == []  # nobody is attributed
    assert "not an attribution" in found["reason"]
    # every other copy's score is that of an innocent
    others = [c["score"] for c in found["candidates"] if c["id"] != "r3"]
    assert max(abs(z) for z in others) < 5


@pytest.mark.parametrize("k", [1.0, 0.9])
def test_a_removal_that_does_not_overshoot_names_nobody(world, k):
    code, found = identify(world, subtracted(world, "r5", k, 90))
    assert code == 4 and found["verdict"] == "inconclusive" and found["recipient"] is None


def test_the_text_output_and_the_report_say_removed(world, tmp_path):
    leak = subtracted(world, "r6", 2.5, 85)
    report = tmp_path / "removed.html"
    result = run("--registry", world["registry"], "identify", str(leak), "--report", str(report))
    assert result.exit_code == 7, result.output
    assert "Verdict: removed" in result.output
    assert "Mark removed from the copy of: r6" in result.output
    html = report.read_text()
    assert "Mark deliberately removed from a copy" in html and "not an attribution" in html


def test_the_lower_tail_is_corrected_for_both_tails():
    rng = np.random.default_rng(3)
    codes = rng.choice([-1, 1], size=(50, 1024)).astype(np.int8)
    decoys = rng.choice([-1, 1], size=(2048, 1024)).astype(np.int8)
    ids = [f"r{i}" for i in range(50)]
    y = -20.0 * codes[7] + rng.standard_normal(1024) * np.sqrt(1024)
    scores = attribute(y, codes, ids, decoys, bound=1e-9)
    assert scores.significant == [] and scores.removed == ["r7"]
    z7 = scores.z[scores.recipient_ids.index("r7")]
    from leaktrace.engine.watermark.detect import normal_sf

    assert scores.p_removal == pytest.approx(2 * 50 * normal_sf(np.array(-z7)), rel=1e-9)
    innocent = attribute(rng.standard_normal(1024), codes, ids, decoys, bound=1e-9)
    assert innocent.removed == [] and innocent.p_removal > 1e-3
