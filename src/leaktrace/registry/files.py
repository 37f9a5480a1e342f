"""Atomic writes of secret and evidence files: keys, keyrings, key backups, signed heads.

:func:`leaktrace.fsutil.atomic_write` gives a new file the umask's mode and sets the final mode
only after the data is written, so a key would be readable by others for an instant. Here the
temporary file is created with its final mode (0600 by default) before any byte is written. A new
file is put in place with ``link`` (which fails if the name exists), so it is never overwritten and
a reader or a crash sees no file or the whole file, never a part.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

__all__ = ["replace_file", "write_new_file"]

# Filesystems that have no hard links answer link() with one of these: fall back (see below).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def _temp_with(target: Path, data: bytes, mode: int) -> Path:
    """A fsynced temporary file beside ``target`` holding ``data``, created with ``mode``."""
    temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have removed bits the caller asked for
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _sync_folder(folder: Path) -> None:
    # Durability of the rename or link itself; folders cannot be opened everywhere.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_new_file(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Create ``path`` holding ``data`` with ``mode``, atomically; never replace an existing file.

    Raises
    ------
    FileExistsError
        When ``path`` exists (it is left as it was).
    OSError
        For any other failure; no temporary file is left behind.
    """
    target = Path(os.path.abspath(path))
    temp = _temp_with(target, data, mode)
    try:
        try:
            os.link(temp, target)
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            # No hard links here: reserve the name exclusively, then move the data over it.
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
            os.replace(temp, target)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    _sync_folder(target.parent)


def replace_file(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Write ``path`` atomically with ``mode``, replacing it if it exists (readers see the old
    content or the new, never a part)."""
    target = Path(os.path.abspath(path))
    temp = _temp_with(target, data, mode)
    try:
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_folder(target.parent)
