"""The PDF marks' building blocks, without the command line: keyed tokens, the page layer's
bits, and the calibration of the per-page score combination."""

from __future__ import annotations

import numpy as np

from leaktrace.engine.watermark.pattern import AssetKeying, layout_for
from leaktrace.media.pdf import layers
from leaktrace.pipeline.decide import combine
from leaktrace.pipeline.evidence import Block
from leaktrace.registry.models import Asset

KEY = bytes(range(32))


def test_file_level_marks_round_trip_and_depend_on_key_asset_and_recipient():
    mark = layers.document_mark(KEY, "0123456789abcdef", "a" * 64, "alice")
    assert layers.split_mark(mark) == ("0123456789abcdef", mark[8:])
    assert layers.mark_from_xmp(layers.xmp_uuid(mark)) == mark
    others = {
        layers.document_mark(KEY, "0123456789abcdef", "a" * 64, "bob"),
        layers.document_mark(KEY, "0123456789abcdef", "b" * 64, "alice"),
        layers.document_mark(bytes(32), "0123456789abcdef", "a" * 64, "alice"),
    }
    assert mark not in others and len(others) == 3
    assert b"alice" not in mark
    assert layers.split_mark(b"short") is None


def test_page_layer_darkens_half_the_page_in_the_recipients_pattern():
    keying = AssetKeying(KEY, "c" * 64, layout_for(1650, 1275))
    small = layers.layer_keying(keying)
    assert small.layout.height == 825 and small.layout.width == 638
    alice = layers.page_layer_bits(small, keying.recipient_code("alice"))
    bob = layers.page_layer_bits(small, keying.recipient_code("bob"))
    assert 0.4 < alice.mean() < 0.6
    assert 0.4 < (alice == bob).mean() < 0.6  # independent patterns agree half the time
    # The same bits as the full-resolution pattern, sampled at every other pixel.
    from leaktrace.engine.watermark.pattern import synthesize

    full = synthesize(keying, keying.recipient_code("alice"))[::2, ::2] < 0
    assert (full == alice).mean() > 0.97


def test_unrotate_turns_the_displayed_grid_back():
    grid = np.arange(6).reshape(2, 3)
    assert (layers._unrotate(grid, 0) == grid).all()
    # /Rotate 90 shows the page turned clockwise: the grid goes back counter-clockwise.
    assert (layers._unrotate(np.rot90(grid, k=-1), 90) == grid).all()


def test_combined_scores_of_innocents_are_standard_normal():
    rng = np.random.default_rng(7)
    pages = []
    recipients = [f"r{k:03d}" for k in range(400)]
    for index in range(4):
        keying = AssetKeying(KEY, f"{index:064d}", layout_for(400, 300))
        codes = rng.integers(0, 256, size=(len(recipients), 128), dtype=np.uint8)
        asset = Asset(f"page{index}", f"{index:064d}", "p.pdf", "pdf-page", 300, 400, 0, 0, {})
        # Coloured, uneven residuals: the null must not depend on them.
        y = rng.standard_normal(1024) * np.linspace(0.1, 5.0, 1024)
        pages.append(Block(asset, "page layer", index, y, recipients, codes, keying.decoy_codes))
    scores = combine(pages, decoys=512, bound=1e-9, family=len(recipients))
    assert scores is not None and not scores.attributed
    assert 0.85 < np.std(scores.z) < 1.15
    assert abs(np.mean(scores.z)) < 0.2
    assert 0.85 < scores.null.decoy_std < 1.15
