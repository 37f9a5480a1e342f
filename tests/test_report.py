"""Evidence reports (``identify --report``): self-contained, complete, escaped, keyless, and
rendered by a real headless browser.

The browser test drives Debian's Chromium binary (``scripts/ensure-chromium`` installs it; no
Selenium or Playwright). Without a browser it skips, and on CI (``CI=true``) it fails.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import environment_missing
from leaktrace import __version__, api
from leaktrace.cli import app
from leaktrace.errors import InputError
from leaktrace.media.image.files import load_display_rgb
from leaktrace.pipeline.result import STATEMENT
from leaktrace.report import write_report
from leaktrace.simulate import run_attack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# A name with markup in it: the report must show it as text, never as HTML.
ACCUSED_NAME = 'Motor Daily <b>Weekly</b> & "Co"'
WINDOW = (1100, 1600)


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": None})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    rng = np.random.default_rng(21)
    root = tmp_path_factory.mktemp("report")
    registry_dir = root / "registry"
    registry = api.init_registry(str(registry_dir))
    api.add_recipient(registry, "Auto Weekly", recipient_id="auto-weekly")
    api.add_recipient(registry, ACCUSED_NAME, recipient_id="motor-daily")
    api.add_recipient(registry, "Gadget Review", recipient_id="gadget-review")
    original = FIXTURES / "photos" / "rocket.jpg"
    manifest = api.mark_files(registry, [original], root / "dist")
    registry.close()
    copy = next(c for c in manifest.copies if c.recipient_id == "motor-daily")
    data, extension = run_attack(
        "rotate5_crop", load_display_rgb(copy.output), seed=int(rng.integers(0, 2**31))
    )
    leaks = {
        "attributed": root / f"leak{extension}",
        "inconclusive": root / "original.jpg",
        "unknown": root / "unrelated.jpg",
    }
    leaks["attributed"].write_bytes(data)
    leaks["inconclusive"].write_bytes(original.read_bytes())
    leaks["unknown"].write_bytes((FIXTURES / "unrelated" / "china.jpg").read_bytes())
    reports, outputs = {}, {}
    for verdict, leak in leaks.items():
        reports[verdict] = root / "reports" / f"{verdict}.html"
        result = run(
            "--registry", str(registry_dir), "identify", str(leak), "--json",
            "--report", str(reports[verdict]),
        )  # fmt: skip
        assert result.exit_code == (0 if verdict == "attributed" else 4), result.output
        outputs[verdict] = result
    return {
        "root": root,
        "registry": str(registry_dir),
        "key": (registry_dir / "key").read_text().strip(),
        "original": original,
        "copy": copy,
        "leaks": leaks,
        "reports": reports,
        "outputs": outputs,
    }


class _Links(HTMLParser):
    """Every tag with its attributes, and the text of <style> and <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("style", "script") else None

    def handle_data(self, data):
        if self._in:
            self.inline.append(data)


def parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("verdict", ["attributed", "inconclusive", "unknown"])
def test_report_is_self_contained(world, verdict):
    text = world["reports"][verdict].read_text(encoding="utf-8")
    parsed = parse(world["reports"][verdict])
    assert not re.search(r"(?i)\b(https?|ftp):|//[a-z0-9.-]+\.[a-z]{2,}/", text)
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "iframe", "object", "embed", "base")
        if tag == "script":
            assert "src" not in attrs
    for style in parsed.inline:
        assert "url(" not in style and "@import" not in style
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) == {"attributed": 3, "inconclusive": 3, "unknown": 1}[verdict]
    for attrs in images:
        assert attrs["src"].startswith("data:image/png;base64,")
        picture = Image.open(io.BytesIO(base64.b64decode(attrs["src"].split(",", 1)[1])))
        assert picture.format == "PNG" and min(picture.size) > 100
        assert attrs.get("alt")


def test_attributed_report_holds_the_evidence(world):
    text = world["reports"]["attributed"].read_text(encoding="utf-8")
    record = json.loads(world["outputs"]["attributed"].stdout)
    flat = " ".join(text.split())
    assert record["sha256"] in text
    assert record["asset"]["sha256"] in text and world["original"].name in text
    assert world["copy"].sha256 in text  # the distribution record of the accused copy
    assert "motor-daily" in text
    assert ACCUSED_NAME in html.unescape(text)
    assert html.escape(STATEMENT) in flat
    registration = record["evidence"]["registration"]
    assert registration["method"] in text and f"{registration['ncc']:.4f}" in text
    assert f"{record['p_value']:.2e}" in text
    hypotheses = record["evidence"]["hypotheses_tested"]
    assert f"number of hypotheses tested, {hypotheses}" in flat
    assert f"{record['evidence']['null']['decoys']} decoy codes" in flat
    assert f"leaktrace {__version__}" in text


def test_names_are_escaped_not_interpreted(world):
    text = world["reports"]["attributed"].read_text(encoding="utf-8")
    assert "<b>Weekly</b>" not in text
    assert "Motor Daily &lt;b&gt;Weekly&lt;/b&gt; &amp; &#34;Co&#34;" in text


@pytest.mark.parametrize(
    ("verdict", "says"),
    [
        ("inconclusive", "no recipient&#39;s mark is significant"),
        ("unknown", "the image matches no registered asset"),
    ],
)
def test_reports_of_unattributed_leaks_say_so_and_why(world, verdict, says):
    text = world["reports"][verdict].read_text(encoding="utf-8")
    assert f'class="verdict {verdict}"' in text
    assert says in text
    assert html.escape(STATEMENT) in " ".join(text.split())


def test_key_appears_in_no_report_or_output(world):
    key = world["key"]
    raw = bytes.fromhex(key)
    forms = [key.lower(), key.upper(), base64.b64encode(raw).decode()]
    for verdict, report in world["reports"].items():
        text = report.read_text(encoding="utf-8")
        output = world["outputs"][verdict]
        for form in forms:
            assert form not in text
            assert form not in output.stdout and form not in output.stderr


def test_unwritable_report_is_a_one_line_error(world, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run(
        "--registry", world["registry"], "identify", str(world["leaks"]["unknown"]), "--json",
        "--report", str(blocker / "report.html"),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("leaktrace: error: ") and result.stderr.count("\n") == 1


def test_report_refuses_a_leak_that_changed_since_identified(world, tmp_path):
    rng = np.random.default_rng(4)
    leak = tmp_path / "leak.jpg"
    leak.write_bytes(world["leaks"]["unknown"].read_bytes())
    registry = api.open_registry(world["registry"])
    try:
        result = api.identify(registry, leak)
        leak.write_bytes(rng.integers(0, 256, 64, dtype=np.uint8).tobytes())
        with pytest.raises(InputError, match="changed after it was identified"):
            write_report(registry, result, tmp_path / "report.html")
    finally:
        registry.close()
    assert not (tmp_path / "report.html").exists()


# ----------------------------------------------------------------------- a real browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    environment_missing(
        "no chromium on PATH: run scripts/ensure-chromium (as root it installs Debian's chromium)"
    )


def render(report: Path, out_dir: Path) -> tuple[str, str, Path]:
    """Load the report in headless Chromium: (the DOM after load, the log, a screenshot)."""
    browser = chromium()
    screenshot = out_dir / f"{report.stem}.png"
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={out_dir / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--screenshot={screenshot}",
            "--dump-dom",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,  # a hang guard, not a speed check
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr, screenshot


def render_status(dom: str) -> str:
    match = re.search(r'<html[^>]* data-render-status="([^"]*)"', dom)
    assert match, dom[:500]
    return html.unescape(match.group(1))


@pytest.mark.parametrize("verdict", ["attributed", "unknown"])
def test_report_renders_in_headless_chromium(world, verdict, tmp_path):
    rng = np.random.default_rng(8)
    report = world["reports"][verdict]
    dom, log, screenshot = render(report, tmp_path)
    assert render_status(dom) == "ok"
    images = report.read_text(encoding="utf-8").count("<img ")
    assert f'data-images="{images}"' in dom
    assert "INFO:CONSOLE" not in log, [line for line in log.splitlines() if "CONSOLE" in line]
    picture = np.asarray(Image.open(screenshot).convert("RGB"))
    assert picture.shape[:2] == (WINDOW[1], WINDOW[0])
    # Not a blank page: sampled rows differ, and the page shows more than a handful of colours.
    rows = picture[rng.choice(picture.shape[0], 64, replace=False)]
    assert rows.std() > 10
    assert len(np.unique(picture.reshape(-1, 3)[::97], axis=0)) > 50


def test_browser_check_catches_a_broken_picture(world, tmp_path):
    rng = np.random.default_rng(9)
    text = world["reports"]["attributed"].read_text(encoding="utf-8")
    uris = re.findall(r'src="(data:image/png;base64,[^"]+)"', text)
    victim = uris[int(rng.integers(0, len(uris)))]
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace(victim, "data:image/png;base64,AAAA"), encoding="utf-8")
    dom, _, _ = render(broken, tmp_path)
    status = render_status(dom)
    assert status.startswith("error:") and "image not rendered" in status
