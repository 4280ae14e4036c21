"""Shared fixtures: a fresh embedded catalog per test and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from pyiceberg.catalog import Catalog

from lakehouse.catalog import build_catalog
from lakehouse.settings import Settings, load_settings

POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Embedded settings: SQLite catalog and warehouse under this test's tmp_path."""
    return load_settings({"LAKEHOUSE_HOME": str(tmp_path)})


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
