"""Leaks of a text, simulated: retyping, partial quotes, dropped and reordered sentences,
machine-translation-like paraphrase and OCR of a screenshot.

Every function takes a :class:`numpy.random.Generator` so that runs are reproducible, and
returns the leaked text. Word counts treat a Chinese character as two thirds of a word (1,500
characters of Chinese prose carry about as much as 1,000 English words).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tomllib
from importlib import resources

import numpy as np

__all__ = [
    "drop_and_reorder",
    "excerpt",
    "paraphrase",
    "render_page",
    "retype",
    "screenshot_ocr",
    "word_count",
]

_CJK = re.compile(r"[\u3400-\u9fff]")
_UNITS = re.compile(r"[\u3400-\u9fff]|[^\s\u3400-\u9fff]+")
_SENTENCE = re.compile(r"[^\n.!?。！？]+(?:[.!?。！？]+[\"”’」)]?|\n|$)")
_RETYPE = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "–": "-",
        "—": "-",
        "·": "",
        "\u00a0": " ",
        "\u202f": " ",
    }
)
_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def word_count(text: str) -> float:
    """Words of ``text``: Latin words count 1, Chinese characters 2/3."""
    units = _UNITS.findall(text)
    return sum(2 / 3 if _CJK.fullmatch(u) else 1 for u in units if any(ch.isalnum() for ch in u))


def _typo(word: str, rng: np.random.Generator) -> str:
    letters = [i for i, ch in enumerate(word) if ch.isalpha()]
    if not letters:
        return word
    i = int(rng.choice(letters))
    op = int(rng.integers(4))
    if op == 0 and i + 1 < len(word) and word[i + 1].isalpha():
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1 and len(letters) > 2:
        return word[:i] + word[i + 1 :]
    if op == 2:
        return word[: i + 1] + word[i] + word[i + 1 :]
    return word[:i] + _KEYBOARD[int(rng.integers(len(_KEYBOARD)))] + word[i + 1 :]


def retype(
    text: str, rng: np.random.Generator, *, typo_rate: float = 0.02, case_rate: float = 0.02
) -> str:
    """Retype a text: straight quotes and hyphens, one space between words, typos, casing.

    Parameters
    ----------
    typo_rate : float
        Fraction of words (and of Chinese characters) that get a typo: a swap, a dropped or a
        doubled letter, a wrong key; a Chinese character is replaced by another one of the text.
    case_rate : float
        Fraction of words whose first letter changes case.
    """
    text = text.translate(_RETYPE)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n", text)
    chinese = _CJK.findall(text) or ["的"]
    out = []
    for token in re.findall(r"[\u3400-\u9fff]|[A-Za-z][A-Za-z'-]*|[^A-Za-z\u3400-\u9fff]+", text):
        if _CJK.fullmatch(token):
            if rng.random() < typo_rate:
                token = chinese[int(rng.integers(len(chinese)))]
        elif token[0].isalpha():
            if rng.random() < typo_rate:
                token = _typo(token, rng)
            if rng.random() < case_rate:
                token = (token[0].lower() if token[0].isupper() else token[0].upper()) + token[1:]
        out.append(token)
    return "".join(out)


def _sentences(text: str) -> list[str]:
    return [m.group() for m in _SENTENCE.finditer(text) if m.group().strip()]


def excerpt(text: str, words: int, rng: np.random.Generator) -> str:
    """A contiguous quote of about ``words`` words, starting at a random sentence."""
    starts = [0] + [m.end() for m in re.finditer(r"[.!?。！？]\s*|\n", text) if m.end() < len(text)]
    total = word_count(text)
    if total <= words:
        return text
    candidates = [s for s in starts if word_count(text[s:]) >= words] or [0]
    start = candidates[int(rng.integers(len(candidates)))]
    count, end = 0.0, start
    for m in _UNITS.finditer(text, start):
        unit = m.group()
        if any(ch.isalnum() for ch in unit):
            count += 2 / 3 if _CJK.fullmatch(unit) else 1
        end = m.end()
        if count >= words:
            break
    return text[start:end]


def drop_and_reorder(
    text: str, rng: np.random.Generator, *, drop: float = 0.2, swaps: float = 0.2
) -> str:
    """Drop a fraction of the sentences and swap some neighbouring pairs."""
    sentences = [s.strip() for s in _sentences(text)]
    kept = [s for s in sentences if rng.random() >= drop] or sentences[:1]
    for i in range(len(kept) - 1):
        if rng.random() < swaps:
            kept[i], kept[i + 1] = kept[i + 1], kept[i]
    return " ".join(kept)


@functools.lru_cache(maxsize=1)
def _paraphrase_table() -> dict[str, dict[str, str]]:
    raw = tomllib.loads(
        resources.files(__package__).joinpath("data/paraphrase.toml").read_text("utf-8")
    )
    return {"en": raw["en"], "zh": raw["zh"]}


def _reword(sentence: str, rng: np.random.Generator) -> str:
    table = _paraphrase_table()
    for source, target in table["en"].items():
        if rng.random() < 0.7:
            sentence = re.sub(rf"\b{re.escape(source)}\b", target, sentence)
    for source, target in table["zh"].items():
        if rng.random() < 0.7:
            sentence = sentence.replace(source, target)
    clauses = re.split(r"(?<=[,，;；])\s*", sentence)
    if len(clauses) >= 3 and rng.random() < 0.5:
        del clauses[int(rng.integers(1, len(clauses)))]
    elif len(clauses) >= 2:
        i = int(rng.integers(len(clauses) - 1))
        clauses[i], clauses[i + 1] = clauses[i + 1], clauses[i]
    return " ".join(c for c in clauses if c) if not _CJK.search(sentence) else "".join(clauses)


def paraphrase(text: str, rng: np.random.Generator, *, fraction: float = 0.2) -> str:
    """Reword a fraction of the sentences as a translation tool might.

    Words from a separate table (``data/paraphrase.toml``, never used for marking) are replaced,
    and clauses are swapped or one is dropped.
    """
    sentences = _sentences(text)
    return "".join(_reword(s, rng) if rng.random() < fraction else s for s in sentences)


@functools.lru_cache(maxsize=4)
def _font_path(chinese: bool) -> str | None:
    if shutil.which("fc-match") is None:
        return None
    family = "WenQuanYi Micro Hei" if chinese else "DejaVu Sans"
    result = subprocess.run(
        ["fc-match", "-f", "%{file}", family], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or None


def render_page(text: str, *, width: int = 1400, font_size: int = 26, margin: int = 40):
    """Draw ``text`` as a white page with black text (a screenshot), wrapping long lines."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415

    chinese = bool(_CJK.search(text))
    path = _font_path(chinese)
    font = ImageFont.truetype(path, font_size) if path else ImageFont.load_default()
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for unit in re.findall(r"[\u3400-\u9fff]|\S+\s*|\s+", paragraph):
            trial = current + unit
            if current and font.getlength(trial) > width - 2 * margin:
                lines.append(current.rstrip())
                current = unit.lstrip()
            else:
                current = trial
        lines.append(current.rstrip())
    height = margin * 2 + int(font_size * 1.5) * len(lines)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * int(font_size * 1.5)), line, fill=0, font=font)
    return page


def screenshot_ocr(
    text: str, rng: np.random.Generator, *, lang: str = "auto", jpeg_quality: int = 80
) -> str:
    """Render ``text`` as a screenshot, blur it slightly, JPEG-compress it, and read it back."""
    import io

    from PIL import Image, ImageFilter  # noqa: PLC0415

    from .ocr import ocr_image

    page = render_page(text, font_size=int(rng.integers(22, 30)))
    page = page.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.2, 0.6))))
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=jpeg_quality)
    leaked = Image.open(io.BytesIO(buffer.getvalue()))
    return ocr_image(leaked, lang=lang)
