"""Fixtures for the engine-level tests on the loopback platform (``make platform-up``).

Every test here carries the ``platform`` marker. The session fixture finds the platform up or
skips with the reason (fails under ``CI=true``). Most tests run on both catalogs the platform
offers: ``rest`` (the REST catalog behind Keycloak) and ``sql`` (Iceberg's JDBC catalog on
PostgreSQL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from pyiceberg.catalog import Catalog

from lakehouse.catalog import build_catalog
from lakehouse.loopback import secrets as secret_store
from lakehouse.loopback.engines import trino_client_auth, trino_connection
from lakehouse.loopback.environment import (
    CATALOG_NAMES,
    TRINO_CATALOGS,
    settings_environment,
)
from lakehouse.loopback.layout import Layout, load_layout
from lakehouse.loopback.platform import status
from lakehouse.settings import Settings, load_settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.platform)


@pytest.fixture(scope="session")
def platform() -> Layout:
    """The running loopback platform's layout; skipped (failed on CI) when any service is down."""
    layout = load_layout()
    report = status(layout)
    down = [f"{service.name} {service.detail}" for service in report if not service.healthy]
    if down:
        reason = f"loopback platform not ready ({', '.join(down)}): run `make platform-up`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # libpq and the JDBC driver read the platform roles' passwords from this file.
    os.environ["PGPASSFILE"] = str(layout.pgpass_file)
    return layout


@pytest.fixture(scope="session")
def platform_secrets(platform: Layout) -> dict[str, str]:
    return secret_store.load(platform.secrets_file)


def environment(layout: Layout, kind: str, **overrides: str) -> dict[str, str]:
    env = settings_environment(layout, kind)  # type: ignore[arg-type]
    env.pop("PGPASSFILE")
    return env | overrides


def settings_of(layout: Layout, kind: str, **overrides: str) -> Settings:
    return load_settings(environment(layout, kind, **overrides))


@pytest.fixture(params=["rest", "sql"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def catalog(platform: Layout, kind: str) -> Catalog:
    return build_catalog(settings_of(platform, kind))


@pytest.fixture
def table_name(catalog: Catalog) -> Iterator[str]:
    """A fresh table identifier in ``raw``, dropped after the test."""
    name = f"raw.t_{uuid.uuid4().hex[:10]}"
    yield name
    if catalog.table_exists(name):
        catalog.purge_table(name)


@pytest.fixture
def names(kind: str, table_name: str) -> dict[str, str]:
    """The same table as each engine names it."""
    return {
        "pyiceberg": table_name,
        "trino": f"{TRINO_CATALOGS[kind]}.{table_name}",  # type: ignore[index]
        "spark": f"{CATALOG_NAMES[kind]}.{table_name}",  # type: ignore[index]
    }


def token(layout: Layout, client_id: str, secret: str, **form: str) -> dict[str, Any]:
    """The token endpoint's answer for a client-credentials grant (raises on refusal)."""
    response = requests.post(
        layout.token_endpoint,
        data={"grant_type": "client_credentials", **form},
        auth=(client_id, secret),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def trino(platform: Layout, platform_secrets: dict[str, str]) -> Callable[[str], list[list[Any]]]:
    """Run one statement on Trino as dbt's service account, over HTTPS with a fresh token."""
    auth = trino_client_auth(platform, "lakehouse-dbt", platform_secrets["client_lakehouse_dbt"])

    def run(sql: str) -> list[list[Any]]:
        with trino_connection(platform, "lakehouse-dbt", auth) as connection:
            cursor = connection.cursor()
            cursor.execute(sql)
            return cursor.fetchall()

    return run


@pytest.fixture(scope="session")
def spark(platform: Layout) -> Iterator[Any]:
    """A Spark Connect session on the loopback server (Iceberg runtime, both catalogs)."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(f"sc://127.0.0.1:{platform.ports['spark_connect']}")
    spark = session.getOrCreate()
    yield spark
    spark.stop()
