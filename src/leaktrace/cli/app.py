"""The command line's shared parts: the Typer app, consoles, error mapping and exit codes.

Commands live in topic modules (``setup``, ``marking``, ``investigate``) that register themselves
on :data:`app` when :mod:`leaktrace.cli` is imported.

Exit codes (also in README.md):

====  ==========================================================
0     success; for ``identify``: a recipient was attributed
1     error (bad input, registry problem, ...): one line on stderr
2     usage error (unknown option, missing argument)
3     ``mark``/``scan``: some files failed (the others were done)
4     ``identify``/``scan`` ran but attributed nobody (inconclusive/unknown)
5     ``audit``: the audit trail is broken (the first broken row is named)
6     ``mark``: nothing to do (every copy already exists with its recorded SHA-256)
7     ``identify``/``scan``: a copy's mark was deliberately removed (named, not attributed)
8     ``evidence verify``: the case is not confirmed (the reason is printed)
====  ==========================================================
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from leaktrace import __version__, config
from leaktrace.cli.display import SafeConsole, shown
from leaktrace.errors import LeaktraceError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_NOT_ATTRIBUTED = 4
EXIT_AUDIT_BROKEN = 5
EXIT_NOTHING_TO_DO = 6
EXIT_MARK_REMOVED = 7
EXIT_NOT_CONFIRMED = 8
# An error names what is wrong in one line; a 10,000-character name in it is cut.
ERROR_LENGTH = 1000

# Rich drops colours for NO_COLOR by itself but keeps bold and dim; no styling at all is asked for.
_COLOUR = None if config.colour_disabled() else "auto"
err = SafeConsole(stderr=True, soft_wrap=True, color_system=_COLOUR)


# The order of `leaktrace --help`: set-up first, then the two journeys, then the rest.
COMMAND_ORDER = [
    "init",
    "recipients",
    "mark",
    "identify",
    "scan",
    "assets",
    "copies",
    "audit",
    "key",
    "case",
    "evidence",
    "text",
    "simulate",
]


class _ErrorMappingGroup(TyperGroup):
    """Turns library errors into one line on stderr and exit code 1, in one place."""

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        rank = {name: index for index, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LeaktraceError as exc:
            if config.debug_enabled():
                raise
            err.print(f"leaktrace: error: {shown(exc, limit=ERROR_LENGTH)}")
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            err.print(
                "leaktrace: interrupted: finished copies are recorded; rerun to complete the batch"
            )
            raise typer.Exit(130) from None
        finally:
            state.close_registries()


app = typer.Typer(
    cls=_ErrorMappingGroup,
    name="leaktrace",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
recipients_app = typer.Typer(
    help="Manage the people and organisations who receive copies.", no_args_is_help=True
)
assets_app = typer.Typer(help="List the registered originals.", no_args_is_help=True)
app.add_typer(recipients_app, name="recipients")
app.add_typer(assets_app, name="assets")

out = SafeConsole(soft_wrap=True, color_system=_COLOUR)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON only, on stdout.")
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="N",
        min=1,
        help="Local worker processes, one file each at a time. "
        "Default: $LEAKTRACE_WORKERS, then one per CPU; 1 runs in this process.",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run on this Dask cluster (e.g. tcp://10.0.0.5:8786) instead of local processes; "
        "needs a PostgreSQL registry, and the workers must see the files at the same paths. "
        "Default: $LEAKTRACE_SCHEDULER.",
    ),
]
PdfPasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        metavar="TEXT",
        help="Password of encrypted PDFs (marked copies are encrypted with it too). "
        "Default: $LEAKTRACE_PDF_PASSWORD.",
    ),
]


class State:
    def __init__(self) -> None:
        self.registry_location: str | None = None
        self.opened: list = []  # registries to close when the command ends

    def close_registries(self) -> None:
        while self.opened:
            self.opened.pop().close()


state = State()


def _version(value: bool) -> None:
    if value:
        out.print(f"leaktrace {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            metavar="DIR_OR_URL",
            help="Registry folder (or database URL). Default: $LEAKTRACE_REGISTRY, then ./.leaktrace",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Give every recipient an invisibly marked copy, then prove whose copy leaked.

    Example: leaktrace init && leaktrace recipients add "Auto Weekly" && leaktrace mark photo.jpg --all --out dist/
    """
    state.registry_location = registry


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    err.print(f"leaktrace: error: {shown(message, limit=ERROR_LENGTH)}")
    return typer.Exit(code)


def scheduler_needs_postgresql() -> typer.Exit:
    return fail(
        "--scheduler needs a PostgreSQL registry (--registry postgresql://...): the "
        "cluster's workers cannot share a SQLite file"
    )


def open_registry(*, keyring: str | None = None, read_only: bool | None = None):
    """The registry the command works on, closed when the command ends (in-process callers such
    as tests would otherwise keep SQLite connections, and their locks, open). Its older keys come
    from ``keyring`` or ``$LEAKTRACE_KEYRING`` (``""``: none); ``read_only`` as for the library's
    function."""
    from leaktrace.api import open_registry as open_library_registry

    registry = open_library_registry(
        config.registry_location(state.registry_location),
        key=config.key_from_environment(),
        keyring=None if keyring == "" else config.keyring_location(keyring),
        read_only=read_only,
        timeout=config.lock_timeout(),
    )
    state.opened.append(registry)
    return registry


def print_json(payload) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


# ------------------------------------------------------------------------------------- entry


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv)
