"""Text canaries end to end: the documents marked and the leaks identified through the same
``api.mark_files`` and ``api.identify`` the CLI uses (a real SQLite registry, every fixture
document registered at once, the pipeline's decision with Bonferroni over every (document,
recipient) pair matched, the 1e-9 bound).

    python benchmarks/text_pipeline.py                       # 100 recipients, 4 trials per cell
    python benchmarks/text_pipeline.py --trials 2 --recipients 20

It checks what ``benchmarks/text_canaries.py`` measures on the library alone, now through the
registry records (the plan read back from its manifest, the choices from ``Copy.code``, the
accused code re-derived from the key), and times marking and identification.

Tables: attribution per document and leak (retyped whole text, retyped quotes of 500 and 200
words), innocents (a retyped 200-word quote of the unmarked original, a copy made under another
registry's key), and the seconds per copy and per identification.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "text"
KEY = bytes.fromhex("6b" * 32)
OTHER_KEY = bytes.fromhex("9d" * 32)
LEAKS = ("retype", "quote500", "quote200")


def _registry(folder: Path, key: bytes, recipients: int):
    from leaktrace.api import init_registry
    from leaktrace.registry.models import Recipient

    registry = init_registry(str(folder), key=key)
    registry.add_recipients([Recipient(f"r{i:03d}", f"Recipient {i}") for i in range(recipients)])
    return registry


def _identify(registry, leak: Path):
    from leaktrace.api import identify

    started = time.perf_counter()
    result = identify(registry, leak)
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=100)
    parser.add_argument("--trials", type=int, default=4, help="leaks per (document, leak kind)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from leaktrace.api import mark_files
    from leaktrace.simulate.text import run_text_attack

    rng = np.random.default_rng(args.seed)
    documents = sorted(CORPUS.glob("*.md"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        registry = _registry(root / "registry", KEY, args.recipients)
        started = time.perf_counter()
        report = mark_files(registry, documents, root / "dist")
        mark_seconds = time.perf_counter() - started
        assert not report.failures, report.failures
        other = _registry(root / "other", OTHER_KEY, args.recipients)
        mark_files(other, documents, root / "other-dist", recipient_ids=["r000"])
        ids = [f"r{i:03d}" for i in range(args.recipients)]
        rows, times = [], []
        innocents = {"original quote200": [0, 0], "other key, whole copy": [0, 0]}
        for path in documents:
            cells = []
            for leak_kind in LEAKS:
                right = wrong = 0
                for trial in range(args.trials):
                    holder = ids[int(rng.integers(len(ids)))]
                    copy = root / "dist" / holder / path.name
                    data, _ = run_text_attack(leak_kind, copy, copy.read_bytes(), seed=trial)
                    leak = root / f"leak-{trial}.txt"
                    leak.write_bytes(data)
                    result, seconds = _identify(registry, leak)
                    times.append(seconds)
                    if result.attributed:
                        right += result.recipient.id == holder
                        wrong += result.recipient.id != holder
                cells.append(f"{right}/{args.trials}" + (f" ({wrong} wrong)" if wrong else ""))
            for kind, source in (
                ("original quote200", path),
                ("other key, whole copy", root / "other-dist" / "r000" / path.name),
            ):
                attack = "quote200" if kind.startswith("original") else "retype"
                for trial in range(args.trials):
                    data, _ = run_text_attack(attack, source, source.read_bytes(), seed=trial)
                    leak = root / f"innocent-{trial}.txt"
                    leak.write_bytes(data)
                    result, seconds = _identify(registry, leak)
                    times.append(seconds)
                    innocents[kind][0] += 1
                    innocents[kind][1] += result.attributed
            rows.append(f"| {path.stem} | " + " | ".join(cells) + " |")
            print(rows[-1], file=sys.stderr, flush=True)
    copies = len(report.marked)
    out = [
        f"### Through the pipeline: {len(documents)} documents registered at once, "
        f"{args.recipients} recipients, bound 1e-9",
        "",
        "| document | retyped whole text | retyped 500-word quote | retyped 200-word quote |",
        "|---|---|---|---|",
        *rows,
        "",
        "| innocent leaks | identified | attributed to anyone |",
        "|---|---|---|",
        *(f"| {kind} | {n} | {bad} |" for kind, (n, bad) in innocents.items()),
        "",
        f"Marking: {copies} copies in {mark_seconds:.1f} s ({1000 * mark_seconds / copies:.1f} ms "
        f"per copy, registration included). Identification: median "
        f"{statistics.median(times):.2f} s, max {max(times):.2f} s over {len(times)} leaks "
        f"(every leak read against all {len(documents)} documents).",
        "",
        f"Command: `python benchmarks/text_pipeline.py --recipients {args.recipients} "
        f"--trials {args.trials}` ({os.cpu_count()} CPUs, shared).",
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
