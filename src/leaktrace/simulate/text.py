"""Leak simulations for text documents: what happens to a marked copy's words between a
recipient and the investigator.

Each simulation takes a copy's file (plain text, Markdown, HTML, DOCX: the text a reader sees
is taken from it) and returns the leak's bytes and extension: retyped text, partial quotes,
dropped and reordered sentences, a machine-translation-like paraphrase, a screenshot (PNG, read
back by ``identify`` through OCR) or the text OCR recognises in one. Built from
:mod:`leaktrace.media.text.simulate`; deterministic for a seed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from leaktrace.media.text import simulate as sim

__all__ = ["TEXT_ATTACKS", "TextAttack", "run_text_attack", "text_of"]


@dataclass(frozen=True)
class TextAttack:
    """One named text leak: ``apply(text, rng) -> (data, extension)``."""

    name: str
    description: str
    apply: Callable[[str, np.random.Generator], tuple[bytes, str]]

    @property
    def group(self) -> str:
        return "text"


def _as_text(text: str) -> tuple[bytes, str]:
    return text.encode("utf-8"), ".txt"


def _retyped(text: str, rng: np.random.Generator) -> tuple[bytes, str]:
    return _as_text(sim.retype(text, rng))


def _quote(text: str, rng: np.random.Generator, *, words: int, retyped: bool) -> tuple[bytes, str]:
    quoted = sim.excerpt(text, words, rng)
    return _as_text(sim.retype(quoted, rng) if retyped else quoted)


def _drop(text: str, rng: np.random.Generator) -> tuple[bytes, str]:
    return _as_text(sim.retype(sim.drop_and_reorder(text, rng), rng))


def _paraphrase(text: str, rng: np.random.Generator) -> tuple[bytes, str]:
    return _as_text(sim.retype(sim.paraphrase(text, rng, fraction=0.2), rng))


def _screenshot(text: str, rng: np.random.Generator) -> tuple[bytes, str]:
    page = sim.render_page(sim.excerpt(text, 500, rng), font_size=int(rng.integers(22, 30)))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue(), ".png"


def _screenshot_ocr(text: str, rng: np.random.Generator) -> tuple[bytes, str]:
    return _as_text(sim.screenshot_ocr(sim.excerpt(text, 500, rng), rng))


def _build() -> dict[str, TextAttack]:
    attacks = [
        TextAttack(
            "retype",
            "the whole text retyped: straight quotes and hyphens, one space, 2 % typos, casing",
            _retyped,
        ),
        *(
            TextAttack(
                f"quote{n}",
                f"a contiguous quote of about {n} words, retyped",
                partial(_quote, words=n, retyped=True),
            )
            for n in (50, 100, 200, 500)
        ),
        TextAttack(
            "paste200",
            "a quote of about 200 words pasted as it is (typography kept)",
            partial(_quote, words=200, retyped=False),
        ),
        TextAttack("drop-reorder", "20 % of the sentences dropped, 20 % swapped, retyped", _drop),
        TextAttack(
            "paraphrase20",
            "20 % of the sentences reworded as a translation tool might, retyped",
            _paraphrase,
        ),
        TextAttack(
            "text-screenshot",
            "a 500-word quote as a screenshot (PNG; identify reads it by OCR)",
            _screenshot,
        ),
        TextAttack(
            "screenshot-ocr",
            "a 500-word quote screenshotted, blurred, JPEG 80 and read back by Tesseract",
            _screenshot_ocr,
        ),
    ]
    return {attack.name: attack for attack in attacks}


TEXT_ATTACKS = _build()


def text_of(path: Path, data: bytes) -> str:
    """The text a reader of the file sees (HTML without tags, a DOCX's paragraphs)."""
    from leaktrace.media.text.reading import leak_text

    return leak_text(path, data)


def run_text_attack(name: str, path: Path, data: bytes, *, seed: int = 0) -> tuple[bytes, str]:
    """Apply the named text attack to a copy's file; returns the leak's bytes and extension."""
    if name not in TEXT_ATTACKS:
        raise ValueError(f"unknown text attack {name!r}")
    return TEXT_ATTACKS[name].apply(text_of(path, data), np.random.default_rng(seed))
