"""Shared fixtures: a fresh embedded catalog per test, a fresh PostgreSQL database, and the
pinned clock of the tests whose verdict would otherwise follow the day they run."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import pytest
import time_machine
from pyiceberg.catalog import Catalog

from lakehouse.catalog import build_catalog
from lakehouse.settings import Settings, load_settings

POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"


# --- The clock ---------------------------------------------------------------------------------
# A test whose result depends on "today" (partitions that end today, faker's dates that run to
# now, features as of today) runs at a pinned instant, never at the wall clock's. The default is
# fixed; scripts/date-guard.sh reruns the `clock` tests at other instants (a leap day, a year's
# last half hour, a year ahead) through this variable.
NOW_VARIABLE = "TEST_NOW"
DEFAULT_NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)


def pinned_now() -> dt.datetime:
    """The instant the `clock` tests run at (UTC)."""
    value = os.environ.get(NOW_VARIABLE)
    if not value:
        return DEFAULT_NOW
    instant = dt.datetime.fromisoformat(value)
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pinned_clock() -> Iterator[dt.datetime]:
    """This process's clock at ``pinned_now()`` for the whole module, ticking from there.

    Subprocesses keep the wall clock: the faker connector takes the same instant through
    ``LAKEHOUSE_FAKER_NOW``; Spark and dbt read no clock in their transforms.
    """
    now = pinned_now()
    with time_machine.travel(now, tick=True):
        yield now


@pytest.fixture
def environment(tmp_path) -> dict[str, str]:
    """The LAKEHOUSE_* variables of a fresh embedded lakehouse under this test's tmp_path, for
    what takes variables (the definitions, the CLI, subprocesses)."""
    return {"LAKEHOUSE_HOME": str(tmp_path)}


@pytest.fixture
def settings(environment: dict[str, str]) -> Settings:
    """The same embedded settings, typed: SQLite catalog and warehouse under tmp_path."""
    return load_settings(environment)


@pytest.fixture
def catalog(settings: Settings) -> Catalog:
    return build_catalog(settings)


@pytest.fixture
def pg_catalog_uri() -> Iterator[str]:
    """A fresh PostgreSQL database per test; skipped when the server is unreachable (failed on CI)."""
    import psycopg2

    try:
        admin = psycopg2.connect(POSTGRES_DSN)
    except psycopg2.OperationalError as error:
        reason = f"PostgreSQL unreachable at 127.0.0.1:5432: {str(error).strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    admin.autocommit = True
    database = f"lakehouse_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    try:
        yield POSTGRES_URL.format(database=database)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_environment(request: pytest.FixtureRequest, tmp_path) -> dict[str, str]:
    """LAKEHOUSE_* settings of a fresh SQLite or PostgreSQL catalog under tmp_path."""
    environment = {"LAKEHOUSE_HOME": str(tmp_path)}
    if request.param == "postgres":
        environment["LAKEHOUSE_CATALOG_URI"] = request.getfixturevalue("pg_catalog_uri")
    return environment


# --- Spark (staging) ------------------------------------------------------------------------
# Owned by the staging layer (tests/spark/, tests/staging/). A Spark session takes 16-26 s to
# start, so the whole test run shares one local session; the staging resource reuses it.


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The process's one Spark session (``lakehouse.staging.resources.process_session``)."""
    from lakehouse.staging.resources import process_session, spark_config

    session = process_session(spark_config(load_settings({})))
    yield session
    session.stop()
