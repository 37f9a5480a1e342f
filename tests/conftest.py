"""Shared fixtures.

Registry back ends: ``registry_location`` runs a test once per back end. PostgreSQL needs a server
named by ``LEAKTRACE_TEST_PG_URL`` (``scripts/with-postgres pytest`` provides one); without it the
PostgreSQL runs skip, or fail when ``CI=true``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

PG_URL_ENV = "LEAKTRACE_TEST_PG_URL"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The URL of a PostgreSQL server (any database on it) that tests may create databases on."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        how = (
            f"set {PG_URL_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/postgres) "
            "or run the tests through scripts/with-postgres"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests cannot run on CI: {how}", pytrace=False)
        pytest.skip(f"PostgreSQL tests need a server: {how}")
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
