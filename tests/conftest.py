"""Shared fixtures.

Registry back ends: ``registry_location`` runs a test once per back end. PostgreSQL needs a server
named by ``LEAKTRACE_TEST_PG_URL`` (``scripts/with-postgres pytest`` provides one); without it the
PostgreSQL runs skip, or fail when ``CI=true``.

Every test that depends on the environment (a PostgreSQL server, Ghostscript, a HEIF encoder,
root's mounts) goes through :func:`environment_missing`: it skips on a developer's machine and
fails under ``CI=true``, where the test command provides all of them, so that no test CI is
meant to run is skipped quietly. :func:`read_only_paths` makes files and folders read-only for
real, also as root (who ignores permission bits; CI runs as root).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

PG_URL_ENV = "LEAKTRACE_TEST_PG_URL"


def environment_missing(reason: str) -> NoReturn:
    """Skip a test this machine cannot run; under ``CI=true`` that is a failure instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot run on CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _ran(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


@contextlib.contextmanager
def read_only_paths(*paths: Path) -> Iterator[None]:
    """Make files and folders read-only for this process and its children, and always undo it.

    As another user: permission bits. As root, who ignores them: a read-only bind mount of each
    path (files and folders alike), else ``chattr +i``; neither possible is
    :func:`environment_missing`.
    """
    undo: list[tuple[str, ...]] = []
    try:
        for path in paths:
            if os.geteuid() != 0:
                mode = path.stat().st_mode & 0o7777
                path.chmod(mode & ~0o222)
                undo.append(("chmod", f"{mode:o}", str(path)))
                continue
            mounted = _ran("mount", "--bind", str(path), str(path))
            if mounted.returncode == 0:
                undo.append(("umount", str(path)))
                if _ran("mount", "-o", "remount,bind,ro", str(path)).returncode == 0:
                    continue
            if _ran("chattr", "+i", str(path)).returncode == 0:
                undo.append(("chattr", "-i", str(path)))
                continue
            environment_missing(
                f"cannot make {path} read-only as root (mount: {mounted.stderr.strip()}; "
                "no chattr either)"
            )
        yield
    finally:
        for command in reversed(undo):
            subprocess.run(command, check=True)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The URL of a PostgreSQL server (any database on it) that tests may create databases on."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        how = (
            f"set {PG_URL_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/postgres) "
            "or run the tests through scripts/with-postgres"
        )
        environment_missing(f"PostgreSQL tests need a server: {how}")
    return url


@contextlib.contextmanager
def fresh_pg_database(server_url: str, prefix: str = "leaktrace_test") -> Iterator[str]:
    """The URL of a new, empty database on the server, dropped (with any open connections) after."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(pg_server_url: str) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    with fresh_pg_database(pg_server_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_location(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where to create a registry: a new directory (SQLite) or an empty database (PostgreSQL)."""
    if request.param == "sqlite":
        return str(tmp_path / "registry")
    return request.getfixturevalue("pg_database")
