"""Unusual and hostile input through the real CLI: every file is either marked properly or refused
with one clear line, and nothing is lost — no partial output, no copy recorded without its file,
the registry's audit chain intact.

tests/test_cli_errors.py covers the plain cases (corrupt, truncated, text, bomb, usage); this file
covers pixel modes and containers, registry states, full and read-only disks, and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from conftest import environment_missing, read_only_paths
from leaktrace import api
from leaktrace.cli import app
from leaktrace.errors import RegistryError
from leaktrace.media.image.files import load_display_rgb
from leaktrace.simulate import run_attack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROCKET = FIXTURES / "photos" / "rocket.jpg"
LEAKTRACE = Path(sys.executable).with_name("leaktrace")
RECIPIENTS = ("alice", "bob")


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"LEAKTRACE_KEY": None})


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEAKTRACE_")}


def run_process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The installed console script in its own process: what a user or a CI job runs."""
    return subprocess.run(
        [str(LEAKTRACE), *args],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=timeout,
    )


def assert_one_line_error(result, code: int, *needles: str) -> str:
    """``result`` from CliRunner or subprocess: exit code, then exactly one clear stderr line."""
    returned = getattr(result, "returncode", getattr(result, "exit_code", None))
    assert returned == code, (returned, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leaktrace: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def new_registry(folder: Path, recipients: tuple[str, ...] = RECIPIENTS) -> str:
    """A registry with recipients, made through the library and closed: no connection of this
    process stays open on it while other processes use it."""
    location = str(folder / "registry")
    with api.init_registry(location) as registry:
        for rid in recipients:
            api.add_recipient(registry, rid.title(), recipient_id=rid)
    return location


def registry_state(location: str) -> tuple:
    """Everything a failed command must leave unchanged; asserts the audit chain holds."""
    with api.open_registry(location) as registry:
        assert registry.verify_audit().ok
        assets = sorted(a.sha256 for a in registry.list_assets())
        copies = sorted(
            (c.asset_id, c.recipient_id, c.output_sha256) for c in registry.list_copies()
        )
        return assets, copies, len(registry.list_audit())


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder`` (hidden temporary files included), relative and sorted."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_copies_match_files(location: str, out: Path, only: str | None = None) -> list:
    """Every recorded copy (named ``only``, if given) has its file in ``out`` with the recorded
    SHA-256; no temporary files are left."""
    with api.open_registry(location) as registry:
        assert registry.verify_audit().ok
        copies = [c for c in registry.list_copies() if only in (None, c.output_name)]
    for copy in copies:
        path = out / copy.recipient_id / copy.output_name
        assert path.is_file(), f"copy recorded without its file: {path}"
        assert sha256_file(path) == copy.output_sha256
    assert not [name for name in files_under(out) if name.endswith(".tmp")]
    return copies


# ------------------------------------------------------------------------ pixel modes, containers


# A different picture per case: the same picture registered twice is two assets that both match.
PICTURES = {
    "palette.png": "drafts/cad_bumper.png",
    "palette_alpha.png": "drafts/ui_mockup.png",
    "gray.jpg": "photos/astronaut.jpg",
    "gray.png": "photos/retina.jpg",
    "rgba.png": "photos/coffee.png",
    "la.png": "photos/chelsea.jpg",
}


def _picture(name: str) -> np.ndarray:
    """At most 360 px on the long side: social480 leaves the size alone and only the JPEG
    step attacks it."""
    im = Image.open(FIXTURES / PICTURES[name]).convert("RGB")
    im.thumbnail((360, 360), Image.Resampling.LANCZOS)
    return np.asarray(im)


def _soft_border_alpha(height: int, width: int) -> np.ndarray:
    """Opaque inside, fading to fully transparent over a 24-pixel border."""
    y = np.minimum(np.arange(height), np.arange(height)[::-1])[:, None]
    x = np.minimum(np.arange(width), np.arange(width)[::-1])[None, :]
    return np.clip(np.minimum(y, x) * (255 / 24), 0, 255).astype(np.uint8)


def markable_source(name: str, folder: Path) -> Path:
    rgb = _picture(name)
    path = folder / name
    height, width = rgb.shape[:2]
    alpha = _soft_border_alpha(height, width)
    if name == "palette.png":
        Image.fromarray(rgb).quantize(255).save(path)
    elif name == "palette_alpha.png":
        im = Image.fromarray(rgb).quantize(255)
        ImageDraw.Draw(im).rectangle((0, 0, width - 1, height - 1), outline=255, width=12)
        im.save(path, transparency=255)
    elif name == "gray.jpg":
        Image.fromarray(rgb).convert("L").save(path, quality=90)
    elif name == "gray.png":
        Image.fromarray(rgb).convert("L").save(path)
    elif name == "rgba.png":
        Image.fromarray(np.dstack([rgb, alpha])).save(path)
    elif name == "la.png":
        gray = Image.fromarray(rgb).convert("L")
        Image.merge("LA", (gray, Image.fromarray(alpha))).save(path)
    return path


# (source name, Pillow mode of the marked copy). A palette cannot hold a mark's extra colours,
# so palette sources become RGB (RGBA with their transparency).
MARKABLE = {
    "palette.png": "RGB",
    "palette_alpha.png": "RGBA",
    "gray.jpg": "L",
    "gray.png": "L",
    "rgba.png": "RGBA",
    "la.png": "LA",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bad-input")
    location = new_registry(root)
    result = run("--registry", location, "mark", str(ROCKET), "--all", "--out", str(root / "dist"))
    assert result.exit_code == 0, result.output
    return {"root": root, "registry": location, "bob_copy": root / "dist" / "bob" / ROCKET.name}


def identify_json(location: str, leak: Path) -> tuple[int, dict]:
    result = run("--registry", location, "identify", str(leak), "--json")
    assert result.exit_code in (0, 4), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(scope="module")
def marked(world) -> dict[str, Path]:
    """Every MARKABLE source, marked for both recipients in one batch: name -> output folder."""
    kit = world["root"] / "modes"
    kit.mkdir()
    for name in MARKABLE:
        markable_source(name, kit)
    out = world["root"] / "modes-out"
    result = run("--registry", world["registry"], "mark", str(kit), "--all", "--out", str(out))
    assert result.exit_code == 0, result.output
    return {"kit": kit, "out": out}


@pytest.mark.parametrize("name", sorted(MARKABLE))
def test_unusual_pixel_modes_are_marked_keeping_mode_and_alpha(world, marked, name):
    with Image.open(marked["kit"] / name) as original:
        original_format = original.format
        original_rgba = np.asarray(original.convert("RGBA"))
    for rid in RECIPIENTS:
        with Image.open(marked["out"] / rid / name) as copy:
            assert (copy.format, copy.mode) == (original_format, MARKABLE[name])
            copy_rgba = np.asarray(copy.convert("RGBA"))
        np.testing.assert_array_equal(copy_rgba[..., 3], original_rgba[..., 3])
        change = np.abs(copy_rgba[..., :3].astype(int) - original_rgba[..., :3]).mean()
        assert 0 < change < 3
    copies = assert_copies_match_files(world["registry"], marked["out"], only=name)
    assert sorted(c.recipient_id for c in copies) == sorted(RECIPIENTS)


# Transparent images included: a leak shows them flattened onto white, and identify compares it
# with the original flattened the same way (this was a bug, found by this test).
@pytest.mark.parametrize("name", sorted(MARKABLE))
def test_unusual_pixel_modes_are_identified_after_social480(world, marked, tmp_path, name):
    copy = load_display_rgb(marked["out"] / "bob" / name)
    data, extension = run_attack("social480", copy, seed=5)
    leak = tmp_path / f"leak{extension}"
    leak.write_bytes(data)
    code, found = identify_json(world["registry"], leak)
    assert found["asset"]["file"] == name
    recipient = (found["recipient"] or {}).get("id")
    assert (code, found["verdict"], recipient) == (0, "attributed", "bob"), found["reason"]


def _frames(first: np.ndarray) -> list[Image.Image]:
    return [Image.fromarray(first), Image.fromarray(np.ascontiguousarray(first[::-1]))]


def leak_in_format(name: str, copy_rgb: np.ndarray, folder: Path) -> Path:
    """A leak of a marked copy in a format that leaktrace reads but will not mark."""
    path = folder / name
    if name == "gray16.png":
        gray = np.asarray(Image.fromarray(copy_rgb).convert("L"), dtype=np.uint16) * 257
        Image.fromarray(gray).save(path)
    elif name in ("rgb16.png", "rgb16.tif"):
        assert cv2.imwrite(str(path), copy_rgb[..., ::-1].astype(np.uint16) * 257)
    elif name == "cmyk.jpg":
        Image.fromarray(copy_rgb).convert("CMYK").save(path, quality=95)
    elif name in ("animated.gif", "animated.png", "animated.webp"):
        first, *rest = _frames(copy_rgb)
        extra = {"lossless": True} if name.endswith(".webp") else {}
        first.save(path, save_all=True, append_images=rest, duration=100, loop=0, **extra)
    return path


# name -> what the refusal to mark it says. Each is still read as a leak, and attributed.
UNMARKABLE = {
    "gray16.png": "8 bits",
    "rgb16.png": "8 bits",
    "rgb16.tif": "8 bits",
    "cmyk.jpg": "convert to RGB",
    "animated.gif": "GIF files cannot be marked",
    "animated.png": "extract one frame",
    "animated.webp": "extract one frame",
}


@pytest.mark.parametrize("name", sorted(UNMARKABLE))
def test_unmarkable_formats_are_refused_but_read_as_leaks(world, tmp_path, name):
    hint = UNMARKABLE[name]
    leak = leak_in_format(name, load_display_rgb(world["bob_copy"]), tmp_path)
    with Image.open(leak) as im:  # the file really is what its name says
        assert getattr(im, "n_frames", 1) == (2 if name.startswith("animated") else 1)
    before = registry_state(world["registry"])
    out = tmp_path / "out"
    result = run("--registry", world["registry"], "mark", str(leak), "--all", "--out", str(out))
    assert_one_line_error(result, 1, name, hint)
    assert files_under(out) == []
    assert registry_state(world["registry"]) == before

    code, found = identify_json(world["registry"], leak)
    assert found["asset"]["file"] == ROCKET.name
    assert (code, found["verdict"], found["recipient"]["id"]) == (0, "attributed", "bob")


def refused_file(name: str, folder: Path) -> Path:
    path = folder / name
    if name in ("encrypted.pdf", "truncated.pdf"):
        with pikepdf.new() as pdf:
            pdf.add_blank_page(page_size=(200, 100))
            if name == "encrypted.pdf":  # no password given: refused with a hint
                pdf.save(path, encryption=pikepdf.Encryption(owner="owner", user="reader"))
            else:
                pdf.save(path)
        if name == "truncated.pdf":
            path.write_bytes(path.read_bytes()[:300])
    elif name == "zero-bytes.webp":
        path.write_bytes(b"")
    elif name == "folder.jpg":
        path.mkdir()
        (path / "notes.log").write_text("not an image")
    return path


# name -> what the one line must say, for mark and for identify.
REFUSED = {
    "encrypted.pdf": ("the PDF is encrypted; give its password", "the PDF is encrypted"),
    "truncated.pdf": ("not a readable PDF", "not a readable PDF"),
    "zero-bytes.webp": ("file is empty", "file is empty"),
    "folder.jpg": ("no image, PDF or text files found", "Is a directory"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unreadable_files_are_refused_by_mark_and_identify(world, tmp_path, name):
    mark_says, identify_says = REFUSED[name]
    path = refused_file(name, tmp_path)
    if name.endswith(".pdf"):
        assert path.read_bytes().startswith(b"%PDF-")
    before = registry_state(world["registry"])
    out = tmp_path / "out"
    result = run("--registry", world["registry"], "mark", str(path), "--all", "--out", str(out))
    assert_one_line_error(result, 1, mark_says)
    assert files_under(out) == []
    result = run("--registry", world["registry"], "identify", str(path), "--json")
    assert_one_line_error(result, 1, name, identify_says)
    assert result.stdout == ""  # --json prints nothing rather than half an answer
    assert registry_state(world["registry"]) == before


# ------------------------------------------------------------------------------ registry states


@pytest.mark.parametrize("command", ["mark", "identify"])
def test_missing_registry_creates_nothing(tmp_path, command):
    location = tmp_path / "nowhere"
    out = tmp_path / "out"
    args = [str(ROCKET), "--all", "--out", str(out)] if command == "mark" else [str(ROCKET)]
    result = run("--registry", str(location), command, *args)
    assert_one_line_error(result, 1, str(location), "leaktrace init")
    assert not location.exists() and not out.exists()


@contextlib.contextmanager
def write_lock(location: str) -> Iterator[sqlite3.Connection]:
    """Another process's view: a connection holding the database's write lock."""
    holder = sqlite3.connect(
        Path(location) / "registry.sqlite", isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


def test_locked_registry_gives_up_after_the_timeout_and_loses_nothing(tmp_path):
    # Through the library: the CLI waits 30 s and has no setting for a shorter wait yet.
    location = new_registry(tmp_path)
    before = registry_state(location)
    out = tmp_path / "out"
    with write_lock(location), api.open_registry(location, timeout=1) as registry:
        with pytest.raises(RegistryError, match="locked") as raised:
            api.mark_files(registry, [ROCKET], out, recipient_ids=["alice"])
        assert "try again" in str(raised.value)
        # Identification reads freely but cannot write its audit row, so it reports the lock.
        with pytest.raises(RegistryError, match="locked"):
            api.identify(registry, ROCKET)
    assert files_under(out) == []
    assert registry_state(location) == before
    with api.open_registry(location, timeout=1) as registry:
        report = api.mark_files(registry, [ROCKET], out, recipient_ids=["alice"])
    assert [c.recipient_id for c in report.copies] == ["alice"]
    assert_copies_match_files(location, out)


def test_cli_waits_out_a_brief_lock(tmp_path):
    location = new_registry(tmp_path)
    out = tmp_path / "out"
    features = Path(location) / "originals" / "blobs"

    def release_once_mark_must_write(holder: sqlite3.Connection) -> None:
        # The features blob is written just before the asset row: from then on the CLI is
        # blocked on the lock, and must wait for it rather than fail.
        for _ in range(6000):
            if any(features.rglob("*.npz")):
                break
            time.sleep(0.01)
        time.sleep(0.5)
        holder.execute("ROLLBACK")

    with write_lock(location) as holder:
        releaser = threading.Thread(target=release_once_mark_must_write, args=(holder,))
        releaser.start()
        result = run("--registry", location, "mark", str(ROCKET), "--all", "--out", str(out))
        releaser.join()
    assert result.exit_code == 0, result.output
    assert len(assert_copies_match_files(location, out)) == len(RECIPIENTS)


def _try(*command: str) -> bool:
    try:
        return subprocess.run(command, capture_output=True).returncode == 0
    except OSError:  # the tool is not installed
        return False


@pytest.mark.parametrize("what", ["database file", "registry folder"])
def test_read_only_registry(tmp_path, what):
    location = new_registry(tmp_path)
    root = Path(location)
    before = registry_state(location)
    out = tmp_path / "out"
    locked = [root / "registry.sqlite"]
    if what == "registry folder":
        locked += [root, root / "key", root / "originals"]
    store_before = files_under(root / "originals")
    with read_only_paths(*locked):
        mark = run_process("--registry", location, "mark", str(ROCKET), "--all", "--out", str(out))
        listing = run_process("--registry", location, "recipients", "list", "--json")
    # The registry opens read-only by itself: reading still works, writing is one clear error.
    assert_one_line_error(mark, 1, "read-only", "write access")
    assert listing.returncode == 0, listing.stderr
    assert [p["id"] for p in json.loads(listing.stdout)] == list(RECIPIENTS)
    assert files_under(root / "originals") == store_before
    assert files_under(out) == []
    assert registry_state(location) == before


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: int) -> Iterator[Path]:
    folder.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        environment_missing(f"needs root to mount a small tmpfs: {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_full_disk_keeps_the_finished_copies_and_records_only_them(tmp_path):
    location = new_registry(tmp_path)
    before = registry_state(location)
    # Room for one copy of the photo (about its source's size) but not for two.
    size = (len(ROCKET.read_bytes()) * 3 // 2 // 4096 + 1) * 4096
    with small_tmpfs(tmp_path / "out", size) as out:
        result = run("--registry", location, "mark", str(ROCKET), "--all", "--out", str(out))
        line = assert_one_line_error(result, 3, "No space left on device")
        written = files_under(out)
        copies = assert_copies_match_files(location, out)
    assert "bob" in line and written == ["alice/rocket.jpg"]
    assert [c.recipient_id for c in copies] == ["alice"]
    assets, recorded, _ = registry_state(location)
    assert recorded[0][:2] == (copies[0].asset_id, "alice") and len(recorded) == 1
    assert len(assets) == len(before[0]) + 1


@pytest.mark.parametrize("blocked", ["output folder", "recipient folder"])
def test_read_only_output_folder(tmp_path, blocked):
    location = new_registry(tmp_path)
    _, copies_before, _ = registry_state(location)
    out = tmp_path / "out"
    target = out / "alice" if blocked == "recipient folder" else out
    target.mkdir(parents=True)
    with read_only_paths(target):
        result = run("--registry", location, "mark", str(ROCKET), "--all", "--out", str(out))
    needle = "cannot write" if blocked == "recipient folder" else "cannot create folder"
    assert_one_line_error(result, 1, needle, "alice")
    assert files_under(out) == []
    _, copies_after, _ = registry_state(location)
    assert copies_after == copies_before


# ------------------------------------------------------------------------------------- Ctrl-C


BATCH_RECIPIENTS = ("alice", "bob", "carol")


def _batch(folder: Path, repeats: int = 1) -> Path:
    """Twenty images from ten fixtures (times ``repeats``), shrunk so that a batch of 60 copies
    takes several seconds."""
    kit = folder / "kit"
    kit.mkdir()
    sources = sorted((FIXTURES / "photos").glob("*")) + sorted((FIXTURES / "drafts").glob("*"))
    for path in [p for p in sources if p.suffix in (".jpg", ".png")][:10]:
        for side in (320, 480):
            im = Image.open(path)
            im.thumbnail((side, side))
            for repeat in range(repeats):
                name = f"{path.stem}-{side}-{repeat}{path.suffix}"
                im.save(kit / name, **({"quality": 90} if path.suffix == ".jpg" else {}))
    return kit


def recorded_copies(location: str) -> int:
    with contextlib.closing(sqlite3.connect(Path(location) / "registry.sqlite", timeout=5)) as db:
        return db.execute("SELECT count(*) FROM copies").fetchone()[0]


def _interrupt_mid_batch(folder: Path, repeats: int):
    """Start a batch and press Ctrl-C once its first copies are recorded; returns what the
    interrupted process did, and the registry, kit, output folder and command it used."""
    folder.mkdir()
    location = new_registry(folder, BATCH_RECIPIENTS)
    kit = _batch(folder, repeats)
    clean_registry = str(folder / "clean-registry")
    shutil.copytree(location, clean_registry)  # the same key, so the same marks
    out = folder / "out"
    command = ["--registry", location, "mark", str(kit), "--all", "--out", str(out)]
    # Its own process group, like a shell job: Ctrl-C reaches the CLI and its workers.
    proc = subprocess.Popen(
        [str(LEAKTRACE), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_environment(),
        start_new_session=True,
    )
    try:
        # Interrupt once the first copies are recorded (read as another process would).
        for _ in range(12000):
            if proc.poll() is not None or recorded_copies(location) > 0:
                break
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, stderr, location, clean_registry, kit, out, command


def test_ctrl_c_mid_batch_loses_nothing_and_a_rerun_completes(tmp_path):
    # On a loaded machine the whole batch can finish between the first recorded copy and the
    # signal; the test is about an interrupted batch, so it tries again with more work.
    for attempt, repeats in enumerate((1, 3, 9)):
        returncode, stderr, location, clean_registry, kit, out, command = _interrupt_mid_batch(
            tmp_path / f"attempt-{attempt}", repeats
        )
        if returncode != 0:
            break
    n_files = len(files_under(kit))
    clean_out = tmp_path / "clean-out"
    assert returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "leaktrace: interrupted: finished copies are recorded; rerun to complete the batch"
    ]
    copies = assert_copies_match_files(location, out)
    assert 0 < len(copies) < n_files * len(BATCH_RECIPIENTS)

    rerun = run_process(*command)
    assert rerun.returncode == 0, rerun.stderr
    copies = assert_copies_match_files(location, out)
    pairs = [(c.output_name, c.recipient_id) for c in copies]
    assert len(pairs) == len(set(pairs)) == n_files * len(BATCH_RECIPIENTS)

    clean = run_process(
        "--registry", clean_registry, "mark", str(kit), "--all", "--out", str(clean_out)
    )
    assert clean.returncode == 0, clean.stderr
    assert files_under(out) == files_under(clean_out)
    for name in files_under(out):
        assert (out / name).read_bytes() == (clean_out / name).read_bytes(), name
