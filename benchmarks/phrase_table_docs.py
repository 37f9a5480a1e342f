"""The phrase table as the markdown table of ``docs/text.md`` (between its markers).

    python benchmarks/phrase_table_docs.py --write docs/text.md   # after changing phrases.toml

Not a measurement: it lives here beside the other writers of ``docs/`` tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _docs import write_block


def _code(pattern: str) -> str:
    return "`" + pattern.replace("|", "\\|") + "`"


def table_lines() -> list[str]:
    from leaktrace.media.text.rules import phrase_table

    version, groups = phrase_table()
    own = [g for g in groups if not g.id.endswith("/hant")]
    lines = [
        f"Table version `{version}`: {len(own)} groups (each Chinese group whose words differ in "
        "traditional script is also matched in that script, as `<id>/hant`, its alternatives "
        "converted by OpenCC `s2t`).",
        "",
        "| group | alternatives (matched in the original: **bold**) | guard |",
        "|---|---|---|",
    ]
    for group in own:
        words = " / ".join(f"**{w}**" if w in group.match else w for w in group.words)
        guards = []
        for label, pattern in (
            ("before", group.before),
            ("after", group.after),
            ("not before", group.not_before),
            ("not after", group.not_after),
        ):
            if pattern is not None:
                guards.append(f"{label} {_code(pattern.pattern)}")
        if group.initial:
            guards.append("also capitalised at a sentence start")
        guard = "; ".join(guards)
        if group.note:
            guard = f"{guard} — {group.note}" if guard else group.note
        lines.append(f"| `{group.id}` | {words.replace('|', chr(92) + '|')} | {guard} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args(argv)
    lines = table_lines()
    if args.write:
        write_block(args.write, "phrase-table", lines)
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
