"""The library's front door: what the CLI calls, and what Python users call.

Functions here take a registry object and paths, return plain result objects, and raise
:class:`leaktrace.errors.LeaktraceError` subclasses. They never print or exit.
"""

from __future__ import annotations

import csv
import io
import json
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
    "check_text",
    "collect_inputs",
    "export_evidence",
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
    "verify_evidence",
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


RECIPIENT_COLUMNS = ("id", "name", "email", "org")
_BOM = "\ufeff"


def read_recipients_csv(csv_path: str | Path) -> list[Recipient]:
    """The rows of a CSV file with header ``id,name,email,org`` (``email`` and ``org`` optional,
    in any order; an empty ``id`` is made from the name).

    The whole file is refused, naming the line and what is wrong, when it is not strict UTF-8,
    has a byte-order mark anywhere but at its very start (files joined together), lacks a
    header, names a column other than these, or has a row with more or fewer fields than the
    header: a silently dropped or shifted field would record the wrong email or organisation.
    """
    path = Path(csv_path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the CSV file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not a UTF-8 text file (byte {exc.start}): save it as UTF-8 CSV"
        ) from None
    text = text.removeprefix(_BOM)
    if _BOM in text:
        line = text[: text.index(_BOM)].count("\n") + 1
        raise InputError(
            f"{path}:{line}: a byte-order mark (U+FEFF) inside the file, where only its very "
            "start may have one (were files joined?): remove it"
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:  # line_num: where the row ends (a quoted field may span lines)
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from None
    rows = [(line, row) for line, row in rows if any(field.strip() for field in row)]
    if not rows:
        raise InputError(f"{path}: the CSV file is empty; it needs the header id,name,email,org")
    header_line, header = rows[0]
    columns = [field.strip().lower() for field in header]
    unknown = [c for c in columns if c not in RECIPIENT_COLUMNS]
    if unknown:
        # A data row where the header should be reads as unknown columns too: say both.
        raise InputError(
            f"{path}:{header_line}: unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(c) for c in unknown)}: the first row must be the header, naming "
            "the columns id,name and optionally email,org"
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InputError(f"{path}:{header_line}: column {', '.join(repeated)} appears twice")
    missing = [c for c in ("id", "name") if c not in columns]
    if missing:
        raise InputError(
            f"{path}:{header_line}: the CSV header must include id,name (optional email,org); "
            f"missing {', '.join(missing)}"
        )
    recipients = []
    for line, row in rows[1:]:
        if len(row) != len(columns):
            raise InputError(
                f"{path}:{line}: {len(row)} field{'s' if len(row) != 1 else ''} where the header "
                f"has {len(columns)} ({','.join(columns)}); nothing was imported"
            )
        record = dict(zip(columns, (field.strip() for field in row), strict=True))
        name = record["name"]
        if not name:
            raise InputError(f"{path}:{line}: the name column is empty")
        recipients.append(
            Recipient(
                id=record["id"] or slugify(name),
                name=name,
                email=record.get("email") or None,
                org=record.get("org") or None,
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


def identify(
    registry: SqlRegistry,
    leak: str | Path,
    *,
    as_text: bool = False,
    data: bytes | None = None,
    **options,
):
    """Which registered asset does ``leak`` show, and whose copy is it? See
    :func:`leaktrace.pipeline.identify.identify_file` for the options and the result.

    ``as_text`` reads the leak as text whatever its name; ``data`` gives its bytes when there
    is no file to read (standard input), ``leak`` then only names it.
    """
    from leaktrace.media import default_media
    from leaktrace.pipeline.identify import identify_bytes, identify_file

    if as_text:
        from leaktrace.media.text.medium import TextMedium

        media = (TextMedium(claim_all=True),)
    else:
        media = default_media()
    if data is not None:
        return identify_bytes(registry, Path(leak), data, media=media, **options)
    return identify_file(registry, Path(leak), media=media, **options)


def check_text(path: str | Path, *, bound: float = 1e-9):
    """The choice points of a text document and what its copies can tell apart (nothing is
    recorded); returns a :class:`~leaktrace.media.text.check.CheckReport`.

    Raises :class:`~leaktrace.media.text.errors.TextInputError` for a file marking would refuse
    (binary, undecodable, a malformed ``{{a|``, a broken DOCX, no choice point).
    """
    from leaktrace.media.text import check_document, load_document, make_plan
    from leaktrace.media.text.plan import require_choice_points

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    plan = make_plan(load_document(data, path.name))
    require_choice_points(plan, recipients=100, bound=bound)
    return check_document(plan, bound=bound)


def scan_folder(location: str, key: bytes | None, folder: str | Path, **options):
    """Identify every file in a folder, in parallel; see :func:`leaktrace.batch.scan.scan_folder`."""
    from leaktrace.batch.scan import scan_folder as scan

    return scan(location, key, folder, **options)


def audit(registry: SqlRegistry):
    """Verify the audit log's hash chain and that every record still matches the row that
    recorded it; returns an :class:`~leaktrace.registry.models.AuditReport`."""
    from leaktrace.registry.reconcile import check_audit_trail

    return check_audit_trail(registry)


def export_evidence(registry: SqlRegistry, leak: str | Path, out: str | Path, **options):
    """Identify ``leak`` (or take ``result=``, its ``identify --json`` dict) and write the
    evidence case of the accusation to ``out``; see :func:`leaktrace.proof.export_case`."""
    from leaktrace.proof import export_case

    result = options.pop("result", None)
    if result is None:
        result = identify(registry, leak, **options).to_dict()
    return export_case(registry, leak, json.loads(json.dumps(result, default=str)), out)


def verify_evidence(case: str | Path, **options):
    """Verify an evidence case without any registry or key; see
    :func:`leaktrace.proof.verify_case`."""
    from leaktrace.proof import verify_case

    return verify_case(case, **options)
