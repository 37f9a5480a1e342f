"""The library's front door: what the CLI calls, and what Python users call.

Functions here take a registry object and paths, return plain result objects, and raise
:class:`leaktrace.errors.LeaktraceError` subclasses. They never print or exit.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leaktrace.errors import InputError, OutputError, UnknownRecipientError
from leaktrace.registry import SqlRegistry, init_registry, open_registry
from leaktrace.registry.models import Asset, Recipient

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif"}

__all__ = [
    "IMAGE_SUFFIXES",
    "MarkReport",
    "add_recipient",
    "identify",
    "import_recipients",
    "init_registry",
    "list_assets",
    "mark_files",
    "open_registry",
    "slugify",
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


def import_recipients(registry: SqlRegistry, csv_path: str | Path) -> list[Recipient]:
    """Add every row of a CSV file with header ``id,name,email,org``, all or nothing."""
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
    return registry.add_recipients(recipients)


def list_assets(registry: SqlRegistry) -> list[Asset]:
    return registry.list_assets()


# --------------------------------------------------------------------------------------- mark


@dataclass(frozen=True)
class MarkedCopy:
    source: Path
    recipient_id: str
    asset_id: str
    output: Path
    sha256: str


@dataclass
class MarkReport:
    copies: list[MarkedCopy] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)


def collect_inputs(inputs: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """(file, output path relative to a recipient's folder) for files and folders of images."""
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    found.append((child, child.relative_to(path)))
        elif path.exists():
            found.append((path, Path(path.name)))
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError("no image files found in the given paths")
    names = [relative for _, relative in found]
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(
            f"two inputs would be written to the same output name: {', '.join(duplicates)}"
        )
    return found


def _resolve_recipients(
    registry: SqlRegistry, recipient_ids: Sequence[str] | None
) -> list[Recipient]:
    if recipient_ids is None:
        recipients = registry.list_recipients()
        if not recipients:
            raise UnknownRecipientError("the registry has no recipients yet: add some first")
        return recipients
    if not recipient_ids:
        raise UnknownRecipientError("no recipients given: use --to SLUG or --all")
    return [registry.get_recipient(rid) for rid in dict.fromkeys(recipient_ids)]


def mark_files(
    registry: SqlRegistry,
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    *,
    recipient_ids: Sequence[str] | None = None,
    on_copy: Callable[[MarkedCopy], None] | None = None,
) -> MarkReport:
    """Give every recipient a uniquely marked copy of every input image.

    Writes ``out_dir/<recipient id>/<file name>`` (folders keep their inner structure). A copy is
    recorded in the registry only after its file is safely in place. Files that cannot be marked
    are reported in ``MarkReport.failures`` and do not stop the others. ``recipient_ids=None``
    means every recipient in the registry.
    """
    from leaktrace.assets import analyse, register_image
    from leaktrace.formats import images
    from leaktrace.registry.models import Copy
    from leaktrace.watermark.embed import add_luma_delta, luma_delta
    from leaktrace.watermark.pattern import synthesize

    recipients = _resolve_recipients(registry, recipient_ids)
    files = collect_inputs(inputs)
    out_root = Path(out_dir)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{out_root}: cannot create the output folder ({exc.strerror or exc})"
        ) from exc
    report = MarkReport()
    for source, relative in files:
        try:
            try:
                data = source.read_bytes()
            except OSError as exc:
                raise InputError(f"{source}: cannot read ({exc.strerror or exc})") from exc
            loaded = images.load_image(data, name=str(source))
            asset = register_image(registry, source, data, loaded)
            analysis = analyse(asset, loaded, registry.key)
            for recipient in recipients:
                code = analysis.keying.recipient_code(recipient.id)
                delta = images.from_display(
                    luma_delta(analysis.mask, synthesize(analysis.keying, code)), loaded.orientation
                )
                marked = add_luma_delta(loaded.pixels, delta)
                encoded = images.encode_like(loaded, marked, loaded.alpha)
                output = out_root / recipient.id / relative
                try:
                    output.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise OutputError(
                        f"{output.parent}: cannot create folder ({exc.strerror or exc})"
                    ) from exc
                images.write_atomic(output, encoded)
                sha256 = images.sha256_bytes(encoded)
                registry.record_copy(
                    Copy(
                        asset_id=asset.id,
                        recipient_id=recipient.id,
                        output_sha256=sha256,
                        output_name=str(relative),
                    )
                )
                copy = MarkedCopy(source, recipient.id, asset.id, output, sha256)
                report.copies.append(copy)
                if on_copy is not None:
                    on_copy(copy)
        except (InputError, OutputError) as exc:
            report.failures.append((source, str(exc)))
    return report


def identify(registry: SqlRegistry, leak: str | Path, **options):
    """Which registered asset does ``leak`` show, and whose copy is it? See
    :func:`leaktrace.identify.identify_file` for the options and the result."""
    from leaktrace.identify import identify_file

    return identify_file(registry, Path(leak), **options)
