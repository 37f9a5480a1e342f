"""Marked copies look like their sources in every respect but a few invisible gray levels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from leaktrace import api
from leaktrace.media.image.files import load_display_rgb

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTOS = sorted((FIXTURES / "photos").iterdir())
DRAFTS = sorted((FIXTURES / "drafts").glob("*.png"))


@pytest.fixture
def registry(tmp_path):
    registry = api.init_registry(str(tmp_path / "registry"))
    for rid in ("alice", "bob"):
        api.add_recipient(registry, rid.title(), recipient_id=rid)
    yield registry
    registry.close()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.parametrize("source", PHOTOS + DRAFTS, ids=lambda p: p.name)
def test_invisible_on_photos_and_drafts(registry, tmp_path, source):
    api.mark_files(registry, [source], tmp_path / "out", recipient_ids=["alice"])
    original = load_display_rgb(source)
    marked = load_display_rgb(tmp_path / "out" / "alice" / source.name)
    assert marked.shape == original.shape
    assert psnr(original, marked) >= 42.0
    assert structural_similarity(original, marked, channel_axis=2, data_range=255) >= 0.99
    if source in DRAFTS:
        assert deltaE_ciede2000(rgb2lab(original), rgb2lab(marked)).mean() <= 0.5
    assert not np.array_equal(original, marked)  # it did mark something


def test_jpeg_copy_keeps_tables_sampling_and_size(registry, tmp_path):
    source = FIXTURES / "photos" / "astronaut.jpg"
    api.mark_files(registry, [source], tmp_path / "out", recipient_ids=["alice"])
    out = tmp_path / "out" / "alice" / source.name
    with Image.open(source) as a, Image.open(out) as b:
        assert b.format == "JPEG" and b.size == a.size
        assert b.quantization == a.quantization
        from PIL import JpegImagePlugin

        assert JpegImagePlugin.get_sampling(b) == JpegImagePlugin.get_sampling(a)
    assert abs(out.stat().st_size / source.stat().st_size - 1) <= 0.10


def test_png_with_alpha_and_icc_keeps_both(registry, tmp_path):
    rng = np.random.default_rng(5)
    rgba = np.dstack(
        [
            (rng.random((200, 300, 3)) * 255).astype(np.uint8),
            np.tile(np.linspace(0, 255, 300, dtype=np.uint8), (200, 1)),
        ]
    )
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "logo.png"
    Image.fromarray(rgba, "RGBA").save(source, icc_profile=icc)
    api.mark_files(registry, [source], tmp_path / "out", recipient_ids=["bob"])
    with Image.open(tmp_path / "out" / "bob" / "logo.png") as marked:
        assert marked.mode == "RGBA" and marked.info.get("icc_profile") == icc
        assert np.array_equal(np.asarray(marked)[..., 3], rgba[..., 3])


def test_marking_is_deterministic_and_recipient_specific(registry, tmp_path):
    source = FIXTURES / "drafts" / "cad_bumper.png"
    api.mark_files(registry, [source], tmp_path / "a", recipient_ids=["alice", "bob"])
    api.mark_files(registry, [source], tmp_path / "b", recipient_ids=["alice"])
    first = (tmp_path / "a" / "alice" / source.name).read_bytes()
    assert first == (tmp_path / "b" / "alice" / source.name).read_bytes()
    assert first != (tmp_path / "a" / "bob" / source.name).read_bytes()
    # the second run recorded no duplicate copy and no second asset
    assert len(registry.list_copies(recipient_id="alice")) == 1
    assert len(registry.list_assets()) == 1


def test_recorded_copy_matches_the_written_file(registry, tmp_path):
    import hashlib

    source = FIXTURES / "photos" / "rocket.jpg"
    report = api.mark_files(registry, [source], tmp_path / "out", recipient_ids=["alice", "bob"])
    for copy in report.copies:
        recorded = registry.list_copies(asset_id=copy.asset_id, recipient_id=copy.recipient_id)
        assert [c.output_sha256 for c in recorded] == [
            hashlib.sha256(copy.output.read_bytes()).hexdigest()
        ]


def test_one_bad_file_does_not_stop_the_batch(registry, tmp_path):
    folder = tmp_path / "kit"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"this is not a jpeg")
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(folder / "ok.png")
    report = api.mark_files(registry, [folder], tmp_path / "out", recipient_ids=["alice"])
    assert [c.source.name for c in report.copies] == ["ok.png"]
    assert [f.name for f, _ in report.failures] == ["broken.jpg"]
    assert not (tmp_path / "out" / "alice" / "broken.jpg").exists()


def test_webp_and_tiff_keep_their_format(registry, tmp_path):
    rng = np.random.default_rng(6)
    pixels = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    for name, fmt in (("a.webp", "WEBP"), ("b.tif", "TIFF")):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, fmt)
        (tmp_path / name).write_bytes(buffer.getvalue())
        api.mark_files(registry, [tmp_path / name], tmp_path / "out", recipient_ids=["alice"])
        with Image.open(tmp_path / "out" / "alice" / name) as marked:
            assert marked.format == fmt and marked.size == (160, 120)
