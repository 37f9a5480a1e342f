"""The one place that reads the environment.

The library's functions take everything as arguments; the CLI asks this module for defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

REGISTRY_ENV = "LEAKTRACE_REGISTRY"
KEY_ENV = "LEAKTRACE_KEY"
DEBUG_ENV = "LEAKTRACE_DEBUG"
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


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0", "false", "no")
