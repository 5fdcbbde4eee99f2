"""A PostgreSQL schema of its own for one test (the county's city-scale backend).

``postgresql://postgres@127.0.0.1:5432/test`` by default (``$STATION_PG_URL``); a test that
needs it is skipped when nothing listens there, or fails with ``STATION_REQUIRE_PG=1``
(``.ci/run`` sets it after starting the server).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

SERVER = os.environ.get("STATION_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A database URL whose tables live in a new schema, dropped afterwards."""
    try:
        admin = _connect()
    except psycopg.OperationalError as exc:
        if os.environ.get("STATION_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL is required here but unreachable: {exc}")
        pytest.skip(f"no PostgreSQL at {SERVER}")
    schema = f"county_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{SERVER}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _connect() -> psycopg.Connection:
    """The test database, created on a fresh server (a CI machine's new cluster)."""
    try:
        return psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    base, _, name = SERVER.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as maint:
        maint.execute(f'CREATE DATABASE "{name}"')
    return psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
