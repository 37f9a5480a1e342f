"""Colluders who average their copies are each proved, with their own p-value; nobody else is."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from leaktrace import api
from leaktrace.media.image.files import load_display_rgb

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "astronaut.jpg"


def test_two_averaged_copies_prove_both_colluders_and_no_innocent(tmp_path):
    registry = api.init_registry(str(tmp_path / "registry"))
    ids = [f"r{i}" for i in range(8)]
    for rid in ids:
        api.add_recipient(registry, rid, recipient_id=rid)
    api.mark_files(registry, [PHOTO], tmp_path / "out", recipient_ids=ids)
    colluders = ["r2", "r5"]
    copies = [load_display_rgb(tmp_path / "out" / rid / PHOTO.name) for rid in colluders]
    mean = np.rint(np.mean([c.astype(np.float64) for c in copies], axis=0)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(mean).save(buffer, format="JPEG", quality=85)
    leak = tmp_path / "averaged.jpg"
    leak.write_bytes(buffer.getvalue())

    found = api.identify(registry, leak)

    assert found.verdict == "attributed"
    proved = {c["id"]: c["p_value"] for c in found.significant}
    assert set(proved) == set(colluders)
    assert all(p <= 1e-9 for p in proved.values())
    # Each colluder carries half of the mark: both well clear of every innocent.
    scores = {c["id"]: c["score"] for c in found.candidates}
    innocent_best = max(z for rid, z in scores.items() if rid not in colluders)
    assert min(scores[rid] for rid in colluders) > innocent_best + 3
