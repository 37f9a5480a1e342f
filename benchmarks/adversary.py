"""A knowledgeable adversary: a recipient who holds the original, colluders, and a framer.

For every fixture image it creates a registry with ``--recipients`` recipients, marks the image
for all of them and builds each leak with numpy from the original and the copies, as someone
holding them would (the original is published after launch; the copies are the recipients'):

``subtract k``
    the leaker's copy minus k times its difference from the original (k = 1 removes the mark
    exactly, k < 1 leaves 1 - k of it, k > 1 overshoots), saved as PNG and as JPEG 90;
``blur-diff s``
    the original plus the leaker's difference blurred with a Gaussian of sigma s pixels;
``average n`` / ``median n``
    the pixel mean or median of n colluders' copies, saved as JPEG 90;
``frame ...``
    the original plus twice the framer's own difference moved (8 or 40 px), scaled (x1.1) or
    mirrored: a pattern derived from one's own copy, added in the hope of matching someone else.

Each leak goes through the real ``identify``. The table counts who was named: the involved
recipients (leaker, colluders, framer) proved attributed or named as ``removed``, and every
other recipient listed as significant (an innocent accused). Below it, every innocent's score
from every identification is summarised against N(0, 1).

    python benchmarks/adversary.py                              # photos and drafts
    python benchmarks/adversary.py --kinds photo --images 2 --write docs/robustness.md
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import stats

from _docs import write_block

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"photo": ROOT / "fixtures" / "photos", "draft": ROOT / "fixtures" / "drafts"}
SUBTRACT = (0.5, 0.75, 0.9, 1.0, 1.5, 2.0, 3.0)
BLUR = (1.0, 2.0, 4.0)
COLLUSION = (("average", 5), ("average", 10), ("median", 5))
FRAMES = ("shift8", "shift40", "scale1.1", "mirror")
BOUND = 1e-9


def encoded(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def moved(difference: np.ndarray, how: str) -> np.ndarray:
    """The framer's own difference, moved, scaled or mirrored (same shape)."""
    if how.startswith("shift"):
        return np.roll(difference, int(how[5:]), axis=(0, 1))
    if how.startswith("scale"):
        height, width = difference.shape[:2]
        factor = float(how[5:])
        big = cv2.resize(difference, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        top, left = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
        return big[top : top + height, left : left + width]
    if how == "mirror":
        return difference[:, ::-1]
    raise ValueError(how)


def leaks(original: np.ndarray, copies: dict[str, np.ndarray], ids: list[str], rng):
    """(case, involved recipients, encoded leak) for every adversary case on one image."""
    leaker = ids[int(rng.integers(len(ids)))]
    difference = copies[leaker] - original
    for k in SUBTRACT:
        for fmt in ("PNG", "JPEG"):
            yield f"subtract {k:g} {fmt}", [leaker], encoded(copies[leaker] - k * difference, fmt)
    for sigma in BLUR:
        blurred = cv2.GaussianBlur(difference, (0, 0), sigma)
        yield f"blur-diff {sigma:g}", [leaker], encoded(original + blurred, "JPEG")
    for how, size in COLLUSION:
        group = [ids[i] for i in rng.choice(len(ids), size, replace=False)]
        stack = np.stack([copies[rid] for rid in group])
        joint = stack.mean(axis=0) if how == "average" else np.median(stack, axis=0)
        yield f"{how} {size}", group, encoded(joint, "JPEG")
    for how in FRAMES:
        framer = ids[int(rng.integers(len(ids)))]
        pattern = moved(copies[framer] - original, how)
        yield f"frame {how}", [framer], encoded(original + 2.0 * pattern, "JPEG")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument("--kinds", default="photo,draft")
    parser.add_argument("--images", type=int, default=3, help="images per kind")
    parser.add_argument("--write", type=Path, help="write the tables into this markdown file")
    args = parser.parse_args(argv)

    from leaktrace import api
    from leaktrace.media.image.files import load_display_rgb

    ids = [f"r{i:02d}" for i in range(args.recipients)]
    # (kind, case) -> [trials, involved attributed, involved named removed, innocents accused,
    #                  innocents tested, involved z values, innocents' z values]
    cells: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, 0, 0, 0, [], []])
    innocent_z: list[float] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        registry = api.init_registry(str(Path(tmp) / "registry"))
        for rid in ids:
            api.add_recipient(registry, rid, recipient_id=rid)
        for kind in args.kinds.split(","):
            files = sorted(
                p for p in KINDS[kind].iterdir() if p.suffix.lower() in api.IMAGE_SUFFIXES
            )[: args.images]
            for index, source in enumerate(files):
                out_dir = Path(tmp) / "dist" / kind
                report = api.mark_files(registry, [source], out_dir, recipient_ids=ids)
                if report.failures:
                    print(f"cannot mark {source}: {report.failures}", file=sys.stderr)
                    continue
                original = load_display_rgb(source).astype(np.float64)
                copies = {
                    rid: load_display_rgb(out_dir / rid / source.name).astype(np.float64)
                    for rid in ids
                }
                rng = np.random.default_rng(index)
                for case, involved, data in leaks(original, copies, ids, rng):
                    leak = Path(tmp) / "leak.bin"
                    leak.write_bytes(data)
                    found = api.identify(registry, leak, bound=BOUND)
                    proved = {c["id"] for c in found.significant if c["p_value"] <= BOUND}
                    scores = {c["id"]: c["score"] for c in found.candidates}
                    cell = cells[(kind, case)]
                    cell[0] += 1
                    cell[1] += len(proved & set(involved))
                    named = found.recipient.id if found.recipient is not None else None
                    cell[2] += found.verdict == "removed" and named in involved
                    cell[3] += len(proved - set(involved)) + (
                        found.verdict == "removed" and named not in involved
                    )
                    cell[4] += len(ids) - len(involved)
                    cell[5] += [scores[rid] for rid in involved if rid in scores]
                    others = [z for rid, z in scores.items() if rid not in involved]
                    cell[6] += others
                    innocent_z += others
                print(
                    f"  {kind} {source.name} done ({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
    lines = render(cells, innocent_z, args)
    print("\n".join(lines))
    if args.write:
        write_block(args.write, "adversary", lines, heading="## A knowledgeable adversary\n\n")
    return 0


def render(cells, innocent_z: list[float], args) -> list[str]:
    lines = [
        "| images | leak | trials | involved | attributed | named `removed` | involved z "
        "(median / min / max) | innocents accused | innocents' z (mean / sd) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (kind, case), (trials, proved, removed, accused, tested, z, others) in cells.items():
        involved = trials * (
            int(case.split()[1]) if case.split()[0] in ("average", "median") else 1
        )
        z = np.array(z, dtype=float)
        shown = f"{np.median(z):.1f} / {z.min():.1f} / {z.max():.1f}" if z.size else "-"
        lines.append(
            f"| {kind}s | {case} | {trials} | {involved} | {proved} | {removed} | {shown} | "
            f"{accused}/{tested} | {np.mean(others):+.2f} / {np.std(others, ddof=1):.2f} |"
        )
    z = np.array(innocent_z, dtype=float)
    ks = stats.kstest(z, "norm")
    lines += [
        "",
        f"Innocents' scores (every recipient not involved, every identification): n = {z.size}, "
        f"mean {z.mean():+.3f}, standard deviation {z.std(ddof=1):.3f}, "
        f"max |z| {np.abs(z).max():.2f}, {np.mean(np.abs(z) > 3):.4f} beyond |z| > 3 "
        f"(N(0, 1): 0.0027); Kolmogorov-Smirnov against N(0, 1): D = {ks.statistic:.4f}, "
        f"p = {ks.pvalue:.3f}.",
        "",
        f"{args.recipients} recipients per asset, the first {args.images} images of each kind. "
        f"Attributed = listed in `significant` with a family-wise p-value at most {BOUND:g}; "
        "named `removed` = the verdict `removed` names that copy. Innocents accused counts every "
        "other recipient listed as significant or named removed, out of all others tested.",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
