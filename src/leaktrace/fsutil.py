"""Atomic file writes, shared by marked copies, the originals store and derived files."""

from __future__ import annotations

import contextlib
import os
import secrets

from leaktrace.errors import OutputError


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The data goes to a temporary file in the same folder, is flushed to disk and renamed over
    ``path``; the folder is then synced so the rename itself survives a crash. An existing file
    keeps its permissions; a new one gets ``0o666 & ~umask``. On any failure, Ctrl-C included,
    the temporary file is removed and ``path`` is left as it was; ``OSError`` propagates for the
    caller to describe.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    temp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp")
    # Created with mode 0o666 so that the kernel applies the umask, as for any new file.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            with contextlib.suppress(FileNotFoundError):
                os.chmod(handle.fileno(), os.stat(target).st_mode & 0o7777)
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    # Folders cannot be opened everywhere (Windows): durability of the rename is best effort.
    with contextlib.suppress(OSError):
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path``: readers see the old file or the new one, never a part.

    The data goes to a temporary file in the same folder, is flushed to disk and renamed over
    ``path``. An existing file keeps its permissions; a new one gets ``0o666 & ~umask``.

    Raises
    ------
    leaktrace.errors.OutputError
        Missing or read-only folder, full disk ...; the temporary file is removed and ``path``
        is left as it was.
    """
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise OutputError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]):
    """Yield a temporary path beside ``path``; on a clean exit it is synced and renamed over
    ``path``, on any failure removed. For outputs written by a library that wants a file name
    (a video muxer) rather than bytes: :func:`atomic_write`'s guarantees, same folder, same
    rename."""
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    base, ext = os.path.splitext(os.path.basename(target))
    # The extension is kept last: muxers choose the container by it.
    temp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp{ext}")
    try:
        yield temp
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
