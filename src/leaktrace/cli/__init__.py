"""The ``leaktrace`` command line: a thin layer over :mod:`leaktrace.api`."""

from leaktrace.cli.app import app, main

__all__ = ["app", "main"]
