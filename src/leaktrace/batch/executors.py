"""Where batch work runs: local worker processes, or an existing Dask cluster.

Batch functions (:func:`leaktrace.api.mark_files`, :func:`leaktrace.batch.scan.scan_folder`) take any
:class:`concurrent.futures.Executor` and submit module-level functions of plain, picklable
arguments to it. :func:`make_executor` builds the usual two:

- local processes (``spawn``: each worker starts clean, with no copy of the parent's database
  connections or threads), one per CPU by default;
- a Dask cluster's executor, from the scheduler's address (``tcp://host:8786``). Dask is imported
  only then, and a missing install says how to add it. The workers must have leaktrace installed,
  reach the registry (a PostgreSQL URL: a SQLite file cannot be shared between machines) and see
  the inputs, the output folder and the originals directory at the same paths (a shared file
  system).

Work units open the registry themselves, once per worker process (:func:`worker_registry`): a
registry object holds database connections and never crosses a process boundary.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from leaktrace.errors import LeaktraceError

__all__ = [
    "ClusterError",
    "default_workers",
    "make_executor",
    "one_thread_per_worker",
    "worker_registry",
]

CONNECT_TIMEOUT = 30.0


class ClusterError(LeaktraceError):
    """The Dask scheduler cannot be reached, or Dask is not installed."""


def default_workers() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class DaskExecutor(Executor):
    """A Dask client's executor that also closes the client when shut down.

    Tasks are submitted with ``pure=False``: two identical submissions are two runs, as with a
    process pool (Dask would otherwise run them once and share the result).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._executor = client.get_executor(pure=False)

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client.scheduler.address!r})"

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            self.client.close()


def make_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> Executor:
    """An executor for batch work; the caller shuts it down (``with make_executor(...) as ex:``).

    Parameters
    ----------
    workers : int, optional
        Local worker processes; default: one per CPU this process may use. Ignored with
        ``scheduler`` (the cluster has its own workers).
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    connect_timeout : float
        Seconds to wait for the scheduler to answer.

    Raises
    ------
    ClusterError
        Dask is not installed, or the scheduler does not answer within ``connect_timeout``.
    ValueError
        ``workers`` is below 1.
    """
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    if scheduler:
        return _dask_executor(scheduler, connect_timeout)
    return ProcessPoolExecutor(
        max_workers=workers or default_workers(),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=one_thread_per_worker,
    )


def _dask_executor(address: str, timeout: float) -> DaskExecutor:
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            "running on a Dask cluster needs dask.distributed: pip install leaktrace[dask]"
        ) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address}: {exc or type(exc).__name__} "
            "(check the address, e.g. tcp://HOST:8786, and that the scheduler is running)"
        ) from None
    return DaskExecutor(client)


# -- the worker side ------------------------------------------------------------------------


def one_thread_per_worker() -> None:
    """Let OpenCV and the BLAS under numpy use one thread in this worker process: the
    parallelism is the processes.

    Both otherwise start a thread per CPU in every worker, and N workers on N CPUs then
    oversubscribe them. OpenBLAS is the worse of the two: its idle threads spin, so a worker's
    small least-squares fits stall the other worker's CPU. On 2 CPUs one identify measured
    0.27 s alone and 0.39 s beside a second worker; with one BLAS thread each, 0.30 s.
    """
    global _limited_pid
    if _limited_pid == os.getpid():  # called for every work unit: once per process suffices
        return
    import numpy  # noqa: F401  (loads numpy's BLAS, so that the limit below reaches it)
    from threadpoolctl import threadpool_limits

    try:
        import cv2  # carries a BLAS of its own
    except ImportError:
        cv2 = None
    # Only libraries already loaded are limited, hence after the imports. Kept for the life of
    # the process (no context manager): the worker does nothing else.
    threadpool_limits(limits=1)
    if cv2 is not None:
        cv2.setNumThreads(1)
    _limited_pid = os.getpid()


_limited_pid: int | None = None
# One registry per worker process and location, opened on first use. The pid guards against a
# registry inherited through fork (its connections belong to the parent); the lock serves
# executors that run several threads per process (Dask workers, thread pools).
_registries: dict[tuple[int, str, bytes | None], Any] = {}
_registries_lock = threading.Lock()


def worker_registry(location: str, key: bytes | None) -> Any:
    """This worker process's registry at ``location``, opened on first use and kept open."""
    from leaktrace.registry import open_registry

    cache_key = (os.getpid(), location, key)
    with _registries_lock:
        registry = _registries.get(cache_key)
        if registry is None:
            registry = open_registry(location, key=key)
            _registries[cache_key] = registry
        return registry
