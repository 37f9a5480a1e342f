"""The watermark engine on arrays: golden vectors, adjointness, embedding and the null."""

import hashlib

import numpy as np
import pytest

from leaktrace.engine.watermark import detect, embed, keystream, mask, pattern

KEY = bytes(range(32))
ASSET = "ab" * 32


# Golden vectors: a mark made today must be read with the same pattern in ten years. If one of
# these fails, a change broke every mark ever made: revert it, or add a new scheme version.
def test_golden_seed_derivation():
    seed = keystream.derive_seed(KEY, "recipient-code", ASSET, "alice")
    assert seed.hex() == "bae7cd9d6f1eff5716f751ebe5e85e4df2b915100cf62e6145e9b15721e6fb53"


def test_golden_keystream_primitives():
    assert keystream.expand(b"seed", 16).hex() == "4fd6800b5ddf65323de29f59e5da90d3"
    assert keystream.sign_bits(keystream.derive_seed(KEY, "x"), 24).tolist() == [
        -1, -1, 1, 1, 1, -1, 1, -1, 1, -1, -1, -1, 1, -1, 1, -1, 1, 1, 1, -1, -1, -1, 1, -1,
    ]  # fmt: skip
    assert keystream.permutation(b"perm", 10).tolist() == [8, 4, 1, 7, 9, 0, 3, 5, 2, 6]
    assert keystream.unit_uniforms(b"u", 3) == pytest.approx(
        [0.30165532663568917, 0.939489703781717, 0.7911282461668443], abs=0
    )


def test_golden_pattern():
    layout = pattern.layout_for(300, 400)
    assert [(layer.rows, layer.cols) for layer in layout.layers] == [(19, 25), (50, 66)]
    keying = pattern.AssetKeying(KEY, ASSET, layout)
    assert keying.cell_group[:12].tolist() == [
        616,
        480,
        764,
        646,
        792,
        650,
        599,
        319,
        487,
        709,
        360,
        74,
    ]
    assert keying.cell_sign[:12].tolist() == [-1, -1, 1, -1, 1, 1, 1, -1, 1, 1, 1, 1]
    code = keying.recipient_code("alice")
    digest = hashlib.sha256(code.tobytes()).hexdigest()
    assert digest == "fa852e3b03e88df48915161bf7b10ad33f1c94f4e9e454bbe6164f7812583e86"


def test_seed_parts_are_length_prefixed():
    assert keystream.derive_seed(KEY, "ab", "c") != keystream.derive_seed(KEY, "a", "bc")
    assert keystream.derive_seed(KEY, "a") != keystream.derive_seed(bytes(32), "a")


def test_keying_repr_hides_key():
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(64, 64))
    assert KEY.hex() not in repr(keying) and str(list(KEY)) not in repr(keying)


def test_groups_are_balanced():
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(600, 800))
    counts = np.bincount(keying.cell_group, minlength=keying.layout.code_bits)
    assert counts.max() - counts.min() <= 1


def test_field_has_unit_power_and_depends_on_recipient():
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(480, 640))
    a = pattern.synthesize(keying, keying.recipient_code("alice"))
    b = pattern.synthesize(keying, keying.recipient_code("bob"))
    assert 0.8 < float(np.mean(a * a)) < 1.2
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.1


def test_project_is_the_adjoint_of_synthesize():
    rng = np.random.default_rng(1)
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(120, 200))
    code = keying.recipient_code("carol")
    field = pattern.synthesize(keying, code).astype(np.float64)
    values = rng.normal(size=field.shape)
    rows, cols = np.mgrid[0:120, 0:200]
    y = pattern.project(
        keying, rows.ravel().astype(float), cols.ravel().astype(float), values.ravel()
    )
    assert float(code @ y) == pytest.approx(float((field * values).sum()), rel=1e-5)


def test_mask_is_never_zero_and_larger_in_texture():
    rng = np.random.default_rng(2)
    luma = np.full((100, 200), 255.0, dtype=np.float32)
    luma[:, 100:] = rng.uniform(0, 255, size=(100, 100))
    amplitude = mask.perceptual_mask(luma)
    assert amplitude[:, :90].min() > 0.5
    assert amplitude[:, 110:].mean() > 1.5 * amplitude[:, :90].mean()


def test_dithered_embedding_keeps_subgray_level_signal():
    flat = np.full((64, 64), 128, dtype=np.uint8)
    delta = np.full((64, 64), 0.25, dtype=np.float32)
    marked = embed.add_luma_delta(flat, delta)
    assert marked.mean() - 128 == pytest.approx(0.25, abs=0.02)
    assert np.array_equal(embed.add_luma_delta(flat, np.zeros_like(delta)), flat)


def _scores_for(y, keying, ids):
    codes = np.stack([keying.recipient_code(rid) for rid in ids])
    return detect.attribute(y, codes, ids, keying.decoy_codes(512))


def test_true_recipient_found_and_innocents_null():
    rng = np.random.default_rng(3)
    image = rng.integers(30, 220, size=(240, 320, 3), dtype=np.uint8)
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(240, 320))
    luma = mask.luminance(image)
    amplitude = mask.perceptual_mask(luma)
    marked = embed.add_luma_delta(
        image, amplitude * pattern.synthesize(keying, keying.recipient_code("r3"))
    )
    residual = mask.luminance(marked) - luma
    rows, cols = np.mgrid[0:240, 0:320]
    y = pattern.project(
        keying, rows.ravel() * 1.0, cols.ravel() * 1.0, (residual * amplitude).ravel()
    )
    result = _scores_for(y, keying, [f"r{i}" for i in range(20)])
    assert result.best == "r3" and result.significant == ["r3"]
    assert result.z[1] < 4.0


def test_null_scores_are_standard_normal_for_coloured_residuals():
    """Innocent scores must be N(0, 1) however structured the residual (blocky, smooth)."""
    rng = np.random.default_rng(4)
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(200, 200))
    rows, cols = np.mgrid[0:200, 0:200]
    blocky = np.kron(rng.normal(size=(25, 25)), np.ones((8, 8)))  # JPEG-like blocks
    y = pattern.project(keying, rows.ravel() * 1.0, cols.ravel() * 1.0, blocky.ravel())
    z = detect.standardized_scores(y, keying.decoy_codes(4000))
    assert abs(z.mean()) < 0.06
    assert z.std() == pytest.approx(1.0, abs=0.05)
    assert np.mean(z > 2.326) == pytest.approx(0.01, abs=0.006)


def test_bonferroni_and_bound():
    z = np.array([6.0])
    p = detect.normal_sf(z)[0]
    keying = pattern.AssetKeying(KEY, ASSET, pattern.layout_for(64, 64))
    y = keying.recipient_code("x").astype(float)  # perfectly aligned with recipient x
    result = _scores_for(y, keying, ["x", "y", "z"])
    assert result.p_family[0] == pytest.approx(min(1.0, 3 * result.p_single[0]))
    assert 0 < p < 1e-8
    with pytest.raises(ValueError, match="bound"):
        detect.attribute(
            y, np.ones((1, 1024), np.int8), ["x"], np.ones((2, 1024), np.int8), bound=2
        )
