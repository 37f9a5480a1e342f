"""Identify every file in a folder, in parallel, without letting one bad file stop the rest.

The work unit, :func:`identify_one`, is a module-level function of plain, picklable arguments (the
registry's location and key, a path, the bound), so any :class:`concurrent.futures.Executor` can
run it: a local process pool by default, or a Dask cluster's executor. Registry objects hold
database connections and never cross a process boundary: every worker process opens its own, once.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaktrace.batch.executors import default_workers, one_thread_per_worker, worker_registry
from leaktrace.engine.watermark.detect import DEFAULT_BOUND
from leaktrace.errors import InputError, LeaktraceError
from leaktrace.media import default_media, leak_suffixes

REPORT_SUFFIX = ".html"
INDEX_NAME = "index.html"

__all__ = [
    "Scan",
    "ScanResult",
    "find_scan_files",
    "identify_one",
    "report_name",
    "scan_folder",
]


@dataclass(frozen=True)
class ScanResult:
    """The outcome for one file of a scan.

    Attributes
    ----------
    file : str
        The file's path (the scanned folder joined with its relative path).
    relative : str
        Its path inside the scanned folder, with ``/`` separators.
    record : dict
        What ``identify --json`` prints for it, or ``{"file", "verdict": "error", "error"}``.
        Plain JSON types only. ``"report"`` names the evidence report when one was written,
        ``"report_error"`` says why it could not be.
    """

    file: str
    relative: str
    record: dict[str, Any]

    @property
    def verdict(self) -> str:
        return self.record["verdict"]

    @property
    def failed(self) -> bool:
        """True when the file could not be identified, or its report could not be written."""
        return self.verdict == "error" or "report_error" in self.record

    @property
    def error(self) -> str | None:
        return self.record.get("error") or self.record.get("report_error")

    @property
    def note(self) -> str:
        """Why the file failed or was not attributed, without the file name repeated."""
        text = self.error or self.record.get("reason") or ""
        return text.removeprefix(f"{self.file}: ")

    @property
    def recipient(self) -> dict | None:
        return self.record.get("recipient")

    @property
    def asset(self) -> dict | None:
        return self.record.get("asset")

    @property
    def p_value(self) -> float | None:
        return self.record.get("p_value")


def find_scan_files(folder: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Every image and PDF under ``folder``, recursively, sorted by relative path.

    Hidden files and folders (names starting with ``.``) are skipped: a registry kept inside the
    scanned folder, editors' and atomic writers' temporary files. Symbolic links to folders are
    not followed, so a link loop cannot make the scan endless.

    Returns
    -------
    list of (Path, str)
        Each file's path and its relative path with ``/`` separators.

    Raises
    ------
    leaktrace.errors.InputError
        ``folder`` is not a folder, or holds no image or PDF.
    """
    root = Path(folder)
    suffixes = leak_suffixes()
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "no such folder"
        raise InputError(f"{root}: {what}: give the folder of files to scan")
    found: list[tuple[Path, str]] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(current) / name
            if name.startswith(".") or path.suffix.lower() not in suffixes:
                continue
            found.append((path, path.relative_to(root).as_posix()))
    if not found:
        raise InputError(
            f"{root}: no images or PDFs found (looked for {', '.join(sorted(suffixes))})"
        )
    found.sort(key=lambda item: item[1])
    return found


def report_name(relative: str) -> str:
    """Where a file's report goes inside the report folder: its relative path plus ``.html``.

    Mirroring the scanned tree keeps names unique and recognisable; an input never ends in
    ``.html``, so no report can overwrite ``index.html``.
    """
    return relative + REPORT_SUFFIX


# ----------------------------------------------------------------------------- worker side


def _open_worker_registry(location: str, key: bytes | None) -> None:
    """Process-pool initializer: one OpenCV thread, and this worker's registry opened before the
    first file arrives."""
    one_thread_per_worker()
    with contextlib.suppress(LeaktraceError):  # reported per file by identify_one instead
        worker_registry(location, key)


def _plain(payload: dict) -> dict:
    # Dates, paths and numpy scalars become JSON types, so that every executor returns the same.
    return json.loads(json.dumps(payload, default=str))


def identify_one(
    location: str,
    key: bytes | None,
    path: str,
    *,
    bound: float = DEFAULT_BOUND,
    report_path: str | None = None,
    parameters: dict | None = None,
    registry: Any = None,
    password: str | None = None,
) -> dict:
    """Identify one file and return its JSON record; never raises for a bad file.

    Parameters
    ----------
    location : str
        Registry folder or database URL, opened once per worker process.
    key : bytes or None
        The registry key (None: the folder's key file).
    path : str
        The file to identify.
    bound : float
        Largest acceptable family-wise probability of a coincidental accusation.
    report_path : str, optional
        Also write the evidence report there.
    parameters : dict, optional
        Extra settings recorded in the report.
    registry : SqlRegistry, optional
        Use this open registry instead (in-process scans only; never pass one to a pool).
    password : str, optional
        Password of encrypted PDFs.

    Returns
    -------
    dict
        ``identify --json``'s record, or ``{"file", "verdict": "error", "error"}``.
    """
    try:
        from leaktrace.pipeline.identify import identify_file

        if registry is None:
            one_thread_per_worker()  # also on a Dask worker, which runs no pool initializer
            registry = worker_registry(location, key)
        result = identify_file(
            registry, Path(path), media=default_media(), bound=bound, password=password
        )
    except LeaktraceError as exc:
        return {"file": path, "verdict": "error", "error": str(exc)}
    except Exception as exc:  # a bug must not end a scan of thousands of files
        return {"file": path, "verdict": "error", "error": _internal(exc)}
    record = _plain(result.to_dict())
    record["file"] = path
    if report_path is not None:
        try:
            from leaktrace.report import write_report

            write_report(registry, result, report_path, parameters=parameters)
            record["report"] = report_path
        except LeaktraceError as exc:
            record["report_error"] = str(exc)
        except Exception as exc:
            record["report_error"] = _internal(exc)
    return record


def _internal(exc: BaseException) -> str:
    return f"internal error, please report it: {type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- parent side


class Scan:
    """An iterator over a running scan's results, in path order, that knows its length.

    Attributes
    ----------
    files : list of (Path, str)
        What is being scanned: each file and its relative path.
    """

    def __init__(self, files: list[tuple[Path, str]], results: Iterator[ScanResult]) -> None:
        self.files = files
        self._results = results

    @property
    def total(self) -> int:
        return len(self.files)

    def __iter__(self) -> Scan:
        return self

    def __next__(self) -> ScanResult:
        return next(self._results)

    def close(self) -> None:
        """Stop early: cancel what has not started and release the workers and the registry."""
        self._results.close()


def scan_folder(
    location: str,
    key: bytes | None,
    folder: str | os.PathLike[str],
    *,
    workers: int | None = None,
    executor: Executor | None = None,
    bound: float = DEFAULT_BOUND,
    report_dir: str | os.PathLike[str] | None = None,
    password: str | None = None,
) -> Scan:
    """Identify every image under ``folder``; iterate for one result per file, in path order.

    Files that cannot be identified (corrupt, unreadable, PDFs for now) give an ``"error"``
    result and never stop the scan. The folder, the registry and the report folder are checked
    before this returns, so those errors come first and the work has not started.

    Parameters
    ----------
    location : str
        Registry folder or database URL. It is opened once here, then once in every worker
        process (registry objects never cross a process boundary).
    key : bytes or None
        The registry key; None reads the registry folder's key file.
    folder : path
        The folder to scan, recursively (see :func:`find_scan_files`).
    workers : int, optional
        Worker processes when no ``executor`` is given; default: one per CPU. ``1`` runs in
        this process.
    executor : concurrent.futures.Executor, optional
        Runs :func:`identify_one` instead of a local process pool (e.g. a Dask client's
        ``get_executor()``). It is not shut down here.
    bound : float
        Largest acceptable family-wise probability of a coincidental accusation.
    report_dir : path, optional
        Write one evidence report per file (see :func:`report_name`) and an ``index.html``.
    password : str, optional
        Password of encrypted PDFs in the folder.

    Returns
    -------
    Scan
        An iterator of :class:`ScanResult`; ``total`` is the number of files.

    Raises
    ------
    leaktrace.errors.InputError
        ``folder`` is missing or holds no image.
    leaktrace.errors.RegistryError
        The registry cannot be opened (missing, wrong key, unreachable).
    leaktrace.errors.OutputError
        ``report_dir`` cannot be created (the index is written when the iteration ends).
    """
    from leaktrace.registry import open_registry

    if not 0 < bound < 1:
        raise ValueError("bound must be between 0 and 1")
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    location = os.fspath(location)
    files = find_scan_files(folder)
    reports = None if report_dir is None else _prepare_report_dir(Path(report_dir), files)
    registry = open_registry(location, key=key)
    parameters = {"bound": bound, "registry": registry.location, "scanned folder": str(folder)}
    identify_options = {"bound": bound, "password": password}
    if executor is None and min(workers or default_workers(), len(files)) == 1:
        results = _in_process(registry, files, reports, identify_options, parameters)
    else:
        # Closed before any worker starts: connections must not be shared with a child process.
        registry.close()
        results = _in_workers(
            location, key, files, reports, identify_options, parameters, workers, executor
        )
    return Scan(files, results)


def _in_process(registry, files, reports, options, parameters) -> Iterator[ScanResult]:
    try:
        records = (
            identify_one(
                registry.location,
                None,
                str(path),
                report_path=_report_for(reports, rel),
                parameters=parameters,
                registry=registry,
                **options,
            )
            for path, rel in files
        )
        collected = yield from _wrap(files, records)
    finally:
        registry.close()
    _finish(reports, collected)


def _in_workers(
    location, key, files, reports, options, parameters, workers, executor
) -> Iterator[ScanResult]:
    own_pool = None
    if executor is None:
        import multiprocessing

        # "spawn": workers start clean, with no copy of this process's threads or connections.
        own_pool = ProcessPoolExecutor(
            max_workers=min(workers or default_workers(), len(files)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open_worker_registry,
            initargs=(location, key),
        )
        executor = own_pool
    # A cluster's workers do not share this process's working directory; local ones do, and
    # keep the paths as the user gave them.
    where = str if own_pool is not None else os.path.abspath
    try:
        futures = [
            executor.submit(
                identify_one,
                location,
                key,
                where(path),
                report_path=None if reports is None else where(_report_for(reports, rel)),
                parameters=parameters,
                **options,
            )
            for path, rel in files
        ]
        records = (_outcome(f, str(p)) for f, (p, _) in zip(futures, files, strict=True))
        collected = yield from _wrap(files, records)
    finally:
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
    _finish(reports, collected)


def _outcome(future: Future, path: str) -> dict:
    try:
        return future.result()
    except Exception as exc:  # the worker itself died (killed, out of memory) or the executor broke
        return {"file": path, "verdict": "error", "error": _internal(exc)}


def _wrap(files: list[tuple[Path, str]], records) -> Iterator[ScanResult]:
    collected: list[ScanResult] = []
    for (path, rel), record in zip(files, records, strict=True):
        result = ScanResult(str(path), rel, record)
        collected.append(result)
        yield result
    return collected


def _report_for(reports: Path | None, relative: str) -> str | None:
    return None if reports is None else str(reports / report_name(relative))


def _prepare_report_dir(root: Path, files: list[tuple[Path, str]]) -> Path:
    from leaktrace.errors import OutputError

    try:
        root.mkdir(parents=True, exist_ok=True)
        for folder in {(root / report_name(rel)).parent for _, rel in files}:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{root}: cannot create the report folder ({exc.strerror or exc})"
        ) from exc
    return root


def _finish(reports: Path | None, results: list[ScanResult]) -> None:
    if reports is None:
        return
    from leaktrace.report import write_index

    write_index(reports / INDEX_NAME, results)
