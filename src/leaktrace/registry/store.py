"""A content-addressed store for original files and small derived files.

Originals live at ``ROOT/ab/abcdef...`` (the SHA-256 of their bytes, sharded by its first two hex
digits); derived files (``<sha>.features.npz`` and the like) at ``ROOT/blobs/<first two>/<name>``.
Every write goes to a temporary file in the same directory, is flushed to disk and then renamed into
place, so a reader never sees a half-written file and a crash leaves no corrupt entry behind.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from leaktrace.errors import RegistryError, RegistryReadOnlyError
from leaktrace.fsutil import atomic_write

__all__ = ["OriginalStore"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_BLOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def _check_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
        raise RegistryError(f"not a SHA-256 digest (64 lowercase hex characters): {sha256!r:.80}")
    return sha256


def _check_blob_name(name: str) -> str:
    if not isinstance(name, str) or _BLOB_NAME.fullmatch(name) is None or ".." in name:
        raise RegistryError(
            f"invalid blob name {name!r:.80}: use letters, digits, '.', '_' and '-' only, "
            "without '..'"
        )
    return name


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, data)


class OriginalStore:
    """Originals by SHA-256 plus small named blobs, under one root directory."""

    def __init__(
        self, root: str | os.PathLike[str], *, read_only_reason: str | None = None
    ) -> None:
        self.root = Path(root)
        #: Why this store must not be written (its registry is open read-only), or None.
        self.read_only_reason = read_only_reason

    def _writable(self, doing: str) -> None:
        if self.read_only_reason is not None:
            raise RegistryReadOnlyError(
                f"the originals store at {self.root} belongs to a registry open read-only "
                f"({self.read_only_reason}): {doing} needs write access to it"
            )

    def __repr__(self) -> str:
        return f"OriginalStore({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        """Where the original with this SHA-256 is (or would be) stored."""
        _check_sha256(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256; storing the same bytes again does nothing."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.is_file() and target.stat().st_size == len(data):
            return sha
        self._writable("storing an original")
        try:
            _atomic_write(target, bytes(data))
        except OSError as exc:
            raise RegistryError(
                f"cannot write to the originals store at {self.root}: {exc.strerror or exc}"
            ) from exc
        return sha

    def get(self, sha256: str) -> bytes:
        """Return the original with this SHA-256, checking that its bytes still match it."""
        target = self.path(sha256)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise RegistryError(
                f"the originals store at {self.root} lacks the original {sha256}: "
                "was it moved or deleted?"
            ) from None
        except OSError as exc:
            raise RegistryError(
                f"cannot read the original {sha256} from the originals store at {self.root}: "
                f"{exc.strerror or exc}"
            ) from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise RegistryError(
                f"the original {sha256} in the originals store at {self.root} is corrupt: "
                "its content no longer matches its SHA-256"
            )
        return data

    def has(self, sha256: str) -> bool:
        """Whether the original with this SHA-256 is present."""
        return self.path(sha256).is_file()

    def _blob_path(self, name: str) -> Path:
        _check_blob_name(name)
        return self.root / "blobs" / name[:2] / name

    def put_blob(self, name: str, data: bytes) -> None:
        """Store a small derived file under ``name``, replacing any previous content atomically."""
        target = self._blob_path(name)
        self._writable(f"storing {name}")
        try:
            _atomic_write(target, bytes(data))
        except OSError as exc:
            raise RegistryError(
                f"cannot write {name} to the originals store at {self.root}: {exc.strerror or exc}"
            ) from exc

    def get_blob(self, name: str) -> bytes | None:
        """Return the derived file stored under ``name``, or ``None`` if there is none."""
        target = self._blob_path(name)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RegistryError(
                f"cannot read {name} from the originals store at {self.root}: {exc.strerror or exc}"
            ) from exc
