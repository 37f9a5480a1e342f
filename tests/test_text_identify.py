"""Text canaries: identification finds the leaker from retyped, partial, OCR'd text, and never
an innocent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from leaktrace.media.text import (
    ReferenceIndex,
    RegisteredText,
    codes_for,
    encode_code,
    flatten,
    identify_text,
    load_document,
    make_plan,
    plan_edits,
    render_document,
    simulate,
)
from leaktrace.media.text.markup import html_visible_text
from leaktrace.media.text.ocr import available_languages

KEY = b"0123456789abcdef0123456789abcdef"
OTHER_KEY = b"fedcba9876543210fedcba9876543210"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"
RECIPIENTS = [f"r{i:02d}" for i in range(40)]


@pytest.fixture(scope="module")
def world():
    documents = []
    for name in (
        "price-sheet-aurora-authored.en.md",
        "price-sheet-aurora-authored.zh.md",
        "handbook-foreword.en.md",
    ):
        plan = make_plan(load_document((FIXTURES / name).read_bytes(), name))
        documents.append(RegisteredText(name.removesuffix(".md"), plan))
    copies = {}
    for document in documents:
        choices = codes_for(KEY, document, RECIPIENTS)
        # Stored as the registry would: the packed code of each copy.
        copies[document.document_id] = {
            r: encode_code(document.plan.digest, document.plan.ks, c) for r, c in choices.items()
        }
    return (
        {d.document_id: d for d in documents},
        ReferenceIndex(documents),
        copies,
        {d.document_id: codes_for(KEY, d, RECIPIENTS) for d in documents},
    )


def _copy_text(world, document_id, recipient):
    documents, _, _, choices = world
    return flatten(documents[document_id].plan, choices[document_id][recipient]).text


@pytest.mark.parametrize("seed", range(4))
def test_a_retyped_excerpt_names_its_recipient(world, seed):
    _, index, copies, _ = world
    rng = np.random.default_rng(seed)
    document_id = ["price-sheet-aurora-authored.en", "price-sheet-aurora-authored.zh"][seed % 2]
    recipient = RECIPIENTS[int(rng.integers(len(RECIPIENTS)))]
    leak = simulate.retype(
        simulate.excerpt(_copy_text(world, document_id, recipient), 400, rng), rng, typo_rate=0.02
    )
    result = identify_text(leak, index, copies)
    assert result.verdict == "attributed"
    assert result.significant == ((document_id, recipient),)
    evidence = next(d for d in result.documents if d.document_id == document_id)
    assert evidence.attribution.p_family[0] <= 1e-9
    assert (
        all(p.best_agrees for p in evidence.points)
        or sum(not p.best_agrees for p in evidence.points) <= 2
    )


def test_reordered_dropped_and_traditional_leaks(world):
    _, index, copies, _ = world
    rng = np.random.default_rng(11)
    text = _copy_text(world, "price-sheet-aurora-authored.en", "r05")
    leak = simulate.drop_and_reorder(text, rng, drop=0.1, swaps=0.3)
    assert identify_text(leak, index, copies).significant == (
        ("price-sheet-aurora-authored.en", "r05"),
    )
    import opencc

    zh = opencc.OpenCC("s2t").convert(_copy_text(world, "price-sheet-aurora-authored.zh", "r09"))
    assert identify_text(simulate.retype(zh, rng), index, copies).significant == (
        ("price-sheet-aurora-authored.zh", "r09"),
    )


def test_an_html_page_quoting_a_copy(world):
    documents, index, copies, choices = world
    plan = documents["price-sheet-aurora-authored.en"].plan
    marked = render_document(
        plan.document, plan_edits(plan, choices["price-sheet-aurora-authored.en"]["r21"])
    ).decode()
    page = (
        "<html><body><h1>Leak!</h1>"
        + "".join(f"<p>{line}</p>" for line in marked.splitlines()[8:40])
        + "</body></html>"
    )
    result = identify_text(html_visible_text(page), index, copies)
    assert result.significant == (("price-sheet-aurora-authored.en", "r21"),)


@pytest.mark.parametrize("kind", ["unmarked", "other-key", "other-document", "unrelated"])
def test_innocent_texts_are_never_attributed(world, kind):
    documents, index, copies, _ = world
    rng = np.random.default_rng(5)
    for trial in range(6):
        document = documents[
            ["price-sheet-aurora-authored.en", "price-sheet-aurora-authored.zh"][trial % 2]
        ]
        if kind == "unmarked":
            text = flatten(document.plan).text
        elif kind == "other-key":
            text = flatten(document.plan, codes_for(OTHER_KEY, document, ["r03"])["r03"]).text
        elif kind == "other-document":
            text = flatten(
                documents["handbook-foreword.en"].plan,
                codes_for(KEY, documents["handbook-foreword.en"], ["r03"])["r03"],
            ).text
        else:
            text = "Quarterly results were published on the website. " * 20
        leak = simulate.retype(simulate.excerpt(text, 300, rng), rng)
        scored = {
            k: v
            for k, v in copies.items()
            if kind != "other-document" or k != "handbook-foreword.en"
        }
        result = identify_text(leak, index, scored)
        assert result.significant == ()
        assert result.verdict in ("inconclusive", "unknown")
    assert result.verdict == (
        "unknown" if kind in ("unrelated", "other-document") else "inconclusive"
    )


def test_normalised_typography_is_not_observed(world):
    documents, index, copies, choices = world
    plan = documents["price-sheet-aurora-authored.en"].plan
    rid = next(
        r
        for r in RECIPIENTS
        if plan.points
        and any(
            p.rule == "unit.kwh" and choices["price-sheet-aurora-authored.en"][r][i] == 1
            for i, p in enumerate(plan.points)
        )
    )
    text = _copy_text(world, "price-sheet-aurora-authored.en", rid)
    assert "kW·h" in text
    result = identify_text(text.replace("·", ""), index, copies)
    evidence = next(
        d for d in result.documents if d.document_id == "price-sheet-aurora-authored.en"
    )
    # "kWh" is what anyone retyping "kW·h" writes: it proves nothing and is not scored.
    assert not any(p.rule == "unit.kwh" for p in evidence.points)
    faithful = identify_text(text, index, copies)
    evidence = next(
        d for d in faithful.documents if d.document_id == "price-sheet-aurora-authored.en"
    )
    assert any(p.rule == "unit.kwh" and p.best_agrees for p in evidence.points)


def _require_tesseract():
    if {"eng", "chi_sim"} <= available_languages():
        return
    message = "Tesseract with eng and chi_sim is missing: run scripts/ensure-tesseract"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.mark.parametrize(
    "document_id", ["price-sheet-aurora-authored.en", "price-sheet-aurora-authored.zh"]
)
def test_a_screenshot_read_by_ocr_names_its_recipient(world, document_id):
    _require_tesseract()
    _, index, copies, _ = world
    rng = np.random.default_rng(2)
    text = _copy_text(world, document_id, "r13")
    # The language is named, as an investigator would: "auto" reads English first.
    recognised = simulate.screenshot_ocr(
        text, rng, lang="chi_sim+eng" if document_id.endswith(".zh") else "eng"
    )
    assert len(recognised) > 0.5 * len(text.replace(" ", ""))
    result = identify_text(recognised, index, copies)
    assert result.significant == ((document_id, "r13"),)
