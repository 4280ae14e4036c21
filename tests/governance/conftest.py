"""Governance fixtures: audit stores on SQLite and on a fresh PostgreSQL database with its roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from audit_fixtures import AuditStores, PostgresAudit

from lakehouse.governance.audit.postgres_setup import AuditRoles, apply_schema
from lakehouse.governance.audit.sqlite_store import SqliteAuditStore


@pytest.fixture
def postgres_audit(pg_catalog_uri: str) -> Iterator[PostgresAudit]:
    """The audit schema in a fresh database, roles named for this test, one login per role."""
    import psycopg2

    database = pg_catalog_uri.rsplit("/", 1)[1]
    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={database}"
    prefix = f"audit_{uuid.uuid4().hex[:8]}"
    roles = AuditRoles.prefixed(prefix)
    logins = {name: f"{prefix}_{name}_login" for name in ("writer", "reader", "retention")}
    admin = psycopg2.connect(dsn)
    apply_schema(admin, roles)
    with admin.cursor() as cursor:
        for name, login in logins.items():
            cursor.execute(f"CREATE ROLE {login} LOGIN IN ROLE {getattr(roles, name)}")
    admin.commit()
    admin.close()
    try:
        yield PostgresAudit(pg_catalog_uri, dsn, roles, logins)
    finally:
        _drop_roles(database, [*logins.values(), roles.writer, roles.reader, roles.retention])
        _drop_roles(database, [roles.owner])


def _drop_roles(database: str, names: list[str]) -> None:
    import psycopg2

    admin = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname=test")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for name in names:
            cursor.execute(f"DROP ROLE IF EXISTS {name}")
    admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audit_stores(request: pytest.FixtureRequest, tmp_path) -> AuditStores:
    if request.param == "sqlite":
        store = SqliteAuditStore(tmp_path / "audit.db")
        return AuditStores(store, store, store)
    pg: PostgresAudit = request.getfixturevalue("postgres_audit")
    return AuditStores(pg.store("writer"), pg.store("reader"), pg.store("retention"), pg.dsn)


@pytest.fixture
def s3_environment(tmp_path) -> Iterator[dict[str, str]]:
    """LAKEHOUSE_* settings of a warehouse and an archive bucket in moto's S3 server."""
    import socket

    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
        for bucket in ("warehouse", "archive"):
            s3.create_bucket(Bucket=bucket)
        yield {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_WAREHOUSE": "s3://warehouse/lakehouse",
            "LAKEHOUSE_ARCHIVE_LOCATION": "s3://archive/lakehouse",
            "LAKEHOUSE_S3_ENDPOINT": endpoint,
            "LAKEHOUSE_S3_ACCESS_KEY_ID": "test",
            "LAKEHOUSE_S3_SECRET_ACCESS_KEY": "test",
        }
    finally:
        server.stop()


@pytest.fixture(scope="session")
def compiled_manifest(tmp_path_factory) -> dict:
    """The dbt project compiled for DuckDB (compiled SQL in the manifest); no database needed."""
    import json
    import os
    import subprocess

    from lakehouse.analytics.prepare import DBT_PROJECT_DIR, dbt_executable

    target = tmp_path_factory.mktemp("dbt-compiled")
    environment = {
        **os.environ,
        "LAKEHOUSE_DBT_TARGET": "duckdb",
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
    }
    done = subprocess.run(
        [dbt_executable(), "compile", "--target", "duckdb", "--target-path", str(target),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR)],
        env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((target / "manifest.json").read_text())
