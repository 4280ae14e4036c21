"""Keycloak's database on the shared PostgreSQL server belongs to one platform directory and
one realm file: a database stamped for another is found stale (``platform-up`` makes it again).
Every checkout on the machine shares the server, and Keycloak imports a realm only if missing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from lakehouse.loopback import postgres
from lakehouse.loopback.keycloak import CLIENT_SECRETS, realm_stamp
from lakehouse.loopback.layout import LoopbackError


@pytest.fixture
def stamped_database() -> Iterator[str]:
    """A scratch database commented ``stamp-a`` (skipped without PostgreSQL, failed on CI)."""
    try:
        connection = postgres._admin()
    except LoopbackError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(str(error))
        pytest.skip(str(error))
    name = f"stamp_test_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f"create database {name}")
        cursor.execute(f"comment on database {name} is 'stamp-a'")
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f"drop database if exists {name} with (force)")
    connection.close()


def test_a_database_stamped_for_something_else_is_stale(stamped_database: str) -> None:
    assert postgres.stale_databases({stamped_database: "stamp-a"}) == ()
    assert postgres.stale_databases({stamped_database: "stamp-b"}) == (stamped_database,)
    assert postgres.stale_databases({f"{stamped_database}_missing": "stamp-a"}) == ()


def test_the_realm_stamp_changes_with_the_client_secrets_and_reveals_none() -> None:
    secrets = {name: f"secret-{name}" for name in CLIENT_SECRETS.values()}
    other = secrets | {"client_lakehouse_dbt": "another-secret"}

    assert realm_stamp(secrets) == realm_stamp(dict(secrets))
    assert realm_stamp(secrets) != realm_stamp(other)
    assert not any(value in realm_stamp(secrets) for value in secrets.values())
