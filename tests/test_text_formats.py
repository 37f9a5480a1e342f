"""Text canaries: reading and writing plain text, Markdown, HTML and DOCX; bad input."""

from __future__ import annotations

import io
import zipfile

import pytest

from leaktrace.errors import InputError, LeaktraceError
from leaktrace.media.text import (
    AlternativeSyntaxError,
    NoChoicePointsError,
    TextInputError,
    flatten,
    keyed_choices,
    load_document,
    make_plan,
    plan_edits,
    render_document,
    require_choice_points,
)

KEY = b"0123456789abcdef0123456789abcdef"

MARKDOWN = """---
title: "approximately"
---
# Price sheet

The {{flagship|top-of-the-range}} model costs approximately $1,200 and comes with a 75 kWh battery.

```
approximately 30 in a fence
```

    approximately 40 indented code

> Deliveries begin in order to reduce costs, said the quote.

| Trim | Price |
| --- | --- |
| Base | approximately $1,200 |

Use `approximately 50` in code. In addition, it is free of charge.
"""


def _copy(data: bytes, name: str, recipient: str = "alice", **kw):
    document = load_document(data, name, **kw)
    plan = make_plan(document)
    choices = keyed_choices(KEY, "doc", recipient, plan.points)
    return document, plan, choices, render_document(document, plan_edits(plan, choices))


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html"])
def test_original_choices_give_back_the_original_bytes(name):
    data = b"Costs approximately $1,200.\r\nIn addition, it is free of charge.\r\n"
    if name.endswith(".html"):
        data = b"<html><body><p>Costs approximately $1,200 &amp; more.</p><p>In addition, it is free of charge.</p></body></html>"
    document = load_document(data, name)
    plan = make_plan(document)
    assert plan.points
    assert render_document(document, plan_edits(plan, plan.base_choices())) == data


def test_markdown_protects_code_front_matter_quotes_and_tables_of_figures():
    data = MARKDOWN.encode()
    document, plan, choices, copy = _copy(data, "sheet.md")
    text = copy.decode()
    for kept in [
        'title: "approximately"',
        "approximately 30 in a fence",
        "    approximately 40 indented code",
        "> Deliveries begin in order to reduce costs, said the quote.",
        "| Base | approximately $1,200 |",
        "`approximately 50`",
    ]:
        assert kept in text
    assert "{{" not in text
    # Every recipient's copy reads as its flat text (segments joined by line breaks).
    assert flatten(plan, choices).text.splitlines()[1] in text


def test_markdown_segments_skip_protected_blocks():
    document = load_document(MARKDOWN.encode(), "sheet.md")
    texts = [s.text for s in document.segments]
    assert not any(
        "fence" in t or "indented" in t or "said the quote" in t or "| Base" in t for t in texts
    )


def test_html_keeps_markup_entities_and_code_and_escapes_replacements():
    data = (
        b"<html><head><title>T</title><style>p{}</style></head><body>"
        b"<p>It costs approximately $1,200 &amp; ships {{soon|shortly}} &lt;b&gt;.</p>"
        b"<pre>approximately 30</pre><code>approximately 40</code>"
        b"<p>{{Tom &amp; Jerry|Tom and Jerry}} are in.</p></body></html>"
    )
    document, plan, choices, copy = _copy(data, "page.html")
    text = copy.decode()
    assert "<pre>approximately 30</pre><code>approximately 40</code>" in text
    assert "&amp; ships" in text and "&lt;b&gt;" in text
    assert "{{" not in text and "<style>p{}</style>" in text
    assert "Tom &amp; Jerry are in" in text or "Tom and Jerry are in" in text


def _docx_bytes() -> bytes:
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.add_heading("Aurora price sheet", level=1)
    paragraph = document.add_paragraph("The car costs ")
    run = paragraph.add_run("approximately")
    run.bold = True
    paragraph.add_run(" $1,200 and comes with a 75 kWh battery. In addition, it is free of charge.")
    document.add_paragraph("The {{flagship|top-of-the-range}} trim ", style="List Bullet").add_run(
        "will launch"
    ).italic = True
    code = document.add_paragraph().add_run("approximately 30 in code")
    code.font.name = "Courier New"
    code.font.size = Pt(9)
    figures = document.add_table(rows=2, cols=2)
    figures.style = "Table Grid"
    figures.cell(0, 0).text, figures.cell(0, 1).text = "Trim", "Price"
    figures.cell(1, 0).text, figures.cell(1, 1).text = "Base", "approximately $1,200"
    words = document.add_table(rows=1, cols=1)
    words.cell(0, 0).text = "Delivered in order to reduce costs."
    document.add_paragraph("{{unordered}}")
    for colour in ("Red paint", "Blue paint", "White paint"):
        document.add_paragraph(colour, style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_edits_runs_in_place_keeping_styles_tables_and_formatting():
    import docx

    data = _docx_bytes()
    original = docx.Document(io.BytesIO(data))
    for recipient in ("alice", "bob", "carol"):
        document, plan, choices, copy = _copy(data, "sheet.docx", recipient)
        marked = docx.Document(io.BytesIO(copy))
        assert [p.style.name for p in marked.paragraphs] == [
            p.style.name for p in original.paragraphs if p.text != "{{unordered}}"
        ]
        assert len(marked.tables) == 2 and marked.tables[0].style.name == "Table Grid"
        assert marked.tables[0].cell(1, 1).text == "approximately $1,200"  # a table of figures
        body = marked.paragraphs[1]
        assert body.runs[1].bold and body.runs[1].text in (
            "approximately",
            "about",
            "around",
            "roughly",
        )
        assert marked.paragraphs[2].runs[-1].italic
        assert any(p.text == "approximately 30 in code" for p in marked.paragraphs)
        assert not any("{{" in p.text for p in marked.paragraphs)
        flat = flatten(plan, choices).text.splitlines()
        texts = [p.text for p in marked.paragraphs] + [marked.tables[1].cell(0, 0).text]
        for line in flat:
            assert line in texts
        colours = [p.text for p in marked.paragraphs if p.text.endswith("paint")]
        assert sorted(colours) == ["Blue paint", "Red paint", "White paint"]


def test_encodings_round_trip_and_unknown_ones_are_refused():
    text = "售价约 29.99 万元，此外，公司推出了三款新品。\n"
    for data, kw in [
        (b"\xff\xfe" + text.encode("utf-16-le"), {}),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), {}),
        (text.encode("gb18030"), {"encoding": "gb18030"}),
    ]:
        document = load_document(data, "a.txt", **kw)
        plan = make_plan(document)
        assert render_document(document, plan_edits(plan, plan.base_choices())) == data
        copy = render_document(
            document, plan_edits(plan, keyed_choices(KEY, "d", "x", plan.points))
        )
        assert copy[:2] == data[:2]
    with pytest.raises(TextInputError, match="not valid utf-8.*gb18030"):
        load_document(text.encode("gb18030"), "a.txt")
    with pytest.raises(TextInputError, match="unknown encoding"):
        load_document(b"abc", "a.txt", encoding="no-such-codec")


def test_binary_files_named_txt_are_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(40))
    with pytest.raises(TextInputError, match="binary"):
        load_document(png, "leak.txt")
    with pytest.raises(TextInputError, match="binary"):
        load_document(b"text\x01\x02 with controls", "leak.md")
    assert issubclass(TextInputError, InputError) and issubclass(TextInputError, LeaktraceError)


def test_docx_that_is_not_a_word_document_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<x/>")
    with pytest.raises(TextInputError, match="not a Word document"):
        load_document(buffer.getvalue(), "renamed.docx")
    with pytest.raises(TextInputError, match="not a ZIP"):
        load_document(b"plain text", "fake.docx")
    with pytest.raises(TextInputError, match="not a text document"):
        load_document(b"x", "drawing.dwg")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("The {{a| model", "not closed"),
        ("The {{flagship}} model", "one alternative"),
        ("The {{a|a}} model", "repeats"),
        ("The {{a||}} model", "more than one empty"),
        ("The {{a|{{b|c}}}} model", "do not nest"),
        ("{{unordered}}\nno list here\n", "not followed by a list"),
        ("{{unordered}}\n1. one\n2. two\n", "numbered list"),
    ],
)
def test_malformed_alternatives_are_refused_with_their_place(source, message):
    document = load_document(source.encode(), "a.md")
    with pytest.raises(AlternativeSyntaxError, match=message):
        make_plan(document)


def test_escapes_and_literals():
    document = load_document(
        rb"Write \{{ for braces; {{=Model S Plaid}} ships {{soon|shortly|next week}}.", "a.txt"
    )
    plan = make_plan(document)
    assert [p.k for p in plan.points] == [3]
    copy = render_document(document, plan_edits(plan, (2,))).decode()
    assert copy == "Write {{ for braces; Model S Plaid ships next week."


def test_a_document_without_choice_points_says_how_many_bits_it_needs():
    plan = make_plan(load_document(b"Nothing to vary here.", "a.txt"))
    assert plan.points == ()
    with pytest.raises(NoChoicePointsError, match=r"at least 37 bits .* 100 recipients"):
        require_choice_points(plan, recipients=100)
