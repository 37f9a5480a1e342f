"""Mutated real files reach the library's readers and both journeys: the only allowed outcomes
are success or a :class:`~leaktrace.errors.LeaktraceError`, never another exception, never a
hang.

Hypothesis derandomized: the same mutations every run. Each test counts the distinct mutated
files it fed, so a change that quietly shrinks the search shows up as a failure.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import signal
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from leaktrace import api
from leaktrace.errors import LeaktraceError, UnsupportedFormatError
from leaktrace.media.image.files import load_display_rgb, load_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LONG_SIDE = 96
# Far below the default: a mutated header must not make a test allocate gigabytes.
MAX_PIXELS = 4_000_000
# Generous: a hang, not a slow machine, is what this catches.
HANG_SECONDS = 30
RECIPIENTS = ("alpha", "beta")

DECODER_EXAMPLES = 1200
JOURNEY_EXAMPLES = 300


class Hang(BaseException):
    """Raised by the alarm; a BaseException so the library's decoders cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Crashes this fuzzer found whose fix is not in yet. Each gets a strict xfail test at the end of
# this module; when the fix lands that test fails: delete it and its entry here.
KNOWN_CRASHES: dict[str, Callable[[BaseException], bool]] = {}


def allowed(call: Callable[[], object]) -> str:
    """Run ``call``; return "ok" or the LeaktraceError's class name. Anything else fails."""
    with time_limit(HANG_SECONDS):
        try:
            call()
        except LeaktraceError as exc:
            assert str(exc), "a LeaktraceError must say what is wrong"
            return type(exc).__name__
        except Exception as exc:
            known = [label for label, matches in KNOWN_CRASHES.items() if matches(exc)]
            if not known:
                raise
            return f"known crash: {known[0]}"
    return "ok"


# ------------------------------------------------------------------------------ base files


def _small(path: Path) -> Image.Image:
    with Image.open(path) as im:
        scale = LONG_SIDE / max(im.size)
        return im.resize((round(im.width * scale), round(im.height * scale)))


def _jpeg(path: Path, **params) -> bytes:
    with Image.open(path) as im:
        exif = im.info.get("exif")  # chelsea_exif6.jpg keeps its orientation tag
    buffer = io.BytesIO()
    _small(path).convert("RGB").save(
        buffer, "JPEG", quality=85, **({"exif": exif} if exif else {}), **params
    )
    return buffer.getvalue()


def _encode(im: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


@functools.cache
def bases() -> dict[str, bytes]:
    """Small versions of the fixtures in every format the library reads, plus a PDF."""
    bases = {}
    for path in sorted((FIXTURES / "photos").glob("*.jpg")):
        bases[path.name] = _jpeg(path)
    bases["rocket_progressive.jpg"] = _jpeg(FIXTURES / "photos" / "rocket.jpg", progressive=True)
    coffee = _small(FIXTURES / "photos" / "coffee.png").convert("RGB")
    draft = _small(FIXTURES / "drafts" / "cad_bumper.png")
    bases["coffee.png"] = _encode(coffee, "PNG")
    rgba = coffee.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(coffee.size))
    bases["coffee_alpha.png"] = _encode(rgba, "PNG")
    bases["draft_palette.png"] = _encode(draft.convert("RGB").quantize(32), "PNG")
    bases["coffee.webp"] = _encode(coffee, "WEBP", quality=80)
    bases["coffee_lossless.webp"] = _encode(rgba, "WEBP", lossless=True)
    bases["coffee.tif"] = _encode(coffee, "TIFF", compression="tiff_lzw")
    bases["coffee.pdf"] = _encode(coffee, "PDF", resolution=72)
    return bases


# ------------------------------------------------------------------------------ structure


def segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of the container's units: PNG chunks, JPEG marker segments, RIFF chunks,
    TIFF/PDF: fixed 64-byte slices. Used to duplicate and delete whole units."""
    spans: list[tuple[int, int]] = []
    if data.startswith(b"\x89PNG"):
        pos = 8
        while pos + 12 <= len(data):
            length = struct.unpack(">I", data[pos : pos + 4])[0]
            spans.append((pos, min(len(data), pos + 12 + length)))
            pos += 12 + length
    elif data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            end = pos + 2 + length
            if marker == 0xDA:  # the scan runs to the end marker
                end = max(end, len(data) - 2)
            spans.append((pos, min(end, len(data))))
            pos = end
    elif data.startswith(b"RIFF"):
        pos = 12
        while pos + 8 <= len(data):
            size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
            end = pos + 8 + size + (size & 1)
            spans.append((pos, min(end, len(data))))
            pos = end
    if not spans:
        spans = [(i, min(i + 64, len(data))) for i in range(0, len(data), 64)]
    return spans


def header_fields(data: bytes) -> list[tuple[int, str]]:
    """(offset, struct format) of size and depth fields in the header."""
    if data.startswith(b"\x89PNG"):
        return [(16, ">I"), (20, ">I"), (24, "B"), (25, "B"), (26, "B"), (28, "B")]
    if data.startswith(b"\xff\xd8"):
        found = []
        for start, _end in segments(data):
            marker = data[start + 1]
            if marker in (0xC0, 0xC1, 0xC2):  # SOF: precision, height, width, components
                found += [(start + 4, "B"), (start + 5, ">H"), (start + 7, ">H"), (start + 9, "B")]
            elif marker in (0xDB, 0xC4, 0xDD):  # table ids and the restart interval
                found += [(start + 4, "B"), (start + 2, ">H")]
        return found
    if data.startswith(b"RIFF"):
        found = [(4, "<I")]
        for start, _end in segments(data):
            kind = data[start : start + 4]
            if kind == b"VP8X":
                found += [(start + 12, "<H"), (start + 15, "<H")]
            elif kind == b"VP8L":
                found += [(start + 9, "<I")]
            elif kind == b"VP8 ":
                found += [(start + 14, "<H"), (start + 16, "<H")]
        return found
    if data.startswith((b"II", b"MM")):
        return [(4, "<I"), (8, "<H"), (10, "<H"), (18, "<I"), (22, "<H")]
    return [(0, ">I"), (9, "B")]


def _fix_png_crcs(data: bytes) -> bytes:
    """Recompute chunk CRCs so that the header change, not a checksum, is what is tested."""
    out = bytearray(data)
    for start, end in segments(data):
        if end - start >= 12 and data.startswith(b"\x89PNG"):
            body = out[start + 4 : end - 4]
            out[end - 4 : end] = struct.pack(">I", zlib.crc32(bytes(body)))
    return bytes(out)


SPECIAL_VALUES = st.sampled_from([0, 1, 2, 7, 8, 16, 255, 256, 4096, 65535, 0x7FFFFFFF, 0xFFFFFFFF])


@st.composite
def mutated(draw: st.DrawFn, sources: dict[str, bytes] | None = None) -> tuple[str, bytes, str]:
    """(base name, mutated bytes, what was done) for one of ``sources`` (default: the bases)."""
    sources = sources or bases()
    name = draw(st.sampled_from(sorted(sources)))
    data = bytearray(sources[name])
    kind = draw(st.sampled_from(["flip", "overwrite", "truncate", "duplicate", "delete", "header"]))
    size = len(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 16))):
            pos = draw(st.integers(0, size - 1))
            data[pos] ^= 1 << draw(st.integers(0, 7))
    elif kind == "overwrite":
        pos = draw(st.integers(0, size - 1))
        chunk = draw(st.binary(min_size=1, max_size=32))
        data[pos : pos + len(chunk)] = chunk
    elif kind == "truncate":
        data = data[: draw(st.integers(1, size - 1))]
    elif kind in ("duplicate", "delete"):
        spans = segments(bytes(data))
        start, end = spans[draw(st.integers(0, len(spans) - 1))]
        if kind == "duplicate":
            data[end:end] = data[start:end]
        else:
            del data[start:end]
    else:
        fields = header_fields(bytes(data))
        offset, fmt = fields[draw(st.integers(0, len(fields) - 1))]
        width = struct.calcsize(fmt)
        if offset + width <= size:
            value = draw(SPECIAL_VALUES | st.integers(0, 2 ** (8 * width) - 1))
            struct.pack_into(fmt, data, offset, value % 2 ** (8 * width))
            if data.startswith(b"\x89PNG") and draw(st.booleans()):
                data = bytearray(_fix_png_crcs(bytes(data)))
    result = bytes(data)
    if not result:
        result = b"\0"
    return name, result, kind


# ------------------------------------------------------------------------------ the tests


def test_bases_are_readable_and_their_structure_is_found():
    assert len(segments(bases()["coffee.png"])) >= 3
    assert len(segments(bases()["astronaut.jpg"])) >= 5
    assert len(segments(bases()["coffee.webp"])) >= 1
    assert all(header_fields(bases()[name]) for name in sorted(bases()))
    for name in sorted(bases()):
        assert allowed(lambda name=name: load_image(bases()[name], name=name)) == (
            "UnsupportedFormatError" if name.endswith(".pdf") else "ok"
        )


def test_decoders_survive_mutated_files(record_property):
    fed: set[str] = set()
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=DECODER_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated())
    def check(case: tuple[str, bytes, str]) -> None:
        name, data, _kind = case
        fed.add(hashlib.sha256(data).hexdigest())
        for reader in (load_image, load_display_rgb):
            outcomes[allowed(lambda r=reader: r(data, max_pixels=MAX_PIXELS, name=name))] += 1

    check()
    record_property("mutated_files", len(fed))
    record_property("outcomes", dict(outcomes))
    assert len(fed) >= DECODER_EXAMPLES * 0.9
    # Both outcomes happen: the mutations neither always break nor never break the files.
    assert outcomes["ok"] > 50 and outcomes["InputError"] > 50, outcomes


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """One registry for the module: the base images marked for two recipients."""
    root = tmp_path_factory.mktemp("fuzz")
    registry = api.init_registry(str(root / "registry"))
    for rid in RECIPIENTS:
        api.add_recipient(registry, rid.title(), recipient_id=rid)
    originals = root / "originals"
    originals.mkdir()
    for name in sorted(bases()):
        (originals / name).write_bytes(bases()[name])
    images = [originals / n for n in sorted(bases()) if not n.endswith(".pdf")]
    report = api.mark_files(registry, images, root / "dist")
    assert not report.failures and len(report.copies) == len(images) * len(RECIPIENTS)
    copies = {
        f"beta-{c.source.name}": c.output.read_bytes()
        for c in report.copies
        if c.recipient_id == "beta"
    }
    yield {"root": root, "registry": registry, "copies": copies}
    registry.close()


def test_marking_and_identifying_survive_mutated_files(world, record_property):
    registry, root = world["registry"], world["root"]
    work, out = root / "mutated", root / "out"
    work.mkdir()
    fed: set[str] = set()
    outcomes: Counter[str] = Counter()
    copies_before = len(registry.list_copies())

    @settings(
        max_examples=JOURNEY_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    # Marked copies too: their mutations reach registration and scoring, not only lookup.
    @given(mutated({**bases(), **world["copies"]}))
    def check(case: tuple[str, bytes, str]) -> None:
        name, data, _kind = case
        fed.add(hashlib.sha256(data).hexdigest())
        path = work / name
        path.write_bytes(data)
        outcomes["identify " + allowed(lambda: api.identify(registry, path))] += 1
        reports = []
        outcome = allowed(
            lambda: reports.append(api.mark_files(registry, [path], out, recipient_ids=["alpha"]))
        )
        outcomes["mark " + ("failed" if reports and reports[0].failures else outcome)] += 1

    check()
    record_property("mutated_files", len(fed))
    record_property("outcomes", dict(outcomes))
    assert len(fed) >= JOURNEY_EXAMPLES * 0.9
    assert registry.verify_audit().ok
    assert len(registry.list_copies()) > copies_before
    assert outcomes["mark ok"] > 20 and outcomes["mark failed"] > 20, outcomes
    assert outcomes["identify ok"] > 20, outcomes
    assert not list(out.rglob(".*.tmp"))


# ------------------------------------------------------------------- what the fuzzing found


def test_images_too_small_to_mark_are_refused(world, tmp_path):
    # Found here: a header change made a 96 x 2 image, which reached the pattern layout and
    # escaped mark_files as a ValueError.
    path = tmp_path / "strip.png"
    Image.new("RGB", (96, 2), (90, 120, 150)).save(path)
    with pytest.raises(UnsupportedFormatError, match="too small to mark"):
        load_image(path)
    report = api.mark_files(world["registry"], [path], tmp_path / "out")
    assert not report.copies and [f.name for f, _ in report.failures] == ["strip.png"]
    assert load_display_rgb(path).shape == (2, 96, 3)  # a leak this small is still readable


def test_identify_survives_a_leak_with_an_extreme_aspect_ratio(world, tmp_path):
    # Found by this fuzzer: a JPEG whose SOF width became 39200 decoded as a 96 x 39200 strip,
    # and template search resized it to nothing.
    path = tmp_path / "stretched.png"
    with Image.open(io.BytesIO(world["copies"]["beta-rocket.jpg"])) as copy:
        copy.resize((8000, 64)).save(path)
    assert api.identify(world["registry"], path).verdict in (
        "attributed",
        "inconclusive",
        "unknown",
    )
