"""Marking, the same for every medium: one input file, read and hashed once, prepared once by
its medium, then one copy per recipient written atomically and recorded.

A medium is anything with the small interface of :class:`MarkMedium`; what it prepares makes
each recipient's copy (:class:`PreparedFile`). Skipping copies an earlier run already made,
writing, and recording happen here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from leaktrace.errors import InputError, OutputError
from leaktrace.fsutil import write_atomic
from leaktrace.pipeline.openings import CopyCommitter
from leaktrace.registry.models import Copy

__all__ = [
    "MARKED",
    "SKIPPED",
    "FileOutcome",
    "MarkMedium",
    "PreparedFile",
    "PreparedStream",
    "mark_one_file",
    "register_one_file",
]

MARKED, SKIPPED = "marked", "skipped"


class PreparedFile(Protocol):
    """A source file registered and analysed, ready to make recipients' copies."""

    @property
    def asset_id(self) -> str: ...

    def copy_for(self, recipient_id: str) -> tuple[bytes, list[tuple[str, bytes | None]]]:
        """The recipient's encoded copy, and ``(asset id, packed code or None)`` for every
        registered asset the copy carries a mark of (recorded as one copy each)."""


class PreparedStream(Protocol):
    """A prepared file whose copies are too big to hold in memory (a video): each copy is
    encoded straight into a file, and temporary state is released by :meth:`close`."""

    @property
    def asset_id(self) -> str: ...

    def write_copy(self, recipient_id: str, output: Path) -> list[tuple[str, bytes | None]]:
        """Write the recipient's copy to ``output`` atomically (complete or absent); returns
        what :meth:`PreparedFile.copy_for` returns beside the bytes."""

    def close(self) -> None: ...


class MarkMedium(Protocol):
    """What marking needs of a medium (images, PDFs, videos, text)."""

    name: str
    mark_suffixes: frozenset[str]

    def claims(self, path: Path, data: bytes) -> bool:
        """Whether this medium marks the file (by its content)."""

    def prepare(
        self, registry, path: Path, data: bytes, password: str | None
    ) -> PreparedFile | PreparedStream:
        """Register the file (idempotent by content) and analyse it, once."""


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file: ``(recipient, asset, sha256, status)`` per copy, and the error
    that stopped it (the copies before it are written and recorded)."""

    copies: list[tuple[str, str, str, str]]
    failure: str | None = None


def mark_one_file(
    registry,
    source: Path,
    relative: Path,
    out_root: Path,
    recipient_ids: Sequence[str],
    *,
    media: Sequence[MarkMedium],
    password: str | None = None,
) -> FileOutcome:
    """Mark one input file for every recipient that has no valid copy of it yet.

    The file is read, hashed, registered and analysed once; then each recipient's copy is
    made, encoded and written atomically to ``out_root/<recipient>/<relative>``. The copies
    are recorded in one transaction, after their files are in place (also when a later copy of
    the same file fails).
    """
    done: dict[str, str] = {}
    written: list[Copy] = []
    # Every copy is committed to its code as it is made (its receipt shows the commitment).
    committer = CopyCommitter(registry)
    asset_id = ""
    try:
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise InputError(f"{source}: cannot read ({exc.strerror or exc})") from exc
        asset = registry.find_asset_by_sha256(hashlib.sha256(data).hexdigest())
        if asset is not None:
            asset_id = asset.id
            done = _already_done(registry, asset.id, relative, out_root, recipient_ids)
        todo = [rid for rid in recipient_ids if rid not in done]
        if todo:
            medium = next(m for m in media if m.claims(source, data))
            prepared = medium.prepare(registry, source, data, password)
            try:
                asset_id = prepared.asset_id
                for rid in todo:
                    digest, marks = _make_copy(prepared, rid, out_root / rid / relative)
                    written.extend(
                        Copy(
                            marked,
                            rid,
                            digest,
                            str(relative),
                            code=code,
                            key_id=committer.key_id,
                            commitment=committer.commit(marked, rid, code),
                        )
                        for marked, code in marks
                    )
            finally:
                close = getattr(prepared, "close", None)
                if close is not None:
                    close()
        failure = None
    except (InputError, OutputError) as exc:
        failure = str(exc)
    finally:  # even when interrupted: what is on disk gets recorded
        if written:
            registry.record_copies(written, patterns=committer.patterns)
    if not asset_id and written:
        asset_id = written[0].asset_id
    made = {c.recipient_id: c.output_sha256 for c in written}
    copies = [
        (rid, asset_id, done[rid], SKIPPED) if rid in done else (rid, asset_id, made[rid], MARKED)
        for rid in recipient_ids
        if rid in done or rid in made
    ]
    return FileOutcome(copies, failure)


def register_one_file(
    registry,
    source: Path,
    *,
    media: Sequence[MarkMedium],
    password: str | None = None,
) -> FileOutcome:
    """Register a file (idempotent by content) without making copies: the registration that
    must come first when several workers then mark the file for different recipients.

    Returns an outcome without copies, with the error that stops the file, if any.
    """
    try:
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise InputError(f"{source}: cannot read ({exc.strerror or exc})") from exc
        if registry.find_asset_by_sha256(hashlib.sha256(data).hexdigest()) is None:
            medium = next(m for m in media if m.claims(source, data))
            prepared = medium.prepare(registry, source, data, password)
            close = getattr(prepared, "close", None)
            if close is not None:
                close()
    except (InputError, OutputError) as exc:
        return FileOutcome([], str(exc))
    return FileOutcome([])


def _make_copy(prepared, recipient_id: str, output: Path):
    """Write one copy; its SHA-256 and the marks it carries."""
    _make_folder(output)
    if hasattr(prepared, "write_copy"):
        marks = prepared.write_copy(recipient_id, output)
        return _file_sha256(output), marks
    encoded, marks = prepared.copy_for(recipient_id)
    write_atomic(output, encoded)
    return hashlib.sha256(encoded).hexdigest(), marks


def _make_folder(output: Path) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{output.parent}: cannot create folder ({exc.strerror or exc})") from exc


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise OutputError(f"cannot read back {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _already_done(
    registry,
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
            digest = _file_sha256(out_root / rid / relative)
        except OutputError:  # missing or unreadable: make it again
            continue
        if digest in recorded[rid]:
            done[rid] = digest
    return done
