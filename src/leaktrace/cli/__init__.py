"""The ``leaktrace`` command line: a thin layer over :mod:`leaktrace.api`."""

from leaktrace.cli import (  # noqa: F401  (they register commands)
    evidence,
    investigate,
    keys,
    marking,
    records,
    setup,
    text,
)
from leaktrace.cli.app import app, main

__all__ = ["app", "main"]
