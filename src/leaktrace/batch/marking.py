"""Marking a batch: files and folders for many recipients, in this process, in local worker
processes, or on a Dask cluster, each file marked by :func:`leaktrace.pipeline.mark.mark_one_file`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from leaktrace.errors import InputError, LeaktraceError, OutputError, UnknownRecipientError
from leaktrace.media import default_media, mark_suffixes
from leaktrace.pipeline.mark import (
    MARKED,
    SKIPPED,
    FileOutcome,
    mark_one_file,
    register_one_file,
)
from leaktrace.registry.models import Recipient

__all__ = [
    "FileJob",
    "MarkReport",
    "MarkedCopy",
    "collect_inputs",
    "mark_file_job",
    "mark_files",
    "recipient_chunks",
    "register_file_job",
    "resolve_recipients",
]


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
    """(file, output path relative to a recipient's folder) for files, and for folders of the
    files some medium marks."""
    suffixes = mark_suffixes()
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in suffixes:
                    found.append((child, child.relative_to(path)))
        elif path.exists():
            found.append((path, Path(path.name)))
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError("no image, PDF or text files found in the given paths")
    names = [relative for _, relative in found]
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(
            f"two inputs would be written to the same output name: {', '.join(duplicates)}"
        )
    return found


def resolve_recipients(registry, recipient_ids: Sequence[str] | None) -> list[Recipient]:
    """The recipients named (all of the registry's for ``None``); unknown ones are an error."""
    if recipient_ids is None:
        recipients = registry.list_recipients()
        if not recipients:
            raise UnknownRecipientError("the registry has no recipients yet: add some first")
        return recipients
    if not recipient_ids:
        raise UnknownRecipientError("no recipients given: use --to SLUG or --all")
    return registry.get_recipients(list(dict.fromkeys(recipient_ids)))


def mark_files(
    registry,
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    *,
    recipient_ids: Sequence[str] | None = None,
    on_copy: Callable[[MarkedCopy], None] | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    password: str | None = None,
) -> MarkReport:
    """Give every recipient a uniquely marked copy of every input file.

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
        Files, and folders of them.
    out_dir : path
        Where the recipients' folders go.
    recipient_ids : sequence of str, optional
        Who gets copies; ``None`` means every recipient in the registry.
    on_copy : callable, optional
        Called with each :class:`MarkedCopy` as its file finishes (in input order).
    workers : int
        Local worker processes. 1 marks in this process. With fewer files than twice the
        workers, each file's recipients are split into up to ``workers`` parts
        (:func:`recipient_chunks`): the file is registered once, then every part is a work unit
        that analyses the file again and makes its recipients' copies.
    executor : concurrent.futures.Executor, optional
        Run the files on this executor instead (e.g. :func:`leaktrace.batch.executors.make_executor`
        for a Dask cluster); it is not shut down here. Its workers open the registry themselves,
        so it must be reachable from them under ``registry.open_location``. ``workers`` then only
        says how many parts a file's recipients may be split into.
    password : str, optional
        Password of encrypted input PDFs; their copies are encrypted with it.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    recipients = resolve_recipients(registry, recipient_ids)
    files = collect_inputs(inputs)
    out_root = Path(out_dir)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{out_root}: cannot create the output folder ({exc.strerror or exc})"
        ) from exc
    ids = tuple(r.id for r in recipients)
    parts = recipient_chunks(ids, len(files), workers)
    own = None
    if executor is None and min(workers, len(files) * len(parts)) > 1:
        from leaktrace.batch.executors import make_executor

        executor = own = make_executor(min(workers, len(files) * len(parts)))
    try:
        if executor is None:
            media = default_media()
            outcomes: Iterable[FileOutcome] = (
                mark_one_file(
                    registry, source, relative, out_root, ids, media=media, password=password
                )
                for source, relative in files
            )
        else:
            outcomes = _run_on(executor, registry, files, out_root, parts, password)
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


MIN_CHUNK = 4  # copies: fewer do not pay for analysing the file once more


def recipient_chunks(
    recipient_ids: tuple[str, ...], n_files: int, workers: int
) -> list[tuple[str, ...]]:
    """How every file's recipients are split into work units: in recipient order, up to
    ``workers`` parts of at least ``MIN_CHUNK``, or one part when the files alone keep the
    workers busy (twice as many files as workers: the last file's tail is then short)."""
    if workers < 2 or n_files >= 2 * workers or not recipient_ids:
        return [recipient_ids]
    count = max(1, min(workers, len(recipient_ids) // MIN_CHUNK))
    size = math.ceil(len(recipient_ids) / count)
    return [recipient_ids[i : i + size] for i in range(0, len(recipient_ids), size)]


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


def mark_file_job(job: FileJob) -> FileOutcome:
    """Mark one file in a worker process; the registry is opened once per process."""
    registry = _worker_registry(job)
    return mark_one_file(
        registry,
        Path(job.source),
        Path(job.relative),
        Path(job.out_root),
        job.recipient_ids,
        media=default_media(),
        password=job.password,
    )


def register_file_job(job: FileJob) -> FileOutcome:
    """Register one file in a worker process, before its recipients' parts are marked."""
    registry = _worker_registry(job)
    return register_one_file(
        registry, Path(job.source), media=default_media(), password=job.password
    )


def _worker_registry(job: FileJob):
    from leaktrace.batch.executors import one_thread_per_worker, worker_registry

    one_thread_per_worker()  # also on a Dask worker, which has no pool initializer
    return worker_registry(job.location, job.key)


def _run_on(
    executor: Executor,
    registry,
    files: list[tuple[Path, Path]],
    out_root: Path,
    parts: list[tuple[str, ...]],
    password: str | None = None,
) -> Iterator[FileOutcome]:
    # Absolute paths: a cluster's workers do not share this process's working directory.
    def job(source: Path, relative: Path, ids: tuple[str, ...]) -> FileJob:
        return FileJob(
            registry.open_location,
            registry.key,
            os.path.abspath(source),
            str(relative),
            os.path.abspath(out_root),
            ids,
            password,
        )

    futures: list[Future] = []
    try:
        if len(parts) == 1:
            per_file = [[executor.submit(mark_file_job, job(*f, parts[0]))] for f in files]
            futures = [f for group in per_file for f in group]
        else:
            per_file = _split_files(executor, files, parts, job, futures)
        for group in per_file:
            yield _merged([_outcome(future) for future in group])
    finally:
        for future in futures:
            future.cancel()


def _split_files(executor, files, parts, job, futures: list[Future]) -> list[list[Future]]:
    """Submit each file's registration, then its parts as soon as it is registered (two
    workers registering the same new file at once would race to add it). Every future is also
    added to ``futures``, to be cancelled on the way out; a file whose registration failed keeps
    that future alone."""
    registering = {executor.submit(register_file_job, job(*f, ())): n for n, f in enumerate(files)}
    futures.extend(registering)
    per_file: list[list[Future]] = [[] for _ in files]
    for done in as_completed(registering):
        n = registering[done]
        first = _outcome(done)
        if first.failure is not None:
            per_file[n] = [done]
            continue
        per_file[n] = [executor.submit(mark_file_job, job(*files[n], ids)) for ids in parts]
        futures.extend(per_file[n])
    return per_file


def _outcome(future: Future) -> FileOutcome:
    try:
        return future.result()
    except LeaktraceError:
        raise  # the registry failed: the batch cannot go on
    except Exception as exc:  # a worker died (killed, out of memory) or a bug
        return FileOutcome([], f"internal error, please report it: {type(exc).__name__}: {exc}")


def _merged(outcomes: list[FileOutcome]) -> FileOutcome:
    """One file's outcome from its parts' (in recipient order; the first failure)."""
    copies = [copy for outcome in outcomes for copy in outcome.copies]
    failures = [o.failure for o in outcomes if o.failure is not None]
    return FileOutcome(copies, failures[0] if failures else None)
