"""The library's front door: what the CLI calls, and what Python users call.

Functions here take a registry object and paths, return plain result objects, and raise
:class:`leaktrace.errors.LeaktraceError` subclasses. They never print or exit.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from leaktrace.errors import InputError, LeaktraceError, OutputError, UnknownRecipientError
from leaktrace.registry import SqlRegistry, init_registry, open_registry
from leaktrace.registry.models import Asset, Recipient

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif"}
MARKABLE_SUFFIXES = IMAGE_SUFFIXES | {".pdf"}

__all__ = [
    "audit",
    "IMAGE_SUFFIXES",
    "MarkReport",
    "add_recipient",
    "identify",
    "import_recipients",
    "init_registry",
    "list_assets",
    "mark_files",
    "open_registry",
    "read_recipients_csv",
    "slugify",
    "sync_recipients",
]


def slugify(name: str) -> str:
    """A recipient id from a display name: ``"Auto Motor & Sport"`` -> ``"auto-motor-sport"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64] or "recipient"


def add_recipient(
    registry: SqlRegistry,
    name: str,
    *,
    recipient_id: str | None = None,
    email: str | None = None,
    org: str | None = None,
) -> Recipient:
    recipient = Recipient(id=recipient_id or slugify(name), name=name, email=email, org=org)
    return registry.add_recipient(recipient)


def read_recipients_csv(csv_path: str | Path) -> list[Recipient]:
    """The rows of a CSV file with header ``id,name,email,org`` (``email`` and ``org`` optional;
    an empty ``id`` is made from the name)."""
    path = Path(csv_path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"id", "name"} - set(reader.fieldnames or [])
            if missing:
                raise InputError(
                    f"{path}: the CSV header must include id,name (optional email,org); "
                    f"missing {', '.join(sorted(missing))}"
                )
            rows = list(reader)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the CSV file ({exc.strerror or exc})") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable UTF-8 CSV file ({exc})") from exc
    recipients = []
    for line, row in enumerate(rows, start=2):
        name = (row.get("name") or "").strip()
        if not name:
            raise InputError(f"{path}:{line}: the name column is empty")
        recipients.append(
            Recipient(
                id=(row.get("id") or "").strip() or slugify(name),
                name=name,
                email=(row.get("email") or "").strip() or None,
                org=(row.get("org") or "").strip() or None,
            )
        )
    return recipients


def import_recipients(registry: SqlRegistry, csv_path: str | Path) -> list[Recipient]:
    """Add every row of a CSV file with header ``id,name,email,org``, all or nothing."""
    return registry.add_recipients(read_recipients_csv(csv_path))


def sync_recipients(
    registry: SqlRegistry, csv_path: str | Path
) -> tuple[list[Recipient], list[Recipient]]:
    """Make sure every recipient listed in a CSV file exists: add the unknown ones, all or nothing.

    For unattended batches (``mark --recipients suppliers.csv``): recipients already in the
    registry are kept as they are. Safe when several processes run it at once.

    Returns
    -------
    listed, added : list of Recipient
        The ids listed, in file order (duplicates are an error), and the recipients just added.
    """
    listed = read_recipients_csv(csv_path)
    if not listed:
        raise InputError(f"{csv_path}: the CSV file lists no recipients")
    return listed, registry.add_missing_recipients(listed)


def list_assets(registry: SqlRegistry) -> list[Asset]:
    return registry.list_assets()


# --------------------------------------------------------------------------------------- mark

MARKED, SKIPPED = "marked", "skipped"


@dataclass(frozen=True)
class MarkedCopy:
    """One recipient's copy of one input file.

    ``status`` is ``"marked"`` when this run wrote it, ``"skipped"`` when an earlier run already
    had: the output exists and its SHA-256 is the one recorded for that recipient and asset.
    """

    source: Path
    recipient_id: str
    asset_id: str
    output: Path
    sha256: str
    status: str = MARKED


@dataclass
class MarkReport:
    """What a batch did: every copy (in input order, then recipient order) and every failure."""

    copies: list[MarkedCopy] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def marked(self) -> list[MarkedCopy]:
        return [c for c in self.copies if c.status == MARKED]

    @property
    def skipped(self) -> list[MarkedCopy]:
        return [c for c in self.copies if c.status == SKIPPED]

    @property
    def nothing_to_do(self) -> bool:
        """True when every copy already existed and nothing failed."""
        return not self.failures and all(c.status == SKIPPED for c in self.copies)


def collect_inputs(inputs: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """(file, output path relative to a recipient's folder) for files and folders of images
    and PDFs."""
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in MARKABLE_SUFFIXES:
                    found.append((child, child.relative_to(path)))
        elif path.exists():
            found.append((path, Path(path.name)))
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError("no image or PDF files found in the given paths")
    names = [relative for _, relative in found]
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(
            f"two inputs would be written to the same output name: {', '.join(duplicates)}"
        )
    return found


def _resolve_recipients(
    registry: SqlRegistry, recipient_ids: Sequence[str] | None
) -> list[Recipient]:
    if recipient_ids is None:
        recipients = registry.list_recipients()
        if not recipients:
            raise UnknownRecipientError("the registry has no recipients yet: add some first")
        return recipients
    if not recipient_ids:
        raise UnknownRecipientError("no recipients given: use --to SLUG or --all")
    return registry.get_recipients(list(dict.fromkeys(recipient_ids)))


def mark_files(
    registry: SqlRegistry,
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    *,
    recipient_ids: Sequence[str] | None = None,
    on_copy: Callable[[MarkedCopy], None] | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    password: str | None = None,
) -> MarkReport:
    """Give every recipient a uniquely marked copy of every input image and PDF.

    Writes ``out_dir/<recipient id>/<file name>`` (folders keep their inner structure). A copy is
    recorded in the registry only after its file is safely in place. A copy that an earlier run
    already made (the output exists with the SHA-256 recorded for it) is skipped, so rerunning a
    batch does only what is missing; marking is deterministic, so what it writes again is
    byte-identical. Files that cannot be marked are reported in ``MarkReport.failures`` and do
    not stop the others.

    Parameters
    ----------
    registry : SqlRegistry
        The open registry.
    inputs : iterable of path
        Image and PDF files, and folders of them.
    out_dir : path
        Where the recipients' folders go.
    recipient_ids : sequence of str, optional
        Who gets copies; ``None`` means every recipient in the registry.
    on_copy : callable, optional
        Called with each :class:`MarkedCopy` as its file finishes (in input order).
    workers : int
        Local worker processes, each marking whole files (a file's analysis is done once, by one
        worker). 1 marks in this process.
    executor : concurrent.futures.Executor, optional
        Run the files on this executor instead (e.g. :func:`leaktrace.batch.executors.make_executor`
        for a Dask cluster); it is not shut down here. Its workers open the registry themselves,
        so it must be reachable from them under ``registry.open_location``.
    password : str, optional
        Password of encrypted input PDFs; their copies are encrypted with it.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    recipients = _resolve_recipients(registry, recipient_ids)
    files = collect_inputs(inputs)
    out_root = Path(out_dir)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{out_root}: cannot create the output folder ({exc.strerror or exc})"
        ) from exc
    ids = tuple(r.id for r in recipients)
    own = None
    if executor is None and min(workers, len(files)) > 1:
        from leaktrace.batch.executors import make_executor

        executor = own = make_executor(min(workers, len(files)))
    try:
        if executor is None:
            outcomes: Iterable[FileOutcome] = (
                mark_one_file(registry, source, relative, out_root, ids, password=password)
                for source, relative in files
            )
        else:
            outcomes = _run_on(executor, registry, files, out_root, ids, password)
        report = MarkReport()
        for (source, relative), outcome in zip(files, outcomes, strict=True):
            for rid, asset_id, sha256, status in outcome.copies:
                copy = MarkedCopy(source, rid, asset_id, out_root / rid / relative, sha256, status)
                report.copies.append(copy)
                if on_copy is not None:
                    on_copy(copy)
            if outcome.failure is not None:
                report.failures.append((source, outcome.failure))
    finally:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)
    return report


@dataclass(frozen=True)
class FileJob:
    """One input file to mark for some recipients: the plain, picklable unit of parallel work."""

    location: str  # the registry as a worker opens it (a URL may carry a password)
    key: bytes = field(repr=False)
    source: str
    relative: str
    out_root: str
    recipient_ids: tuple[str, ...]
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # neither the key nor a URL's password may reach a log
        return f"FileJob({self.source!r}, {len(self.recipient_ids)} recipients)"


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file: ``(recipient, asset, sha256, status)`` per copy, and the error
    that stopped it (the copies before it are written and recorded)."""

    copies: list[tuple[str, str, str, str]]
    failure: str | None = None


def mark_file_job(job: FileJob) -> FileOutcome:
    """Mark one file in a worker process; the registry is opened once per process."""
    from leaktrace.batch.executors import one_thread_per_worker, worker_registry

    one_thread_per_worker()  # also on a Dask worker, which has no pool initializer
    registry = worker_registry(job.location, job.key)
    return mark_one_file(
        registry,
        Path(job.source),
        Path(job.relative),
        Path(job.out_root),
        job.recipient_ids,
        password=job.password,
    )


def _run_on(
    executor: Executor,
    registry: SqlRegistry,
    files: list[tuple[Path, Path]],
    out_root: Path,
    ids: tuple[str, ...],
    password: str | None = None,
) -> Iterator[FileOutcome]:
    # Absolute paths: a cluster's workers do not share this process's working directory.
    futures = [
        executor.submit(
            mark_file_job,
            FileJob(
                registry.open_location,
                registry.key,
                os.path.abspath(source),
                str(relative),
                os.path.abspath(out_root),
                ids,
                password,
            ),
        )
        for source, relative in files
    ]
    try:
        for future in futures:
            try:
                yield future.result()
            except LeaktraceError:
                raise  # the registry failed: the batch cannot go on
            except Exception as exc:  # a worker died (killed, out of memory) or a bug
                yield FileOutcome(
                    [], f"internal error, please report it: {type(exc).__name__}: {exc}"
                )
    finally:
        for future in futures:
            future.cancel()


def mark_one_file(
    registry: SqlRegistry,
    source: Path,
    relative: Path,
    out_root: Path,
    recipient_ids: Sequence[str],
    *,
    password: str | None = None,
) -> FileOutcome:
    """Mark one input file for every recipient that has no valid copy of it yet.

    The file is read, hashed, registered and analysed once; then each recipient's copy is
    synthesised, encoded and written atomically. The copies are recorded in one transaction, after
    their files are in place (also when a later copy of the same file fails).
    """
    from leaktrace.media.image import files as images
    from leaktrace.media.image.asset import analyse, register_image
    from leaktrace.registry.models import Copy

    done: dict[str, str] = {}
    written: list[Copy] = []
    asset_id = ""
    try:
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise InputError(f"{source}: cannot read ({exc.strerror or exc})") from exc
        asset = registry.find_asset_by_sha256(images.sha256_bytes(data))
        if asset is not None:
            asset_id = asset.id
            done = _already_done(registry, asset.id, relative, out_root, recipient_ids)
        todo = [rid for rid in recipient_ids if rid not in done]
        if todo and _is_pdf(source, data):
            asset_id = _mark_pdf(
                registry, source, data, relative, out_root, todo, password, written
            )
        elif todo:
            loaded = images.load_image(data, name=str(source))
            asset = register_image(registry, source, data, loaded)
            asset_id = asset.id
            analysis = analyse(asset, loaded, registry.key)
            imprinter = _imprinter(analysis, loaded)
            for rid in todo:
                encoded, code = _marked_bytes(imprinter, analysis, loaded, rid)
                output = out_root / rid / relative
                try:
                    output.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise OutputError(
                        f"{output.parent}: cannot create folder ({exc.strerror or exc})"
                    ) from exc
                images.write_atomic(output, encoded)
                written.append(
                    Copy(asset.id, rid, images.sha256_bytes(encoded), str(relative), code=code)
                )
        failure = None
    except (InputError, OutputError) as exc:
        failure = str(exc)
    finally:  # even when interrupted: what is on disk gets recorded
        if written:
            registry.record_copies(written)
    if not asset_id and written:
        asset_id = written[0].asset_id
    made = {c.recipient_id: c.output_sha256 for c in written}
    copies = [
        (rid, asset_id, done[rid], SKIPPED) if rid in done else (rid, asset_id, made[rid], MARKED)
        for rid in recipient_ids
        if rid in done or rid in made
    ]
    return FileOutcome(copies, failure)


def _is_pdf(source: Path, data: bytes) -> bool:
    from leaktrace.media.pdf import looks_like_pdf

    return source.suffix.lower() == ".pdf" or looks_like_pdf(data)


def _mark_pdf(
    registry: SqlRegistry,
    source: Path,
    data: bytes,
    relative: Path,
    out_root: Path,
    todo: Sequence[str],
    password: str | None,
    written: list,
) -> str:
    """Write each recipient's copy of a PDF and append its records to ``written``: one per
    (document, recipient), and one per (page or embedded image, recipient) carrying its code,
    so a screenshot of a page or an image pulled out of the file finds its holders like any
    image. Returns the document's asset id."""
    from leaktrace.fsutil import atomic_write
    from leaktrace.media.pdf.marking import marked_copy, prepare
    from leaktrace.registry.models import Copy

    prepared = prepare(registry, source, data, password)
    for rid in todo:
        encoded, asset_codes = marked_copy(prepared, rid)
        output = out_root / rid / relative
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(output, encoded)
        except OSError as exc:
            raise OutputError(f"{output}: cannot write ({exc.strerror or exc})") from exc
        digest = hashlib.sha256(encoded).hexdigest()
        written.append(Copy(prepared.document.id, rid, digest, str(relative)))
        written.extend(
            Copy(asset_id, rid, digest, str(relative), code=code) for asset_id, code in asset_codes
        )
    return prepared.document.id


def _already_done(
    registry: SqlRegistry,
    asset_id: str,
    relative: Path,
    out_root: Path,
    recipient_ids: Sequence[str],
) -> dict[str, str]:
    """Recipients whose output exists with a SHA-256 recorded for them: ``{id: sha256}``."""
    recorded: dict[str, set[str]] = {}
    for copy in registry.list_copies(asset_id=asset_id, recipient_ids=recipient_ids):
        recorded.setdefault(copy.recipient_id, set()).add(copy.output_sha256)
    done = {}
    for rid in recipient_ids:
        if rid not in recorded:
            continue
        try:
            digest = hashlib.sha256((out_root / rid / relative).read_bytes()).hexdigest()
        except OSError:  # missing or unreadable: make it again
            continue
        if digest in recorded[rid]:
            done[rid] = digest
    return done


def _imprinter(analysis, loaded):
    """The asset's imprinter: what every recipient's copy shares, prepared once per file."""
    from leaktrace.engine.imprint import Imprinter
    from leaktrace.media.image import files as images

    orientation = loaded.orientation
    return Imprinter(
        analysis.keying,
        analysis.mask,
        loaded.pixels,
        to_stored=lambda array: images.from_display(array, orientation),
    )


def _marked_bytes(imprinter, analysis, loaded, recipient_id: str) -> tuple[bytes, bytes]:
    """The encoded copy for one recipient, and the recipient's packed code (cached in the
    registry for identify)."""
    import numpy as np

    from leaktrace.media.image import files as images

    code = analysis.keying.recipient_code(recipient_id)
    encoded = images.encode_like(loaded, imprinter.mark(code), loaded.alpha)
    return encoded, np.packbits(code > 0).tobytes()


def identify(registry: SqlRegistry, leak: str | Path, **options):
    """Which registered asset does ``leak`` show, and whose copy is it? See
    :func:`leaktrace.pipeline.identify.identify_file` for the options and the result."""
    from leaktrace.pipeline.identify import identify_file

    return identify_file(registry, Path(leak), **options)


def audit(registry: SqlRegistry):
    """Verify the audit log's hash chain and that every record still matches the row that
    recorded it; returns an :class:`~leaktrace.registry.models.AuditReport`."""
    from leaktrace.registry.reconcile import check_audit_trail

    return check_audit_trail(registry)
