"""The library's front door: what the CLI calls, and what Python users call.

Functions here take a registry object and paths, return plain result objects, and raise
:class:`leaktrace.errors.LeaktraceError` subclasses. They never print or exit.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

from leaktrace.batch.marking import MarkedCopy, MarkReport, collect_inputs, mark_files
from leaktrace.errors import InputError
from leaktrace.media.image import IMAGE_SUFFIXES
from leaktrace.registry import SqlRegistry, init_registry, open_registry
from leaktrace.registry.models import Asset, Recipient

__all__ = [
    "IMAGE_SUFFIXES",
    "MarkReport",
    "MarkedCopy",
    "add_recipient",
    "audit",
    "collect_inputs",
    "identify",
    "import_recipients",
    "init_registry",
    "list_assets",
    "mark_files",
    "open_registry",
    "read_recipients_csv",
    "scan_folder",
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


def identify(registry: SqlRegistry, leak: str | Path, **options):
    """Which registered asset does ``leak`` show, and whose copy is it? See
    :func:`leaktrace.pipeline.identify.identify_file` for the options and the result."""
    from leaktrace.media import default_media
    from leaktrace.pipeline.identify import identify_file

    return identify_file(registry, Path(leak), media=default_media(), **options)


def scan_folder(location: str, key: bytes | None, folder: str | Path, **options):
    """Identify every file in a folder, in parallel; see :func:`leaktrace.batch.scan.scan_folder`."""
    from leaktrace.batch.scan import scan_folder as scan

    return scan(location, key, folder, **options)


def audit(registry: SqlRegistry):
    """Verify the audit log's hash chain and that every record still matches the row that
    recorded it; returns an :class:`~leaktrace.registry.models.AuditReport`."""
    from leaktrace.registry.reconcile import check_audit_trail

    return check_audit_trail(registry)
