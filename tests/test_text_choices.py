"""Text canaries: keyed choices, golden vectors, the per-copy code, diffs between copies."""

from __future__ import annotations

import difflib
import math
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from leaktrace.engine.watermark.keystream import derive_seed
from leaktrace.errors import LeaktraceError
from leaktrace.media.text import (
    decode_code,
    draw_index,
    encode_code,
    flatten,
    keyed_choices,
    load_document,
    load_plan,
    make_plan,
    manifest_bytes,
    permutation_of,
    plan_edits,
    plan_manifest,
    plan_params,
    render_document,
)

KEY = b"0123456789abcdef0123456789abcdef"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"
POINTS = [
    SimpleNamespace(id=f"authored@{i}:0", k=k)
    for i, k in enumerate([2, 3, 4, 5, 6, 24, 720, 2, 2, 3])
]


def test_golden_choices():
    # These values are what every copy ever marked was given: they must never change.
    assert keyed_choices(KEY, "doc-1", "alice", POINTS) == (0, 2, 3, 2, 3, 3, 368, 0, 1, 1)
    assert keyed_choices(KEY, "doc-1", "bob", POINTS) == (0, 2, 2, 1, 1, 3, 226, 1, 0, 2)
    assert keyed_choices(KEY, "doc-2", "alice", POINTS) == (0, 2, 0, 4, 1, 5, 309, 1, 0, 2)
    seeds = [derive_seed(KEY, "t", str(i)) for i in range(5)]
    assert [draw_index(s, k) for s, k in zip(seeds, [2, 3, 5, 720, 40320], strict=True)] == [
        1,
        1,
        0,
        133,
        13021,
    ]


def test_golden_code_layout():
    choices = keyed_choices(KEY, "doc-1", "alice", POINTS)
    code = encode_code("ab" * 32, [p.k for p in POINTS], choices)
    assert code.hex() == "01abababab5a635c14"
    assert decode_code(code, "ab" * 32, [p.k for p in POINTS]) == choices
    with pytest.raises(LeaktraceError, match="another plan"):
        decode_code(code, "cd" * 32, [p.k for p in POINTS])
    with pytest.raises(LeaktraceError, match="truncated"):
        decode_code(code[:-2], "ab" * 32, [p.k for p in POINTS])
    with pytest.raises(LeaktraceError, match="version"):
        decode_code(b"\x02" + code[1:], "ab" * 32, [p.k for p in POINTS])


@pytest.mark.parametrize("k", [2, 3, 7, 24])
def test_draws_are_uniform(k):
    n = 6000
    counts = Counter(draw_index(derive_seed(KEY, "uniform", str(k), str(i)), k) for i in range(n))
    expected = n / k
    chi2 = sum((counts[j] - expected) ** 2 / expected for j in range(k))
    # 99.99th percentile of chi-square with k - 1 degrees of freedom is below 4k + 15 for these k.
    assert set(counts) == set(range(k)) and chi2 < 4 * k + 15


def test_permutations_are_a_bijection():
    perms = {permutation_of(i, 4) for i in range(math.factorial(4))}
    assert len(perms) == 24 and permutation_of(0, 4) == (0, 1, 2, 3)
    with pytest.raises(ValueError):
        permutation_of(24, 4)


def _plan(name="price-sheet-aurora-authored.en.md"):
    return make_plan(load_document((FIXTURES / name).read_bytes(), name))


def test_copies_are_deterministic_and_differ_between_recipients():
    plan = _plan()
    a1 = render_document(
        plan.document, plan_edits(plan, keyed_choices(KEY, "d", "alice", plan.points))
    )
    a2 = render_document(
        plan.document, plan_edits(plan, keyed_choices(KEY, "d", "alice", plan.points))
    )
    b = render_document(
        plan.document, plan_edits(plan, keyed_choices(KEY, "d", "bob", plan.points))
    )
    assert a1 == a2 and a1 != b


def _skeleton(flat) -> str:
    """The copy with every choice-point location replaced by the point's name."""
    marks = sorted(
        (a, b, f"<{p}.{j}>") for p, spans in enumerate(flat.spans) for j, (a, b) in enumerate(spans)
    )
    out, cursor = [], 0
    for a, b, mark in marks:
        out.append(flat.text[cursor:a])
        out.append(mark)
        cursor = b
    out.append(flat.text[cursor:])
    return "".join(out)


@pytest.mark.parametrize(
    "name",
    [
        "price-sheet-aurora-authored.en.md",
        "price-sheet-aurora-authored.zh.md",
        "handbook-case-study.en.md",
    ],
)
def test_a_diff_of_two_copies_shows_only_choice_points(name):
    plan = _plan(name)
    alice, bob = (flatten(plan, keyed_choices(KEY, "d", r, plan.points)) for r in ("alice", "bob"))
    # Outside the choice points' locations the two copies are the same, character for character.
    assert _skeleton(alice) == _skeleton(bob)
    differing = [
        p
        for p, (sa, sb) in enumerate(zip(alice.spans, bob.spans, strict=True))
        if [alice.text[a:b] for a, b in sa] != [bob.text[a:b] for a, b in sb]
    ]
    diff = list(
        difflib.unified_diff(alice.text.splitlines(), bob.text.splitlines(), lineterm="", n=0)
    )
    assert differing and diff
    # Every changed line holds at least one location whose text differs.
    changed_lines = {
        line[1:] for line in diff if line.startswith("-") and not line.startswith("---")
    }
    for line in changed_lines:
        start = alice.text.index(line)
        assert any(start <= a <= start + len(line) for p in differing for a, _ in alice.spans[p]), (
            line
        )


def test_manifest_round_trip_and_params():
    plan = _plan()
    manifest = plan_manifest(plan)
    again = load_plan(plan.document, manifest)
    assert again.digest == plan.digest and again.points == plan.points
    blob = manifest_bytes(manifest)
    assert blob == manifest_bytes(plan_manifest(again))
    params = plan_params(plan, "0" * 64)
    assert params["text"] == "leaktrace-text/1" and params["plan_sha256"] == plan.digest
    other = make_plan(load_document(b"Costs approximately $1,200.", "x.txt"))
    with pytest.raises(ValueError, match="another document"):
        load_plan(other.document, manifest)


def test_a_document_marked_under_an_older_phrase_table_is_read_with_that_table(monkeypatch):
    from leaktrace.media.text import ReferenceIndex, RegisteredText, codes_for, identify_text, rules
    from leaktrace.media.text import plan as plan_module

    version, groups = rules.phrase_table()
    # The table as it was before phrases/2026.12.3 added its groups (en.thus-initial onwards).
    cut = next(i for i, g in enumerate(groups) if g.id == "en.thus-initial")
    older = ("phrases/2026.12.2", tuple(g for g in groups[:cut]))
    monkeypatch.setattr(rules, "phrase_table", lambda: older)
    monkeypatch.setattr(plan_module, "phrase_table", lambda: older)
    name = "handbook-case-study.zh.md"
    old = _plan(name)
    manifest = plan_manifest(old)
    ids = [f"r{i}" for i in range(20)]
    old_copies = codes_for(KEY, RegisteredText("doc", old), ids)
    leaked = flatten(old, old_copies["r7"]).text
    monkeypatch.undo()

    now = _plan(name)
    assert now.rules_version == version != "phrases/2026.12.2"
    assert len(now.points) > len(old.points)  # today's table would find more points
    again = load_plan(now.document, manifest)
    assert again.rules_version == "phrases/2026.12.2"
    assert again.points == old.points and again.digest == old.digest
    code = encode_code(old.digest, old.ks, old_copies["r7"])
    assert decode_code(code, again.digest, again.ks) == old_copies["r7"]
    assert flatten(again, old_copies["r7"]).text == leaked
    registered = RegisteredText("doc", again)
    result = identify_text(
        leaked, ReferenceIndex([registered]), {"doc": codes_for(KEY, registered, ids)}
    )
    assert result.best == ("doc", "r7") and tuple(result.significant) == (("doc", "r7"),)
