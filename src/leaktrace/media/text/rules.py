"""Automatic choice points from the curated phrase table (``data/phrases.toml``).

Each group of the table lists interchangeable words or phrases and the guards that restrict
where they may be matched (see the table's header). English entries match whole words,
case-sensitively: a lower-case entry matches only lower-case text, and with ``initial = true``
also its capitalised form at the start of a sentence. A capitalised word inside a sentence (a
name, a title) never matches. Chinese entries match characters, with their guards.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from .protect import overlaps, sentence_start

__all__ = ["Candidate", "PhraseGroup", "lexical_candidates", "phrase_table"]


@dataclass(frozen=True)
class Candidate:
    """A place where a rule could vary the wording.

    Attributes
    ----------
    rule : str
        The rule (a phrase group's id, or a built-in rule such as ``"number.grouping"``).
    family : str
        ``"lexical"`` (words: survive retyping), ``"format"`` (number, date and list formats)
        or ``"typographic"`` (quotation marks, dashes, widths, spaces: retyping may erase them).
    start, end : int
        The span of the segment's text the alternatives replace.
    texts : tuple of str
        The text of every alternative at this place; index ``j`` means the same variant at
        every place of a linked rule.
    original : int
        The alternative the original shows.
    linked : bool
        One draw per document for every place of this rule (a style kept consistent in a copy).
    natural : int or None
        For typographic rules, the variant that retyping or OCR produces by itself (reading it
        in a leak proves nothing).
    """

    rule: str
    family: str
    start: int
    end: int
    texts: tuple[str, ...]
    original: int
    linked: bool = False
    natural: int | None = None


@dataclass(frozen=True)
class PhraseGroup:
    """One group of the phrase table, its patterns compiled."""

    id: str
    lang: str
    words: tuple[str, ...]
    match: tuple[str, ...]
    initial: bool
    before: re.Pattern | None
    after: re.Pattern | None
    not_before: re.Pattern | None
    not_after: re.Pattern | None
    note: str


def _compile(pattern: str | None, *, at_end: bool) -> re.Pattern | None:
    if not pattern:
        return None
    return re.compile(f"(?:{pattern})\\Z" if at_end and not pattern.endswith("\\Z") else pattern)


@functools.lru_cache(maxsize=1)
def phrase_table() -> tuple[str, tuple[PhraseGroup, ...]]:
    """The bundled table: its version and its groups."""
    raw = tomllib.loads(
        resources.files(__package__).joinpath("data/phrases.toml").read_text("utf-8")
    )
    groups = []
    for entry in raw["group"]:
        words = tuple(entry["words"])
        match = tuple(entry.get("match", words))
        if len(set(words)) != len(words) or len(words) < 2 or not set(match) <= set(words):
            raise ValueError(f"phrase group {entry['id']}: bad words or match list")
        groups.append(
            PhraseGroup(
                entry["id"],
                entry["lang"],
                words,
                match,
                bool(entry.get("initial", False)),
                _compile(entry.get("before"), at_end=True),
                _compile(entry.get("after"), at_end=False),
                _compile(entry.get("not_before"), at_end=True),
                _compile(entry.get("not_after"), at_end=False),
                entry.get("note", ""),
            )
        )
    groups.extend(_traditional(raw["group"]))
    ids = [g.id for g in groups]
    if len(set(ids)) != len(ids):
        raise ValueError("phrase table: duplicate group ids")
    return raw["version"], tuple(groups)


def _traditional(entries) -> list[PhraseGroup]:
    """Every Chinese group again in traditional characters (OpenCC ``s2t``), id ``<id>/hant``.

    A document in traditional script is matched by these; their alternatives are written in
    its script. Groups whose words do not change are not repeated.
    """
    import opencc  # noqa: PLC0415

    convert = opencc.OpenCC("s2t").convert
    out = []
    for entry in entries:
        if entry["lang"] != "zh":
            continue
        words = tuple(convert(w) for w in entry["words"])
        if words == tuple(entry["words"]) or len(set(words)) != len(words):
            continue
        match = tuple(convert(w) for w in entry.get("match", entry["words"]))

        def pattern(name, at_end, entry=entry):
            value = entry.get(name)
            return _compile(convert(value) if value else None, at_end=at_end)

        out.append(
            PhraseGroup(
                entry["id"] + "/hant",
                "zh",
                words,
                match,
                False,
                pattern("before", True),
                pattern("after", False),
                pattern("not_before", True),
                pattern("not_after", False),
                entry.get("note", ""),
            )
        )
    return out


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


@functools.cache
def _word_pattern(word: str, lang: str) -> re.Pattern:
    if lang == "en":
        # Only an entry's word characters need word boundaries: ", thus," follows a word.
        before = r"(?<![\w'’-])" if word[0].isalnum() else ""
        after = r"(?![\w'’-])" if word[-1].isalnum() else ""
        return re.compile(before + re.escape(word) + after)
    return re.compile(re.escape(word))


def _guards_pass(group: PhraseGroup, text: str, start: int, end: int) -> bool:
    before, after = text[:start], text[end:]
    if group.before is not None and group.before.search(before) is None:
        return False
    if group.not_before is not None and group.not_before.search(before) is not None:
        return False
    if group.after is not None and group.after.match(after) is None:
        return False
    return group.not_after is None or group.not_after.match(after) is None


def lexical_candidates(text: str, protected: tuple[tuple[int, int], ...]) -> list[Candidate]:
    """Every place in ``text`` where a phrase group matches outside ``protected``."""
    from .normalize import to_simplified

    _, groups = phrase_table()
    # A segment in traditional script takes the traditional twin of a group (its alternatives in
    # its own script); one in simplified script takes the simplified group.
    traditional = to_simplified(text) != text
    twins = {g.id.removesuffix("/hant") for g in groups if g.id.endswith("/hant")}
    found = []
    for group in groups:
        if (
            group.lang == "zh"
            and group.id.endswith("/hant") != traditional
            and group.id.removesuffix("/hant") in twins
        ):
            continue
        for index, word in enumerate(group.words):
            if word not in group.match:
                continue
            forms = [(word, False)]
            if group.lang == "en" and group.initial and word[0].islower():
                forms.append((_capitalise(word), True))
            for form, capitalised in forms:
                for m in _word_pattern(form, group.lang).finditer(text):
                    start, end = m.span()
                    if overlaps(protected, start, end):
                        continue
                    if group.lang == "en" and form[0].isupper() and not sentence_start(text, start):
                        continue
                    if not _guards_pass(group, text, start, end):
                        continue
                    texts = tuple(_capitalise(w) if capitalised else w for w in group.words)
                    found.append(Candidate(group.id, "lexical", start, end, texts, index))
    return found
