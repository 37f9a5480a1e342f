"""The one place that reads the environment.

The library's functions take everything as arguments; the CLI asks this module for defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

REGISTRY_ENV = "LEAKTRACE_REGISTRY"
KEY_ENV = "LEAKTRACE_KEY"
KEYRING_ENV = "LEAKTRACE_KEYRING"
PASSPHRASE_ENV = "LEAKTRACE_PASSPHRASE"
DEBUG_ENV = "LEAKTRACE_DEBUG"
LOCK_TIMEOUT_ENV = "LEAKTRACE_LOCK_TIMEOUT"
SCHEDULER_ENV = "LEAKTRACE_SCHEDULER"
WORKERS_ENV = "LEAKTRACE_WORKERS"
PDF_PASSWORD_ENV = "LEAKTRACE_PDF_PASSWORD"
DEFAULT_REGISTRY = ".leaktrace"


def registry_location(explicit: str | None = None) -> str:
    """``--registry``, else ``$LEAKTRACE_REGISTRY``, else ``./.leaktrace``."""
    if explicit:
        return explicit
    return os.environ.get(REGISTRY_ENV) or str(Path.cwd() / DEFAULT_REGISTRY)


def key_from_environment() -> bytes | None:
    """The registry key from ``$LEAKTRACE_KEY`` (64 hex characters), or None when unset."""
    text = os.environ.get(KEY_ENV)
    if not text:
        return None
    from leaktrace.errors import RegistryKeyError
    from leaktrace.registry.keys import parse_key_text

    try:
        return parse_key_text(text)
    except RegistryKeyError as exc:
        raise RegistryKeyError(f"${KEY_ENV}: {exc}") from None


def keyring_location(explicit: str | None = None) -> str | None:
    """``--keyring``, else ``$LEAKTRACE_KEYRING``, else None: a file of the registry's keys
    (``ID:HEX`` lines) for a registry whose key was rotated."""
    return explicit or os.environ.get(KEYRING_ENV) or None


def passphrase_from_environment() -> str | None:
    """``$LEAKTRACE_PASSPHRASE`` (for unattended key backups and restores), or None when unset."""
    return os.environ.get(PASSPHRASE_ENV) or None


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0", "false", "no")


def scheduler_address(explicit: str | None = None) -> str | None:
    """``--scheduler``, else ``$LEAKTRACE_SCHEDULER``, else None (local processes)."""
    return explicit or os.environ.get(SCHEDULER_ENV) or None


def pdf_password(explicit: str | None = None) -> str | None:
    """``--password``, else ``$LEAKTRACE_PDF_PASSWORD``, else None: for encrypted PDFs."""
    return explicit if explicit is not None else os.environ.get(PDF_PASSWORD_ENV) or None


def workers_default() -> int:
    """``$LEAKTRACE_WORKERS`` (a CI runner's share of the CPUs), else one per usable CPU."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        from leaktrace.errors import LeaktraceError

        if not text.isdigit() or int(text) < 1:
            raise LeaktraceError(f"${WORKERS_ENV} must be a whole number of at least 1")
        return int(text)
    from leaktrace.batch.executors import default_workers

    return default_workers()


def colour_disabled() -> bool:
    """Whether ``$NO_COLOR`` asks for output without ANSI styling (https://no-color.org)."""
    return os.environ.get("NO_COLOR", "") != ""


def lock_timeout() -> float:
    """Seconds to wait for a registry another process is writing (``$LEAKTRACE_LOCK_TIMEOUT``)."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return 30.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        from leaktrace.errors import LeaktraceError

        raise LeaktraceError(
            f"${LOCK_TIMEOUT_ENV} must be a positive number of seconds, not {text!r}"
        )
    return value
