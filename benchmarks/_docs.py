"""Writing a benchmark's table into a markdown page between its markers."""

from __future__ import annotations

from pathlib import Path


def write_block(path: Path, name: str, lines: list[str], *, heading: str = "") -> None:
    """Replace the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` in ``path``
    with ``lines`` (appending the block, after ``heading``, when the markers are missing)."""
    text = path.read_text() if path.exists() else ""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = begin + "\n" + "\n".join(lines) + "\n" + end
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text + "\n" + heading + block + "\n"
    path.write_text(text)
