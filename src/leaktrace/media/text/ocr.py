"""Text from a picture of a page, by Tesseract.

Why the ``tesseract`` program through a subprocess, not a binding: Debian's ``tesseract-ocr``
package (with ``tesseract-ocr-eng`` and ``tesseract-ocr-chi-sim``) is the whole dependency, and
nothing is compiled against libtesseract (tesserocr needs its headers and breaks across
versions); pytesseract is itself a wrapper around the same subprocess. The image goes in on
standard input and the recognised words come back as TSV, with a confidence per word.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess

from leaktrace.errors import InputError

from .errors import OcrUnavailableError

__all__ = ["available_languages", "ocr_image", "tesseract_path"]

_INSTALL = "install Tesseract: scripts/ensure-tesseract (apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim)"


def tesseract_path() -> str | None:
    """The ``tesseract`` program on ``PATH``, or ``None``."""
    return shutil.which("tesseract")


def available_languages() -> frozenset[str]:
    """The language models Tesseract has (empty when it is not installed)."""
    program = tesseract_path()
    if program is None:
        return frozenset()
    result = subprocess.run(
        [program, "--list-langs"], capture_output=True, text=True, check=False, timeout=60
    )
    lines = (result.stdout + result.stderr).splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip() and " " not in line.strip())


def _run(png: bytes, lang: str, psm: int, timeout: float) -> tuple[str, float]:
    program = tesseract_path()
    if program is None:
        raise OcrUnavailableError(f"Tesseract is not installed: {_INSTALL}")
    missing = set(lang.split("+")) - available_languages()
    if missing:
        raise OcrUnavailableError(
            f"Tesseract has no model for {', '.join(sorted(missing))}: {_INSTALL}"
        )
    result = subprocess.run(
        [program, "stdin", "stdout", "-l", lang, "--psm", str(psm), "tsv"],
        input=png,
        capture_output=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(
            f"Tesseract could not read the picture: {message[-1] if message else 'no message'}"
        )
    lines: dict[tuple[str, ...], list[str]] = {}
    confidences = []
    for row in result.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        word = cells[11]
        if not word.strip():
            continue
        lines.setdefault(tuple(cells[1:5]), []).append(word)
        with contextlib.suppress(ValueError):
            confidences.append(float(cells[10]))
    text = "\n".join(" ".join(words) for words in lines.values())
    return text, (sum(confidences) / len(confidences) if confidences else 0.0)


def ocr_image(image, *, lang: str = "auto", psm: int = 6, timeout: float = 300) -> str:
    """Recognise the text of a picture.

    Parameters
    ----------
    image : PIL.Image.Image or bytes
        The picture (any mode), or an encoded image file.
    lang : str
        A Tesseract language (``"eng"``, ``"chi_sim"``, ``"chi_sim+eng"``) or ``"auto"``: English
        first, and Chinese with English when that reads with more confidence.
    psm : int
        Tesseract's page segmentation mode (6: one uniform block of text).

    Raises
    ------
    OcrUnavailableError
        When Tesseract or a needed language model is missing.
    """
    if isinstance(image, bytes | bytearray):
        png = bytes(image)
    else:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG")
        png = buffer.getvalue()
    if lang != "auto":
        return _run(png, lang, psm, timeout)[0]
    english, confidence = _run(png, "eng", psm, timeout)
    if confidence >= 85:
        return english
    chinese, chinese_confidence = _run(png, "chi_sim+eng", psm, timeout)
    return chinese if chinese_confidence > confidence else english
