"""Text canaries: the rules change wording, never facts, names, code or quotations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaktrace.media.text import flatten, keyed_choices, load_document, make_plan
from leaktrace.media.text.rules import phrase_table

KEY = b"0123456789abcdef0123456789abcdef"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "text.md"


def _points(text: str, name: str = "a.txt"):
    plan = make_plan(load_document(text.encode(), name))
    return plan, [(p.rule, [loc.texts[loc.original] for loc in p.locations]) for p in plan.points]


def _all_variants(text: str, name: str = "a.txt", recipients: int = 12) -> list[str]:
    plan = make_plan(load_document(text.encode(), name))
    return [
        flatten(plan, keyed_choices(KEY, "d", f"r{i}", plan.points)).text for i in range(recipients)
    ]


@pytest.mark.parametrize(
    ("text", "rule", "expected"),
    [
        ("It costs about 30 euros.", "en.approximately", True),
        ("Learn more about us.", "en.approximately", False),
        ("We travel around the world.", "en.approximately", False),
        ("No more than 5 units.", "en.more-than", False),
        ("It sold more than 4,000 units.", "en.more-than", True),
        ("The ABOUT page says About 30.", "en.approximately", False),
        ("公司推出了新款车型。", "zh.tuichu", True),
        ("公司将召开发布会。", "zh.tuichu", False),
        ("售价约 30 万元。", "zh.yue", True),
        ("双方签约并预约了时间。", "zh.yue", False),
        ("目前为止没有问题。", "zh.mubiao", False),
        ("In 2026 we launched it.", "en.launched", True),
        ("It was launched in May.", "en.launched", False),
        ("三位工程师参加了会议。", "zh.wei-ming", True),
    ],
)
def test_guards(text, rule, expected):
    _, points = _points(text)
    assert any(r == rule for r, _ in points) is expected


def test_traditional_script_is_matched_in_its_own_script():
    plan, points = _points("公司推出了新款車型，目前已經有超過 300 位客戶。")
    rules = {r for r, _ in points}
    assert "zh.yijing/hant" in rules
    variants = _all_variants("公司已經推出。", recipients=20)
    assert all("已" in v and "经" not in v and "发" not in v for v in variants)  # never simplified
    assert len(set(variants)) > 1


def test_names_quotes_code_urls_and_numbers_are_never_touched():
    text = (
        'Tesla Model About said "approximately 30 units, in addition" today. See https://example.com/about '
        "for approximately 30 offers. Call `approximately 40` now. It costs approximately $1,299.99."
    )
    for variant in _all_variants(text, "a.md", 30):
        assert (
            '"approximately 30 units, in addition"' in variant
            or "“approximately 30 units, in addition”" in variant
        )
        assert "Tesla Model About" in variant
        assert "https://example.com/about" in variant
        assert "`approximately 40`" in variant
        assert re.findall(r"\d", variant) == re.findall(r"\d", text)


def test_dates_and_grouping_keep_the_value():
    text = "Deliveries begin on March 5, 2026 at $1,200 per unit, in 2026 and 1999."
    seen = set()
    for variant in _all_variants(text, recipients=30):
        seen.add(variant)
        assert re.findall(r"\d+", variant.replace(",", "")) in (
            ["5", "2026", "1200", "2026", "1999"],
        )
        assert "2,026" not in variant and "1,999" not in variant
    assert any("5 March 2026" in v for v in seen) and any("$1200" in v for v in seen)


WORDS = st.sampled_from(
    [
        "about",
        "approximately",
        "30",
        "$1,200",
        "75",
        "kWh",
        "in",
        "addition,",
        "In",
        "addition,",
        "the",
        "Tesla",
        "company",
        "launched",
        "“quoted",
        "about",
        "30”",
        "`about",
        "40`",
        "https://x.io/about",
        "约",
        "30",
        "万元",
        "推出",
        "发布会",
        "目前",
        "已经",
        "超过",
        "3000",
        "位",
        "客户",
        "March",
        "5,",
        "2026",
        "—",
        "and,",
        "also,",
        "e.g.",
        "which",
        "is",
        "in",
        "order",
        "to",
        "reduce",
        "costs",
        "(",
        ")",
        "（",
        "价格",
        "）",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WORDS, min_size=3, max_size=40), st.integers(0, 10_000))
def test_property_digits_quotes_code_and_urls_survive_every_copy(words, salt):
    text = " ".join(words)
    plan = make_plan(load_document(text.encode(), "p.md"))
    variant = flatten(plan, keyed_choices(KEY, "d", f"r{salt}", plan.points)).text
    assert re.findall(r"\d", variant) == re.findall(r"\d", text)
    for kept in re.findall(r"`[^`]*`|https?://\S+", text):
        assert kept in variant
    for quoted in re.findall(r"“([^“”]*)”", text):
        assert quoted in variant


def test_the_phrase_table_is_well_formed_and_documented():
    version, groups = phrase_table()
    assert version.startswith("phrases/")
    ids = [g.id for g in groups]
    assert len(ids) == len(set(ids))
    documented = DOCS.read_text("utf-8")
    for group in groups:
        if group.id.endswith("/hant"):
            continue
        assert f"`{group.id}`" in documented, f"{group.id} is not listed in docs/text.md"
    for rule in [
        "number.grouping",
        "unit.space",
        "unit.kwh",
        "date.order",
        "list.serial-comma",
        "comma.introductory",
        "quotes.double",
        "quotes.apostrophe",
        "dash.parenthetic",
        "dash.range",
        "zh.paren-width",
        "zh.cjk-space",
    ]:
        assert f"`{rule}`" in documented
