"""The case file: a zip holding ``case.json`` and the two pictures it names.

A case is read whole into memory and checked member by member before anything is verified: a
corrupt, truncated or incomplete file is one :class:`~leaktrace.errors.InputError`, never a
half-verified case.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from leaktrace.errors import InputError
from leaktrace.fsutil import write_atomic

__all__ = ["CASE_FORMAT", "CASE_VERSION", "Case", "read_case", "write_case"]

CASE_FORMAT = "leaktrace-evidence"
CASE_VERSION = 1
CASE_JSON = "case.json"
# A case holds two pictures; anything far larger is not one of ours.
MAX_MEMBER_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    """A case as read: its description and the bytes of the leak and of the original."""

    data: dict
    leak: bytes
    original: bytes


def write_case(path: str | Path, data: dict, leak: bytes, original: bytes) -> None:
    """Write the case to ``path`` atomically (``data`` names the members ``leak`` and
    ``original``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CASE_JSON, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        archive.writestr(data["leak"]["member"], leak)
        archive.writestr(data["original"]["member"], original)
    write_atomic(path, buffer.getvalue())


def _member(archive: zipfile.ZipFile, name: object, where: Path) -> bytes:
    if not isinstance(name, str) or name not in archive.namelist():
        raise InputError(f"{where}: not a complete evidence case (no member {name!r:.80})")
    if archive.getinfo(name).file_size > MAX_MEMBER_BYTES:
        raise InputError(f"{where}: member {name!r:.80} is too large for an evidence case")
    return archive.read(name)


def read_case(path: str | Path) -> Case:
    """Read and check the structure of a case file.

    Raises
    ------
    InputError
        Unreadable, not a zip, truncated, a member failing its CRC, or no case of this format.
    """
    where = Path(path)
    try:
        raw = where.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or exc})") from None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            text = _member(archive, CASE_JSON, where)
            try:
                data = json.loads(text.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"{where}: case.json is not JSON ({exc})") from None
            if not isinstance(data, dict) or data.get("format") != CASE_FORMAT:
                raise InputError(f"{where}: not a leaktrace evidence case")
            if data.get("version") != CASE_VERSION:
                raise InputError(
                    f"{where}: evidence case version {data.get('version')!r:.20} is not "
                    f"supported (this leaktrace reads version {CASE_VERSION})"
                )
            try:
                leak_name, original_name = data["leak"]["member"], data["original"]["member"]
            except (KeyError, TypeError):
                raise InputError(f"{where}: case.json does not name its pictures") from None
            leak = _member(archive, leak_name, where)
            original = _member(archive, original_name, where)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError) as exc:
        raise InputError(
            f"{where}: not a readable evidence case (corrupt or truncated: {exc})"
        ) from None
    except OSError as exc:
        raise InputError(f"{where}: not a readable evidence case ({exc.strerror or exc})") from None
    return Case(data, leak, original)
