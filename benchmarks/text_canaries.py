"""Text canaries measured: capacity, attribution from retyped excerpts, attacks, innocence.

The corpus is ``fixtures/text`` (see ``fixtures/README.md``): six real documents (Debian's
handbook, FAQ and social contract, English and Chinese), the handbook's traditional-Chinese
case study, and four synthetic price sheets (two with authored alternatives). Every document gets copies for ``--recipients``
recipients under one key; leaks are made with :mod:`leaktrace.media.text.simulate` and
identified against the index of every document, with the default bound (1e-9) and Bonferroni
over every (document, recipient) pair scored.

    python benchmarks/text_canaries.py                      # all tables, ~20 minutes on 2 CPUs
    python benchmarks/text_canaries.py --quick              # fewer trials
    python benchmarks/text_canaries.py --write docs/text.md

Tables:

1. capacity: choice points and bits with automatic variants alone (no authored alternatives),
   per 1,000 English words or 1,500 Chinese characters;
2. attribution from retyped excerpts of 50 / 100 / 200 / 500 words (2 % typos, 2 % casing
   changes, straight quotes and hyphens, collapsed whitespace);
3. words needed for 80 % and 95 % correct attribution;
4. other leaks of a 500-word excerpt: dropped and reordered sentences, 20 % paraphrase,
   a screenshot read by Tesseract, traditional script;
5. innocence: texts that no recipient of the scored documents leaked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from _docs import write_block

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "text"
KEY = b"benchmark-key-text-canaries-0001"
OTHER_KEY = b"another-registry-key-0000000002"
LENGTHS = [50, 100, 200, 500]
NEED_LENGTHS = [50, 100, 200, 500, 1000, 1500]
BOUNDS = [1e-9, 1e-3, 1e-2, 1e-1]


def _load():
    from leaktrace.media.text import RegisteredText, load_document, make_plan

    documents = []
    for path in sorted(CORPUS.glob("*.md")):
        document = load_document(path.read_bytes(), path.name)
        documents.append(RegisteredText(path.stem, make_plan(document)))
    return documents


_STATE: dict = {}


def _setup(recipients: int) -> None:
    from leaktrace.media.text import ReferenceIndex, codes_for

    documents = _load()
    ids = [f"r{i:04d}" for i in range(recipients)]
    _STATE["documents"] = {d.document_id: d for d in documents}
    _STATE["index"] = ReferenceIndex(documents)
    _STATE["ids"] = ids
    _STATE["copies"] = {d.document_id: codes_for(KEY, d, ids) for d in documents}


def _chinese(document_id: str) -> bool:
    return ".zh" in document_id


def _leak(document_id: str, recipient: str, attack: str, words: int, seed: int) -> str:
    from leaktrace.media.text import flatten, simulate
    from leaktrace.media.text.normalize import _converter  # noqa: F401 - warm the dictionary

    rng = np.random.default_rng(seed)
    document = _STATE["documents"][document_id]
    text = flatten(document.plan, _STATE["copies"][document_id][recipient]).text
    if attack == "drop-reorder":
        text = simulate.drop_and_reorder(text, rng, drop=0.2, swaps=0.2)
    elif attack == "paraphrase":
        text = simulate.paraphrase(text, rng, fraction=0.2)
    text = simulate.excerpt(text, words, rng)
    if attack == "traditional":
        import opencc

        text = opencc.OpenCC("s2t").convert(text)
    if attack == "ocr":
        return simulate.screenshot_ocr(text, rng)
    return simulate.retype(text, rng, typo_rate=0.02, case_rate=0.02)


def _attribution_trial(args) -> tuple[str, str, int, bool, bool, int]:
    from leaktrace.media.text import identify_text

    document_id, attack, words, seed = args
    rng = np.random.default_rng(seed + 1_000_003)
    recipient = _STATE["ids"][int(rng.integers(len(_STATE["ids"])))]
    leak = _leak(document_id, recipient, attack, words, seed)
    result = identify_text(leak, _STATE["index"], _STATE["copies"])
    correct = result.best == (document_id, recipient)
    wrong = any(pair != (document_id, recipient) for pair in result.significant)
    observed = 0
    for evidence in result.documents:
        if evidence.document_id == document_id:
            observed = evidence.attribution.observed
    return document_id, attack, words, correct, wrong, observed


def _innocent_trial(args) -> tuple[str, list[float]]:
    """One innocent text, scored against ``sets`` candidate sets; the best family p of each."""
    from leaktrace.media.text import (
        ReferenceIndex,
        RegisteredText,
        attribute_readings,
        codes_for,
        flatten,
        read_leak,
        simulate,
    )

    kind, document_id, seed, sets = args
    rng = np.random.default_rng(seed)
    documents = _STATE["documents"]
    document = documents[document_id]
    words = int(rng.choice([50, 100, 200, 500]))
    ids = _STATE["ids"]
    if kind == "unmarked":
        text, scored = flatten(document.plan).text, document
    elif kind == "other-key":
        choices = codes_for(OTHER_KEY, document, [ids[int(rng.integers(len(ids)))]])
        text, scored = flatten(document.plan, next(iter(choices.values()))).text, document
    elif kind == "other-document":
        others = [d for d in documents if d != document_id]
        other = documents[others[int(rng.integers(len(others)))]]
        text = flatten(other.plan, _STATE["copies"][other.document_id][ids[0]]).text
        scored, source = document, other.document_id
    else:  # sister: the same text registered again under another id; its copy leaks
        sister = RegisteredText(document_id + "-sister", document.plan)
        choices = codes_for(KEY, sister, [ids[int(rng.integers(len(ids)))]])
        text, scored = flatten(sister.plan, next(iter(choices.values()))).text, document
    leak = simulate.retype(simulate.excerpt(text, words, rng), rng)
    if kind == "other-document":
        index = _STATE["index"]
        # Every document but the one the text came from: all their recipients are innocent.
        readings = [r for r in read_leak(index, leak) if r.document.document_id != source]
    else:
        index = ReferenceIndex([scored])
        readings = read_leak(index, leak)
    best = []
    for candidate in range(sets):
        if candidate == 0:
            copies = {
                d.document.document_id: _STATE["copies"][d.document.document_id] for d in readings
            }
        else:
            # A further, independent candidate set: the same recipients under a fresh key.
            fresh = KEY[:-4] + candidate.to_bytes(4, "big")
            copies = {d.document.document_id: codes_for(fresh, d.document, ids) for d in readings}
        result = attribute_readings(readings, copies)
        p = 1.0
        for evidence in result.documents:
            if evidence.attribution.recipient_ids:
                p = min(p, float(evidence.attribution.p_family[0]))
        best.append(p)
    return kind, best


def _capacity_rows() -> list[str]:
    from leaktrace.media.text import check_document
    from leaktrace.media.text.simulate import word_count

    rows = [
        "| document | language | size | automatic points | automatic bits | automatic bits per 1,000 words / 1,500 chars | retyping-safe automatic bits | lexical | format | typographic | authored bits (not counted) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for document_id, document in _STATE["documents"].items():
        text = (CORPUS / f"{document_id}.md").read_text("utf-8")
        report = check_document(document.plan)
        families = report.bits_by_family()
        authored = families.get("authored", 0.0) + families.get("order", 0.0)
        automatic = report.bits - authored
        safe = report.bits_retyped - authored
        points = sum(1 for p in report.points if p.family not in ("authored", "order"))
        if _chinese(document_id):
            size = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
            rate, unit = automatic / (size / 1500), f"{size} chars"
        else:
            size = round(word_count(text))
            rate, unit = automatic / (size / 1000), f"{size} words"
        rows.append(
            f"| {document_id} | {'zh' if _chinese(document_id) else 'en'} | {unit} | {points} | "
            f"{automatic:.1f} | **{rate:.1f}** | {safe:.1f} | {families.get('lexical', 0):.1f} | "
            f"{families.get('format', 0):.1f} | {families.get('typographic', 0):.1f} | {authored:.1f} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=100)
    parser.add_argument(
        "--trials", type=int, default=20, help="trials per document and excerpt length"
    )
    parser.add_argument(
        "--attack-trials", type=int, default=10, help="trials per document and attack"
    )
    parser.add_argument("--ocr-trials", type=int, default=3, help="OCR trials per document")
    parser.add_argument("--innocent", type=int, default=10000, help="innocent texts")
    parser.add_argument(
        "--sets", type=int, default=1, help="candidate sets each innocent text is scored against"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--first", type=int, default=0, help="number of the first innocent text (to split runs)"
    )
    parser.add_argument(
        "--part",
        choices=["all", "attribution", "innocence"],
        default="all",
        help="run only the attribution tables (with capacity) or only the innocence table",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.attack_trials, args.ocr_trials, args.innocent, args.sets = 6, 4, 1, 200, 2
    started = time.time()
    _setup(args.recipients)
    documents = list(_STATE["documents"])
    out: list[str] = []

    if args.part != "innocence":
        out += ["### Capacity (automatic variants alone)", "", *_capacity_rows(), ""]

    jobs = [
        (d, "retype", w, 10_000 * i + 100 * j + t)
        for i, d in enumerate(documents)
        for j, w in enumerate(NEED_LENGTHS)
        for t in range(args.trials)
    ]
    jobs += [
        (d, a, 500, 7_000_000 + 10_000 * i + 100 * j + t)
        for i, d in enumerate(documents)
        for j, a in enumerate(["drop-reorder", "paraphrase", "traditional"])
        for t in range(args.attack_trials)
        if a != "traditional" or _chinese(d)
    ]
    jobs += [
        (d, "ocr", 500, 9_000_000 + 100 * i + t)
        for i, d in enumerate(documents)
        for t in range(args.ocr_trials)
    ]
    innocent_kinds = ["unmarked", "other-key", "other-document", "sister"]
    innocent_jobs = [
        (innocent_kinds[n % 4], documents[(n // 4) % len(documents)], 50_000_000 + n, args.sets)
        for n in range(args.first, args.first + args.innocent)
    ]
    if args.part == "innocence":
        jobs = []
    if args.part == "attribution":
        innocent_jobs = []
    with ProcessPoolExecutor(args.workers, initializer=_setup, initargs=(args.recipients,)) as pool:
        results = list(pool.map(_attribution_trial, jobs, chunksize=4))
        innocent = list(pool.map(_innocent_trial, innocent_jobs, chunksize=8))
    if args.part == "innocence":
        out += _innocence_rows(innocent, innocent_kinds, args)
        return _finish(out, args, started)

    def rate(rows):
        return sum(r[3] for r in rows) / max(1, len(rows))

    header = (
        "| document | " + " | ".join(f"{w} words" for w in LENGTHS) + " | observed points at 500 |"
    )
    out += [
        f"### Correct recipient among {args.recipients} at 1e-9, retyped excerpts ({args.trials} trials per cell)",
        "",
        header,
        "|---" * (len(LENGTHS) + 2) + "|",
    ]
    for d in documents:
        cells = []
        for w in LENGTHS:
            rows = [r for r in results if r[0] == d and r[1] == "retype" and r[2] == w]
            cells.append(f"{100 * rate(rows):.0f} %")
        observed = [r[5] for r in results if r[0] == d and r[1] == "retype" and r[2] == 500]
        out.append(f"| {d} | " + " | ".join(cells) + f" | {np.mean(observed):.1f} |")
    real = [d for d in documents if not d.startswith("price-sheet")]
    for label, group in (
        ("all real documents", real),
        ("synthetic price sheets", [d for d in documents if d.startswith("price-sheet")]),
    ):
        cells = [
            f"{100 * rate([r for r in results if r[0] in group and r[1] == 'retype' and r[2] == w]):.0f} %"
            for w in LENGTHS
        ]
        out.append(f"| **{label}** | " + " | ".join(cells) + " | |")
    wrong = sum(r[4] for r in results)
    out += [
        "",
        f"Wrong attributions in all {len(results)} attribution trials (any attack): **{wrong}**.",
        "",
    ]

    out += [
        "### Words needed (retyped excerpts)",
        "",
        "| document | 80 % correct | 95 % correct |",
        "|---|---|---|",
    ]
    for d in documents:
        need = {}
        for target in (0.8, 0.95):
            need[target] = next(
                (
                    f"{w}"
                    for w in NEED_LENGTHS
                    if rate([r for r in results if r[0] == d and r[1] == "retype" and r[2] == w])
                    >= target
                ),
                f"> {NEED_LENGTHS[-1]}",
            )
        out.append(f"| {d} | {need[0.8]} | {need[0.95]} |")
    out.append("")

    out += [
        f"### Other leaks ({args.attack_trials} trials per cell; OCR: {args.ocr_trials} per document)",
        "",
        "| document | drop 20 % + reorder, 500 words | paraphrase 20 %, 500 words | traditional script, 500 words | screenshot OCR, 500 words |",
        "|---|---|---|---|---|",
    ]
    for d in documents:
        cells = []
        for attack in ("drop-reorder", "paraphrase", "traditional", "ocr"):
            rows = [r for r in results if r[0] == d and r[1] == attack]
            cells.append(f"{100 * rate(rows):.0f} % ({len(rows)})" if rows else "-")
        out.append(f"| {d} | " + " | ".join(cells) + " |")
    out.append("")

    if innocent:
        out += _innocence_rows(innocent, innocent_kinds, args)
    return _finish(out, args, started)


def _innocence_rows(innocent, innocent_kinds, args) -> list[str]:
    out: list[str] = []
    total = sum(len(b) for _, b in innocent)
    out += [
        f"### Innocence: {len(innocent)} innocent texts, each scored against {args.sets} candidate sets of {args.recipients} recipients ({total} identifications, {total * args.recipients} innocent (text, recipient) pairs)",
        "",
    ]
    out += [
        "| kind | texts | " + " | ".join(f"p_family ≤ {b:g}" for b in BOUNDS) + " |",
        "|---" * (len(BOUNDS) + 2) + "|",
    ]
    for kind in innocent_kinds:
        values = [p for k, best in innocent if k == kind for p in best]
        cells = [f"{sum(p <= b for p in values)} / {len(values)}" for b in BOUNDS]
        out.append(
            f"| {kind} | {sum(1 for k, _ in innocent if k == kind)} | " + " | ".join(cells) + " |"
        )
    values = [p for _, best in innocent for p in best]
    out.append(
        "| **all** | "
        + f"{len(innocent)} | "
        + " | ".join(
            f"**{sum(p <= b for p in values)}** (nominal ≤ {b * len(values):.3g})" for b in BOUNDS
        )
        + " |"
    )
    return out


def _finish(out: list[str], args, started: float) -> int:
    flags = (" --quick" if args.quick else "") + (
        f" --part {args.part}" if args.part != "all" else ""
    )
    out += [
        "",
        f"Command: `python benchmarks/text_canaries.py{flags}` ({time.time() - started:.0f} s, {args.workers} workers, {os.cpu_count()} CPUs shared).",
    ]
    print("\n".join(out))
    if args.write:
        write_block(args.write, f"text-canaries-{args.part}", out)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
