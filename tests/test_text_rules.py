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
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"


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
        # phrases/2026.12.3
        ("They are, thus, incorrect.", "en.thus", True),
        ("Thus, the release is stable.", "en.thus-initial", True),
        ("You need to restart it.", "en.need-to", True),
        ("You will find the tools you need to meet your needs.", "en.need-to", False),
        ("We determine if a work is free.", "en.whether-if", True),
        ("Restart it if necessary.", "en.whether-if", False),
        ("It has many merits.", "en.many", True),
        ("How many users are there?", "en.many", False),
        ("Many of them left.", "en.many", False),
        ("It lasted several years.", "en.a-number-of", True),
        ("Several are missing.", "en.a-number-of", False),
        ("The purpose of this book is simple.", "en.purpose", True),
        ("It is used for the purpose of testing.", "en.purpose", False),
        ("Time to pick a distribution.", "en.pick", True),
        ("Time to pick up the parts.", "en.pick", False),
        ("It is as long as 10 m.", "en.as-long-as", False),
        ("It works as long as it has power.", "en.as-long-as", True),
        ("经济和实用性的原因。", "zh.he-yu", True),
        ("中华人民共和国的和平。", "zh.he-yu", False),
        ("支持为数众多的架构。", "zh.zhuduo", False),
        ("诸多因素导致了这一选择。", "zh.zhuduo", True),
        ("每隔18至24个月发布。", "zh.zhi-dao", True),
        ("从北京至上海。", "zh.zhi-dao", False),
        ("它仅支持 Windows。", "zh.jin", True),
        ("它不仅支持 Windows。", "zh.jin", False),
        ("只是，它很贵。", "zh.zhishi", False),
        ("它只是一个内核。", "zh.zhishi", True),
        ("功能和性能都很好，可能更好。", "zh.nenggou", False),
        ("除了内核以外，还有工具。", "zh.yiwai", True),
        ("调查显示，用户满意。", "zh.xianshi", True),
        ("显示器很亮。", "zh.xianshi", False),
        # phrases/2026.12.4
        ("It sends things such as bug fixes upstream.", "en.such-as", True),
        ("It is linked, such as by a shared library.", "en.such-as", False),
        ("It runs a test for each package.", "en.each-every", True),
        ("They help each other.", "en.each-every", False),
        ("It runs on top of each of them.", "en.each-every", False),
        ("It is based on Linux.", "en.on-upon", True),
        ("The binaries are built on RHEL 8.", "en.on-upon", False),
        ("It serves routers (routers, firewalls, etc.) well.", "en.etc-paren", True),
        ("It has repairs, etc. Everything else is free.", "en.etc-end", True),
        ("It has servers, desktops and so on. Next one.", "en.and-so-on-end", True),
        ("It has servers, desktops and so on. Next one.", "en.etc", False),
        ("It is the software required to run it.", "en.required-to", True),
        ("Teams are often required to use one.", "en.required-to", False),
        ("This is important because each one has its own rules.", "en.because-since", True),
        ("It failed because of the update.", "en.because-since", False),
        ("It is not because it is old.", "en.because-since", False),
        ("It might be slow.", "en.might", True),
        ("You might try to restart it.", "en.might", False),
        ("It might have been avoided.", "en.might", False),
        ("Make sure that it runs.", "en.make-sure", True),
        ("Make sure to restart it.", "en.make-sure", False),
        ("The file contains a header.", "en.contains", True),
        ("The directory just contains a README.", "en.contains", False),
        ("It is a kind of scheme, under some kind of licence.", "en.kind-of", True),
        ("It is kind of slow.", "en.kind-of", False),
        ("The build doesn't stop.", "en.contraction.doesn-t", True),
        ("Why doesn't the build stop?", "en.contraction.doesn-t", False),
        ("It's a good idea.", "en.contraction.it-s", True),
        ("It's been a good idea.", "en.contraction.it-s", False),
        ("We will make it so that you can choose.", "en.so-that", True),
        ("It is so that it works.", "en.so-that", False),
        ("It costs 6 per cent more.", "en.percent", True),
        ("It is helpful, Debian helps users discover it.", "en.help", False),
        ("We want to help you with the first steps.", "en.help-verb", True),
        ("We want to help you discover it.", "en.help-verb", False),
        ("A tool will be provided which will run it.", "en.which-that", False),
        ("It is distributed in the hope that it will be useful.", "en.hope-that", False),
        ("Studies have shown that it is widely used.", "en.shown-that", True),
        ("Studies have shown that all of them use it.", "en.shown-that", False),
        ("It can be useful to look at it.", "en.useful", True),
        ("It makes useful progress.", "en.useful", False),
        ("It will function properly.", "en.properly", True),
        ("It takes long to properly review it.", "en.properly", False),
        ("Pragmatism, however, led to it.", "en.however-mid", True),
        ("It makes a lot of sense.", "en.lots-of", False),
        ("It is treated as though it were included.", "en.although", False),
        ("It sells substantially all assets.", "en.significantly", False),
        ("Linking will introduce some variation.", "en.will-launch", False),
        ("This program comes with ABSOLUTELY NO WARRANTY.", "en.comes-with", False),
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
    # Regenerate with `python benchmarks/phrase_table_docs.py --write docs/text.md`.
    assert (
        f"Table version `{version}`: {sum(not g.id.endswith('/hant') for g in groups)} groups"
        in documented
    )
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


def test_discourse_markers_keep_their_comma():
    _, points = _points("For example, it may not. In 2026, we grew. In fact, it works.")
    commas = [texts for rule, texts in points if rule == "comma.introductory"]
    assert commas == [[", "]]  # only after "In 2026"


def test_function_words_and_single_characters_repeat_freely():
    # "to" and 将 stand nearby, yet stay alternatives ("selected … selected" is about content words).
    _, points = _points("We left in order to start, go to the shop and talk to us.")
    assert ("en.in-order-to", ["in order to"]) in points
    plan, _ = _points("公司将会推出新车，将来还将扩大。")
    point = next(p for p in plan.points if p.rule == "zh.jianghui")
    assert point.locations[0].texts == ("将会", "将")


REAL = [
    "debian-faq-basics.zh.md",
    "debian-social-contract.en.md",
    "handbook-case-study.en.md",
    "handbook-case-study.zh.md",
    "handbook-case-study.zh-tw.md",
    "handbook-foreword.en.md",
    "handbook-foreword.zh.md",
]


@pytest.mark.parametrize("name", REAL)
def test_real_documents_keep_every_fact_in_every_copy(name):
    text = (FIXTURES / name).read_text("utf-8")
    plan = make_plan(load_document(text.encode(), name))
    original = flatten(plan).text
    names = set(re.findall(r"(?<=[a-z,;] )[A-Z][A-Za-z-]+", original))
    quoted = re.findall(r"“[^“”]*”|「[^」]*」|《[^》]*》", original)
    for i in range(8):
        copy = flatten(plan, keyed_choices(KEY, "d", f"r{i}", plan.points)).text
        assert re.findall(r"\d+", copy.replace(",", "")) == re.findall(
            r"\d+", original.replace(",", "")
        )
        assert names <= set(re.findall(r"[A-Z][A-Za-z-]+", copy))
        folded = copy.replace('"', "“")
        for q in quoted:
            assert q[1:-1] in folded, q
        assert re.findall(r"https?://\S+", copy) == re.findall(r"https?://\S+", original)


def test_abbreviations_never_double_a_full_stop():
    # "and so on." / "etc." share the sentence's full stop; "(…, etc.)" / "(…, and so on)" too.
    for text in [
        "It has servers, desktops and so on. Next.",
        "It has (routers, firewalls, etc.) now.",
    ]:
        variants = _all_variants(text, recipients=16)
        assert len(set(variants)) > 1
        for variant in variants:
            assert ".." not in variant and "and so on.)" not in variant
