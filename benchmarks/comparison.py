"""leaktrace side by side with the open-source watermarkers a user would otherwise pick.

The peers are invisible-watermark's ``dwtDct`` and ``dwtDctSvd`` and blind-watermark, installed
in the benchmark-only venv ``.bench-venv`` (created on first use; never leaktrace dependencies)
and driven through ``benchmarks/peer_worker.py``, one long-lived process per image being worked
on (``--workers`` images at a time).

Every peer gets what robustness.py gives leaktrace: the same fixture images, ``--recipients``
recipients per image (each a distinct random 32-bit ID), the same leaking recipient for each
image and attack, and the same seeded attacks. A peer's copy is saved in its source's format
with leaktrace's own "encode like the source" writer, so the copies differ only by their mark.
A leak counts as correct only when the decoded 32 bits are within the allowed number of bit
errors of the leaking recipient's ID, where that number is the largest for which a random
32-bit word comes that close to *any* recipient's ID with probability below 1e-6 (with 20
recipients: 1 bit). The *unmarked* original is attacked and decoded too; any decode within the
threshold of an ID is a false attribution, as is a marked copy read as another recipient's.

leaktrace's own figures come from robustness.py, run as a subprocess on the same images,
attacks and recipients alongside the peers (or read from a page it wrote: ``--leaktrace-page``).

    python benchmarks/comparison.py                                # everything, print tables
    python benchmarks/comparison.py --write docs/comparison.md
    python benchmarks/comparison.py --attacks jpeg50,social480 --methods dwtDct,leaktrace
    python benchmarks/comparison.py --leaktrace-page docs/robustness.md   # peers only run
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path

import numpy as np

import robustness
from _docs import write_block
from _peers import ensure_bench_venv

PEERS = ("dwtDct", "dwtDctSvd", "blindWatermark")
METHODS = ("leaktrace", *PEERS)
PEER_MODULES = {
    "dwtDct": "imwatermark",
    "dwtDctSvd": "imwatermark",
    "blindWatermark": "blind_watermark",
}
ID_BITS = 32
CHANCE_LIMIT = 1e-6
ID_SEED = 20261124
SAVED = "saved copy"  # the pseudo-attack "none": the marked file as the recipient received it
LOOKS_PER_IMAGE = 3  # marked copies per image measured for invisibility, as robustness.py does


# ---------------------------------------------------------------------- the threshold rule


def chance_of_match(recipients: int, allowed: int, bits: int = ID_BITS) -> float:
    """Upper bound on the probability that a uniformly random word of ``bits`` bits lies within
    ``allowed`` bit errors of any of ``recipients`` IDs (the union bound over the IDs)."""
    ball = sum(math.comb(bits, k) for k in range(allowed + 1))
    return recipients * ball / 2**bits


def allowed_bit_errors(recipients: int, limit: float = CHANCE_LIMIT) -> int:
    """The most bit errors a decode may have and still count, or -1 when even an exact match of
    one of this many IDs is likelier than ``limit`` by chance (then nothing can be attributed)."""
    allowed = -1
    while allowed < ID_BITS and chance_of_match(recipients, allowed + 1) < limit:
        allowed += 1
    return allowed


def recipient_ids(count: int, allowed: int, seed: int = ID_SEED) -> list[int]:
    """Distinct random 32-bit IDs, far enough apart that no decode is within the threshold of
    two of them (redrawn until so, which random IDs almost always are at the first draw)."""
    rng = np.random.default_rng(seed)
    while True:
        ids = [int(v) for v in rng.integers(0, 2**ID_BITS, size=count, dtype=np.uint64)]
        gaps = [bin(a ^ b).count("1") for i, a in enumerate(ids) for b in ids[i + 1 :]]
        if len(set(ids)) == count and min(gaps, default=ID_BITS) > 2 * allowed:
            return ids


def id_bits(value: int) -> list[int]:
    return [(value >> (ID_BITS - 1 - i)) & 1 for i in range(ID_BITS)]


def attribute(bits: list[int] | None, ids: list[int], allowed: int) -> int | None:
    """Index of the recipient whose ID the decoded bits match within ``allowed`` errors."""
    if bits is None or len(bits) != ID_BITS:
        return None
    word = int("".join(map(str, bits)), 2)
    for index, value in enumerate(ids):
        if bin(word ^ value).count("1") <= allowed:
            return index
    return None


# ------------------------------------------------------------------------------ the peers


class PeerWorker:
    """peer_worker.py in .bench-venv. Requests are answered in order, so a decode can be sent
    and its answer collected later while this process prepares the next attack."""

    def __init__(self, python: Path) -> None:
        script = Path(__file__).with_name("peer_worker.py")
        self.process = subprocess.Popen(
            [str(python), str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.waiting: list[Callable[[dict], None]] = []

    def submit(self, request: dict, on_answer: Callable[[dict], None]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        self.waiting.append(on_answer)

    def drain(self) -> None:
        assert self.process.stdout is not None
        while self.waiting:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("peer_worker.py ended early (see its stderr above)")
            self.waiting.pop(0)(json.loads(line))

    def call(self, request: dict) -> dict:
        answers: list[dict] = []
        self.submit(request, answers.append)
        self.drain()
        return answers[0]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def save_like_source(source: Path, marked_display: np.ndarray, path: Path) -> np.ndarray:
    """Write a peer's marked pixels in the source's own format and settings, the way leaktrace
    writes its copies, and read the file back as a leaker would open it."""
    from PIL import Image

    from leaktrace.media.image.files import encode_like, load_display_rgb, load_image
    from leaktrace.media.image.orientation import from_display

    loaded = load_image(source.read_bytes())
    stored = from_display(marked_display, loaded.orientation)
    if loaded.pixels.ndim == 2:  # a gray source stays gray, whatever the peer put in colour
        stored = np.asarray(Image.fromarray(stored).convert("L"))
    path.write_bytes(encode_like(loaded, stored, loaded.alpha))
    return load_display_rgb(path)


# -------------------------------------------------------------------------- the main loop


Tally = dict[tuple[str, str, str], list[int]]  # (kind, attack, method) -> ok, n, false, trials


class PeerRun:
    """Marks, attacks and decodes with every peer, tallying as robustness.py does for leaktrace.

    While the worker decodes one attack's leaks, this process runs the next attack: the two
    processes keep both cores busy without a pool.
    """

    def __init__(self, peers: list[str], recipients: int, worker: PeerWorker, tmp: Path) -> None:
        self.peers = peers
        self.recipients = recipients
        self.allowed = allowed_bit_errors(recipients)
        self.ids = recipient_ids(recipients, self.allowed)
        self.worker, self.tmp = worker, tmp
        self.tally: Tally = defaultdict(lambda: [0, 0, 0, 0])
        self.looks: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self.seconds: dict[str, float] = defaultdict(float)
        self.copies: dict[tuple[str, int], np.ndarray | None] = {}

    def run_image(self, kind: str, source: Path, image_index: int, names: list[str]) -> None:
        from leaktrace.media.image.files import load_display_rgb
        from leaktrace.simulate import run_attack

        original = load_display_rgb(source)
        np.save(self.tmp / "original.npy", original)
        self.copies.clear()
        # The saved copies themselves first: what the file format alone leaves of each mark.
        for attack_index, name in [(-1, SAVED), *enumerate(names)]:
            recipient = (image_index * 7 + max(attack_index, 0)) % self.recipients
            leaks = {"original": original}
            for method in self.peers:
                leaks[method] = self._copy(kind, source, original, method, recipient)
                if leaks[method] is None:  # unmarkable: a leak that nobody can attribute
                    self.tally[(kind, name, method)][1] += 1
            jobs: list[tuple[str, bool]] = []
            request: list[list[str]] = []
            for label, pixels in leaks.items():
                if pixels is None:
                    continue
                path = self.tmp / f"leak-{attack_index}-{label}.npy"
                if name == SAVED:
                    np.save(path, pixels)
                else:
                    data, _ = run_attack(name, pixels, seed=attack_index)
                    np.save(path, load_display_rgb(data))
                for method in self.peers if label == "original" else [label]:
                    jobs.append((method, label != "original"))
                    request.append([method, str(path)])
            self.worker.drain()  # the previous attack's decode first: answers come in order
            score = partial(self._score, kind, name, recipient, jobs, request)
            self.worker.submit({"op": "decode", "jobs": request}, score)
        self.worker.drain()

    def _copy(
        self, kind: str, source: Path, original: np.ndarray, method: str, recipient: int
    ) -> np.ndarray | None:
        """The recipient's copy by ``method`` as saved and re-read (marked on first use)."""
        if (method, recipient) in self.copies:
            return self.copies[(method, recipient)]
        marked = self.tmp / f"{method}-{recipient}.npy"
        answer = self.worker.call(
            {"op": "embed", "method": method, "bits": id_bits(self.ids[recipient]),
             "src": str(self.tmp / "original.npy"), "dst": str(marked)}
        )  # fmt: skip
        copy = None
        if "error" in answer:  # dwtDct and dwtDctSvd refuse images under 256 x 256 pixels
            print(f"  {method} cannot mark {source.name}: {answer['error']}", file=sys.stderr)
        else:
            self.seconds[f"{method} embed"] += answer["seconds"]
            copy = save_like_source(source, np.load(marked), self.tmp / f"copy{source.suffix}")
            if recipient < LOOKS_PER_IMAGE:
                self.looks[(kind, method)].append(robustness.invisibility(original, copy))
        self.copies[(method, recipient)] = copy
        return copy

    def _score(self, kind, name, recipient, jobs, request, answer: dict) -> None:
        results = zip(jobs, answer["bits"], answer["seconds"], strict=True)
        for (method, is_marked), bits, seconds in results:
            self.seconds[f"{method} decode"] += seconds
            cell = self.tally[(kind, name, method)]
            accused = attribute(bits, self.ids, self.allowed)
            if is_marked:
                cell[1] += 1
                cell[0] += accused == recipient
                cell[2] += accused is not None and accused != recipient
            else:
                cell[3] += 1
                cell[2] += accused is not None
        for path in {Path(p) for _, p in request}:
            path.unlink()


def peer_image(python: Path, peers: list[str], recipients: int, kind: str, source: Path,
               image_index: int, names: list[str]) -> tuple[dict, dict, dict]:  # fmt: skip
    """One image through every peer, in a pool process with its own worker and scratch folder."""
    with tempfile.TemporaryDirectory(prefix="leaktrace-comparison-") as folder:
        worker = PeerWorker(python)
        run = PeerRun(peers, recipients, worker, Path(folder))
        run.run_image(kind, source, image_index, names)
        worker.close()
    return dict(run.tally), dict(run.looks), dict(run.seconds)


def run_peers(args, names: list[str], progress: Callable[..., None]) -> tuple:
    """Every peer over every fixture image, ``--workers`` images at a time: tallies, looks,
    versions, threshold and the peers' own embed and decode times. ``progress`` gets the same
    after each image, with the count of images done and to do."""
    from PIL import Image

    peers = [m for m in args.methods if m in PEERS]
    python = ensure_bench_venv(tuple(sorted({PEER_MODULES[m] for m in peers})))
    probe = PeerWorker(python)
    versions = probe.call({"op": "versions"})["versions"]
    probe.close()
    tally: Tally = defaultdict(lambda: [0, 0, 0, 0])
    looks: dict[tuple[str, str], list[dict]] = defaultdict(list)
    seconds: dict[str, float] = defaultdict(float)
    images = [
        (kind, source, image_index)
        for kind in args.kinds
        for image_index, source in enumerate(fixture_files(kind, args.set))
    ]
    # Largest first, so that the last image to finish is a small one.
    images.sort(key=lambda image: -np.prod(Image.open(image[1]).size))
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {
            pool.submit(peer_image, python, peers, args.recipients, kind, source, index, names):
            (kind, source)
            for kind, source, index in images
        }  # fmt: skip
        for future in as_completed(futures) if peers else ():
            image_tally, image_looks, image_seconds = future.result()
            for key, cell in image_tally.items():
                tally[key] = [a + b for a, b in zip(tally[key], cell, strict=True)]
            for key, rows in image_looks.items():
                looks[key] += rows
            for key, value in image_seconds.items():
                seconds[key] += value
            kind, source = futures[future]
            print(
                f"  {kind} {source.name}: {len(names)} attacks, {len(peers)} peers "
                f"({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
            done = sum(f.done() for f in futures)
            if done < len(futures):
                progress(tally, looks, versions, allowed_bit_errors(args.recipients), seconds,
                         f"partial: {done} of {len(futures)} images")  # fmt: skip
    return tally, looks, versions, allowed_bit_errors(args.recipients), dict(seconds)


# ------------------------------------------------------------------ leaktrace's own figures


def start_leaktrace(args, names: list[str], page: Path) -> subprocess.Popen:
    """robustness.py over the same images, attacks (hence seeds) and recipients."""
    command = [sys.executable, str(Path(robustness.__file__)), "--recipients", str(args.recipients)]
    command += ["--attacks", ",".join(names), "--kinds", ",".join(args.kinds), "--write", str(page)]
    if hasattr(robustness, "FIXTURE_SETS"):
        command += ["--set", args.set]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def read_leaktrace(page: Path, kinds: list[str], tally: Tally, looks: dict) -> None:
    """leaktrace's rows of a robustness.py page, into the peers' tallies."""
    text = page.read_text()
    block = text.split("<!-- robustness:begin -->", 1)[1].split("<!-- robustness:end -->", 1)[0]
    header: list[str] = []
    for line in block.splitlines():
        cells = [c.strip().strip("*").strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or set(line) <= set("|-"):
            continue
        if cells[0] in ("attack", "kind"):
            header = cells
        elif header[0] == "attack" and cells[0] not in ("all", ""):
            for kind in kinds:
                if f"{kind}s attributed" not in header:
                    continue
                ok, n = cells[header.index(f"{kind}s attributed")].split("/")
                false, trials = cells[header.index(f"{kind}s false")].split("/")
                tally[(kind, cells[0], "leaktrace")] = [
                    int(ok),
                    int(n),
                    int(false),
                    int(trials) - int(n),
                ]
        elif header[0] == "kind" and cells[0] in kinds:
            psnr = re.findall(r"[\d.]+", cells[header.index("PSNR dB (min / mean)")])
            ssim = float(cells[header.index("SSIM (min)")])
            looks[(cells[0], "leaktrace")] = [
                {"psnr": float(psnr[0]), "psnr_mean": float(psnr[1]), "ssim": ssim}
            ]


# ------------------------------------------------------------------------------ the tables


def _rate(cells: list[list[int]]) -> str:
    ok, n = sum(c[0] for c in cells), sum(c[1] for c in cells)
    return f"{ok}/{n} ({100 * ok / n:.1f} %)" if n else "–"


def render(args, names, tally: Tally, looks, versions, allowed, seconds, source) -> list[str]:
    from leaktrace.simulate import ATTACKS, GROUPS

    methods, kinds = args.methods, args.kinds
    lines = [
        f"Command: `{args.command}`. {len(names)} attacks, {args.recipients} recipients; a decode "
        f"counts within {allowed} bit error{'s' if allowed != 1 else ''} of a 32-bit ID "
        f"(chance of a random word that close to any ID: "
        f"{chance_of_match(args.recipients, allowed):.1e}, limit {CHANCE_LIMIT:g}). "
        f"Peers: {', '.join(f'{k} {v}' for k, v in versions.items())}. leaktrace: {source}.",
        "",
        "### Overall",
        "",
        "| kind | method | correct | false | PSNR dB (min / mean) | SSIM (min) | saved copy read |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in kinds:
        for method in methods:
            cells = [tally.get((kind, n, method)) for n in names]
            present = [c for c in cells if c]
            false = sum(c[2] for c in present)
            trials = sum(c[1] + c[3] for c in present)
            rows = looks.get((kind, method), [])
            if rows:
                mean = np.mean([r.get("psnr_mean", r["psnr"]) for r in rows])
                look = (f"{min(r['psnr'] for r in rows):.1f} / {mean:.1f}",
                        f"{min(r['ssim'] for r in rows):.4f}")  # fmt: skip
            else:
                look = ("–", "–")
            saved = tally.get((kind, SAVED, method))
            saved_read = f"{saved[0]}/{saved[1]}" if saved else "–"
            false_rate = f"{false}/{trials}" if trials else "–"
            lines.append(
                f"| {kind}s | {method} | {_rate(present)} | {false_rate} | {look[0]} "
                f"| {look[1]} | {saved_read} |"
            )
    lines += ["", "### Correct attributions by attack group", ""]
    columns = [(k, m) for k in kinds for m in methods]
    lines += [
        "| group | attacks | " + " | ".join(f"{k}s {m}" for k, m in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for group in GROUPS:
        members = [n for n in names if ATTACKS[n].group == group]
        if not members:
            continue
        row = f"| {group} | {len(members)} |"
        for kind, method in columns:
            row += f" {_rate([c for n in members if (c := tally.get((kind, n, method)))])} |"
        lines.append(row)
    lines += ["", "### By attack (correct / leaks)", ""]
    lines += [
        "| attack | group | " + " | ".join(f"{k}s {m}" for k, m in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for name in names:
        row = f"| {name} | {ATTACKS[name].group} |"
        for key in columns:
            cell = tally.get((key[0], name, key[1]))
            row += f" {cell[0]}/{cell[1]} |" if cell else " – |"
        lines.append(row)
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(seconds.items()))
    lines += ["", f"Peer time in this run: {timing}." if timing else ""]
    return lines


def fixture_files(kind: str, fixture_set: str) -> list[Path]:
    """robustness.py's images of one kind, in its order (which picks the leaking recipients)."""
    if hasattr(robustness, "fixture_files"):
        return robustness.fixture_files(
            ["small", "large"] if fixture_set == "all" else [fixture_set], kind
        )
    if fixture_set != "small":
        raise SystemExit("this robustness.py has only the small fixture set")
    from leaktrace import api

    folder = robustness.KINDS[kind]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in api.IMAGE_SUFFIXES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attacks", help="comma-separated attack names (default: all)")
    parser.add_argument("--kinds", default="photo,draft")
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument("--methods", default=",".join(METHODS), help=f"of {', '.join(METHODS)}")
    parser.add_argument(
        "--set", choices=("small", "large", "all"), default="small",
        help="robustness.py's fixture images: small (300-1411 px), large (2000-4000 px), all",
    )  # fmt: skip
    parser.add_argument(
        "--leaktrace-page", type=Path, help="read leaktrace's figures from this robustness.py "
        "page instead of running robustness.py alongside (same attacks and recipients needed)"
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=2, help="images marked and decoded at once (default 2)"
    )
    parser.add_argument("--write", type=Path, help="write the tables into this markdown file")
    args = parser.parse_args(argv)
    args.kinds = args.kinds.split(",")
    args.methods = args.methods.split(",")
    if unknown := sorted(set(args.methods) - set(METHODS)):
        parser.error(f"unknown methods: {', '.join(unknown)}")
    args.command = " ".join(
        ["python benchmarks/comparison.py", *(sys.argv[1:] if argv is None else argv)]
    )

    from leaktrace.simulate import ATTACKS

    names = args.attacks.split(",") if args.attacks else list(ATTACKS)
    if unknown := [name for name in names if name not in ATTACKS]:
        parser.error(f"unknown attacks: {', '.join(unknown)}")
    leaktrace_tally: Tally = {}
    leaktrace_looks: dict = {}
    if "leaktrace" in args.methods and args.leaktrace_page:
        # Read first: the page may be rewritten while the peers run.
        read_leaktrace(args.leaktrace_page, args.kinds, leaktrace_tally, leaktrace_looks)
        on_page = list(dict.fromkeys(attack for _, attack, _ in leaktrace_tally))
        if on_page != names:  # the attack's position in the list is its seed
            parser.error(f"{args.leaktrace_page} has other attacks (or order) than this run")
    source = (
        f"read from {args.leaktrace_page} (written by robustness.py before this run)"
        if args.leaktrace_page
        else "robustness.py run alongside, same images, attacks and recipients"
    )
    with tempfile.TemporaryDirectory(prefix="leaktrace-comparison-") as folder:
        tmp = Path(folder)
        leaktrace = None
        if "leaktrace" in args.methods and args.leaktrace_page is None:
            leaktrace = start_leaktrace(args, names, tmp / "robustness.md")

        def progress(tally, looks, versions, allowed, seconds, note) -> None:
            # A long run leaves its figures so far on the page, marked as partial.
            if args.write:
                lines = render(args, names, tally | leaktrace_tally, looks | leaktrace_looks,
                               versions, allowed, seconds, f"{source} ({note})")  # fmt: skip
                write_block(args.write, "comparison", lines)

        tally, looks, versions, allowed, seconds = run_peers(args, names, progress)
        if leaktrace is not None:
            print("  waiting for robustness.py ...", file=sys.stderr)
            if leaktrace.wait():
                raise SystemExit("robustness.py failed")
            read_leaktrace(tmp / "robustness.md", args.kinds, leaktrace_tally, leaktrace_looks)
    tally.update(leaktrace_tally)
    looks.update(leaktrace_looks)
    lines = render(args, names, tally, looks, versions, allowed, seconds, source)
    print("\n".join(lines))
    if args.write:
        write_block(args.write, "comparison", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
