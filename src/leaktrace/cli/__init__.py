"""The ``leaktrace`` command line: a thin layer over :mod:`leaktrace.api`."""

from leaktrace.cli import investigate, marking, records, setup  # noqa: F401  (they register commands)
from leaktrace.cli.app import app, main

__all__ = ["app", "main"]
