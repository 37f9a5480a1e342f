"""The registry's keys (``leaktrace key ...``) and case files (``leaktrace case ...``).

No command here prints a key: ``backup`` seals them with a passphrase, ``restore`` writes them to
mode-0600 files, ``check`` and ``rotate`` show fingerprints only. A passphrase is read from
``--passphrase-file``, else ``$LEAKTRACE_PASSPHRASE``, else a hidden prompt (with confirmation
for a new backup): never from an argument, which would land in the shell's history.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from leaktrace import config
from leaktrace.cli.app import (
    EXIT_AUDIT_BROKEN,
    JsonOption,
    app,
    err,
    fail,
    open_registry,
    out,
    print_json,
    state,
)
from leaktrace.cli.display import shown

key_app = typer.Typer(
    help="Back up, restore, check and rotate the registry's secret keys (never shown).",
    no_args_is_help=True,
)
case_app = typer.Typer(
    help="Case files: what an investigation of a read-only registry logged locally.",
    no_args_is_help=True,
)
app.add_typer(key_app, name="key")
app.add_typer(case_app, name="case")

KeyringOption = Annotated[
    str | None,
    typer.Option(
        "--keyring",
        metavar="FILE",
        help="A keyring file (ID:HEX lines, mode 0600) with the registry's keys. "
        "Default: $LEAKTRACE_KEYRING.",
    ),
]
PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="FILE",
        help="Read the passphrase from the first line of FILE. Default: $LEAKTRACE_PASSPHRASE, "
        "else a hidden prompt.",
    ),
]


def _passphrase(file: Path | None, *, confirm: bool) -> str:
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise fail(f"cannot read the passphrase file {file}: {reason}") from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise fail(f"the passphrase file {file} is empty")
        return lines[0]
    from_env = config.passphrase_from_environment()
    if from_env:
        return from_env
    missing = (
        "no passphrase: type it at the prompt, or give it in $LEAKTRACE_PASSPHRASE or with "
        "--passphrase-file FILE"
    )
    if not sys.stdin.isatty():  # piped in (or nothing, as on CI): no prompt text to stderr
        lines = [sys.stdin.readline().rstrip("\r\n") for _ in range(2 if confirm else 1)]
        if not lines[0]:
            raise fail(missing)
        if confirm and lines[1] != lines[0]:
            raise fail("the two passphrases given differ")
        return lines[0]
    try:
        return typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    except typer.Abort:
        raise fail(missing) from None


def _date(value) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


@key_app.command("backup")
def key_backup(
    out_file: Annotated[
        Path,
        typer.Option("--out", metavar="FILE", help="Write the backup to FILE (new, mode 0600)."),
    ],
    passphrase_file: PassphraseFileOption = None,
    keyring: KeyringOption = None,
) -> None:
    """Seal every key of the registry with a passphrase, into a small file to keep offline.

    scrypt stretches the passphrase (12 characters at least) into an AES-256-GCM key; the file
    names the registry by fingerprint only. Keep the passphrase apart from the file. An existing
    FILE is never overwritten.

    Example: leaktrace key backup --out leaktrace-keys.backup
    """
    from leaktrace.registry.files import write_new_file
    from leaktrace.registry.keystore import backup_keys

    registry = open_registry(keyring=keyring)
    if out_file.exists():
        raise fail(f"{out_file} already exists: refusing to overwrite it")
    ids = [k.id for k in registry.list_keys()]
    data = backup_keys(registry, _passphrase(passphrase_file, confirm=True))
    try:
        write_new_file(out_file, data)
    except FileExistsError:
        raise fail(f"{out_file} already exists: refusing to overwrite it") from None
    except OSError as exc:
        raise fail(f"cannot write {out_file}: {exc.strerror or exc}") from None
    out.print(
        f"Backed up key {', '.join(map(str, ids))} of the registry {registry.registry_fingerprint} "
        f"to {out_file} (mode 0600). Keep the passphrase apart from the file.",
        markup=False,
    )


@key_app.command("restore")
def key_restore(
    backup_file: Annotated[Path, typer.Argument(metavar="FILE", help="A key backup.")],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write the keys to a new keyring file (mode 0600) instead of the registry "
            "folder's key files: for a PostgreSQL registry (then set $LEAKTRACE_KEYRING=FILE).",
        ),
    ] = None,
    passphrase_file: PassphraseFileOption = None,
) -> None:
    """Put the keys of a backup back where the registry finds them.

    A folder registry gets its key file (and keys/ID for each key once rotated); existing files
    must already hold the same keys: a different key is never overwritten. The backup must be
    this registry's (checked by fingerprint before any passphrase is asked).

    Example: leaktrace key restore leaktrace-keys.backup
    """
    from leaktrace.registry.backup import open_backup, read_header
    from leaktrace.registry.keystore import restore_keys
    from leaktrace.registry.opening import read_registry_keys

    location = config.registry_location(state.registry_location)
    try:
        data = backup_file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {backup_file}: {exc.strerror or exc}") from None
    header = read_header(data, str(backup_file))
    records = read_registry_keys(location, timeout=config.lock_timeout())
    if header["registry"] != records.registry_fingerprint:
        raise fail(
            f"{backup_file} holds the keys of another registry (fingerprint {header['registry']}), "
            f"not of the registry at {records.location} ({records.registry_fingerprint})"
        )
    backup = open_backup(data, _passphrase(passphrase_file, confirm=False), str(backup_file))
    restored = restore_keys(location, backup, out=out_file, timeout=config.lock_timeout())
    for path in restored.written:
        out.print(f"Wrote {shown(path, limit=None)} (mode 0600)", markup=False)
    if not restored.written:
        out.print("Every key of the backup was already in place: nothing written.")
    if restored.missing:
        err.print(
            f"leaktrace: warning: the backup lacks key {', '.join(map(str, restored.missing))} "
            "(made after it?): back up again once restored",
            markup=False,
        )


@key_app.command("check")
def key_check(as_json: JsonOption = False, keyring: KeyringOption = None) -> None:
    """Say whether the keys in use open this registry, checked against its stored fingerprints.

    Lists each key of the registry (id, fingerprint, creation time) and where this process found
    it, or that it is missing. Exit code 0 when the current key is available, 1 otherwise.

    Example: leaktrace key check
    """
    from leaktrace.registry.keystore import check_keys
    from leaktrace.registry.opening import key_sources_for

    location = config.registry_location(state.registry_location)
    sources = key_sources_for(
        location, config.key_from_environment(), config.keyring_location(keyring)
    )
    result = check_keys(location, sources, timeout=config.lock_timeout())
    if as_json:
        payload: dict[str, Any] = {
            "ok": result.ok,
            "registry": result.registry_fingerprint,
            "keys": [
                {
                    "id": k.id,
                    "fingerprint": k.fingerprint,
                    "created_at": _date(k.created_at),
                    "current": k.current,
                    "available": k.available,
                    "found_in": result.sources.get(k.id, []),
                }
                for k in result.keys
            ],
            "problem": result.problem,
            "warnings": result.warnings,
        }
        print_json(payload)
    else:
        table = Table("key", "fingerprint", "created (UTC)", "status", "found in")
        for k in result.keys:
            status = ("current, " if k.current else "") + (
                "available" if k.available else "MISSING"
            )
            table.add_row(
                str(k.id),
                k.fingerprint,
                _date(k.created_at),
                status,
                ", ".join(result.sources.get(k.id, [])),
            )
        out.print(
            f"Registry {result.registry_fingerprint} at {shown(result.location, limit=None)}",
            markup=False,
        )
        out.print(table)
        for warning in result.warnings:
            err.print(f"leaktrace: warning: {warning}", markup=False)
        if result.ok:
            out.print("The keys given open this registry.")
    if not result.ok:
        raise fail(result.problem or "the keys given do not open this registry")


@key_app.command("rotate")
def key_rotate(keyring: KeyringOption = None, as_json: JsonOption = False) -> None:
    """Start a new key for new copies; copies made before keep needing the key that made them.

    A folder registry keeps every key in DIR/keys/ID (mode 0600) and the new one in DIR/key. A
    PostgreSQL registry (or a folder whose key comes from $LEAKTRACE_KEY) needs a keyring file
    (--keyring FILE or $LEAKTRACE_KEYRING), which is written with every key: then set
    $LEAKTRACE_KEYRING=FILE for every user and job. Back the keys up afterwards.

    Example: leaktrace key rotate && leaktrace key backup --out keys.backup
    """
    from leaktrace.registry.keystore import rotate_key

    ring = config.keyring_location(keyring)
    # The keyring is where the new key goes: it need not exist yet, so it is read only if it does.
    registry = open_registry(keyring=ring if ring and Path(ring).exists() else "", read_only=False)
    rotated = rotate_key(registry, keyring=ring)
    if as_json:
        print_json(
            {
                "key_id": rotated.key.id,
                "fingerprint": rotated.key.fingerprint,
                "created_at": _date(rotated.key.created_at),
                "written": [str(p) for p in rotated.written],
            }
        )
        return
    out.print(
        f"Key {rotated.key.id} (fingerprint {rotated.key.fingerprint}) is now the current key: "
        "new copies are marked with it; older copies still need the keys that made them.",
        markup=False,
    )
    for path in rotated.written:
        out.print(f"Wrote {shown(path, limit=None)} (mode 0600)", markup=False)
    out.print("Back the keys up now: leaktrace key backup --out FILE", markup=False)


# ------------------------------------------------------------------------------------ cases


@case_app.command("verify")
def case_verify(
    case_file: Annotated[Path, typer.Argument(metavar="FILE", help="A case file (.jsonl).")],
    as_json: JsonOption = False,
) -> None:
    """Check that a case file is intact and belongs to this registry.

    Every line must follow the one before and carry a valid MAC under the registry's key. Exit
    code 0 when intact, 5 when a line was changed, inserted, deleted or truncated.

    Example: leaktrace case verify leaktrace-case-1a2b3c4d5e6f7a8b.jsonl
    """
    from leaktrace.registry.caselog import verify_case_file

    registry = open_registry(read_only=True)
    report = verify_case_file(registry, case_file)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "case": report.case,
                "entries": report.entries,
                "first_broken_line": report.first_broken_line,
                "reason": report.reason,
            }
        )
    elif report.ok:
        out.print(
            Text.assemble(
                "Case file ",
                ("intact", "green"),
                f": {report.entries} entries, case {report.case}.",
            )
        )
    else:
        out.print(
            Text.assemble(
                "Case file ", ("BROKEN", "bold red"), f" ({report.entries} lines checked)."
            )
        )
        out.print(f"Reason: {shown(report.reason, limit=None)}", markup=False)
    if not report.ok:
        raise typer.Exit(EXIT_AUDIT_BROKEN)


@case_app.command("merge")
def case_merge(
    case_file: Annotated[Path, typer.Argument(metavar="FILE", help="A case file (.jsonl).")],
    as_json: JsonOption = False,
) -> None:
    """Copy a verified case file's entries into the registry's audit log (once).

    Run it when the registry is writable again. Entries merged by an earlier merge of the same
    file are skipped, so merging after more entries were added is safe.

    Example: leaktrace case merge leaktrace-case-1a2b3c4d5e6f7a8b.jsonl
    """
    from leaktrace.registry.caselog import MERGED, merge_case_file

    registry = open_registry(read_only=False)
    rows = merge_case_file(registry, case_file)
    merged = [row for row in rows if row.action != MERGED]
    if as_json:
        print_json({"merged": len(merged), "audit_rows": [row.seq for row in rows]})
        return
    if rows:
        out.print(
            f"Merged {len(merged)} entries of {shown(case_file, limit=None)} into the audit log "
            f"(rows {rows[0].seq}-{rows[-1].seq}).",
            markup=False,
        )
    else:
        out.print(
            f"Every entry of {shown(case_file, limit=None)} was merged before: nothing to do.",
            markup=False,
        )
