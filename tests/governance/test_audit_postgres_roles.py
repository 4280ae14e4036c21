"""Least privilege on the audit database: the writer only inserts content, admins only read,
the retention job only purges; nobody else connects."""

from __future__ import annotations

import datetime as dt

import pytest
from audit_fixtures import PostgresAudit

from lakehouse.governance.audit.chain import AuditRecord
from lakehouse.governance.audit.postgres_setup import AuditRoles, apply_schema, schema_sql
from lakehouse.governance.audit.store import AuditStoreError

pytestmark = pytest.mark.postgres

AT = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def _as(audit: PostgresAudit, role: str, statement: str, params=()):
    import psycopg2

    connection = psycopg2.connect(audit.dsn.replace("user=postgres", f"user={audit.logins[role]}"))
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def test_the_writer_inserts_content_only(postgres_audit):
    import psycopg2

    writer = postgres_audit.store("writer")
    assert writer.append([AuditRecord("run.success", "raw.t", "service:dagster", AT)]) == 1
    for statement in (
        "SELECT * FROM audit.events",
        "SELECT * FROM audit.chain_head",
        "UPDATE audit.events SET actor = 'x'",
        "DELETE FROM audit.events",
        "SELECT * FROM audit.purge(now(), 'x')",
        "INSERT INTO audit.events (at, actor, object, action, details, hash) "
        "VALUES (now(), 'a', 'o', 'x', '{}', 'forged')",
    ):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            _as(postgres_audit, "writer", statement)
    with pytest.raises(AuditStoreError, match="refused user"):
        writer.verify()


def test_admins_read_and_cannot_write(postgres_audit):
    import psycopg2

    postgres_audit.store("writer").append([AuditRecord("a", "o", "service:x", AT)])
    assert len(_as(postgres_audit, "reader", "SELECT seq FROM audit.events")) == 1
    assert postgres_audit.store("reader").verify().ok
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _as(
            postgres_audit,
            "reader",
            "INSERT INTO audit.events (at, actor, object, action, details) "
            "VALUES (now(), 'a', 'o', 'x', '{}')",
        )


def test_the_retention_job_only_purges(postgres_audit):
    import psycopg2

    postgres_audit.store("writer").append([AuditRecord("a", "o", "service:x", AT)])
    for statement in ("SELECT * FROM audit.events", "DELETE FROM audit.events"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            _as(postgres_audit, "retention", statement)
    result = postgres_audit.store("retention").purge(AT + dt.timedelta(days=1), actor="svc")
    assert result.rows == 1


def test_other_users_cannot_connect_and_the_script_is_idempotent(postgres_audit):
    import psycopg2

    admin = psycopg2.connect(postgres_audit.dsn)
    apply_schema(admin, postgres_audit.roles)  # again: no error, nothing lost
    admin.close()
    outsider = f"{postgres_audit.roles.owner}_outsider"
    setup = psycopg2.connect(postgres_audit.dsn)
    setup.autocommit = True
    with setup.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {outsider} LOGIN")
    try:
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            psycopg2.connect(postgres_audit.dsn.replace("user=postgres", f"user={outsider}"))
    finally:
        with setup.cursor() as cursor:
            cursor.execute(f"DROP ROLE {outsider}")
        setup.close()


def test_role_names_are_checked_before_they_reach_sql():
    with pytest.raises(ValueError, match="writer"):
        AuditRoles(writer="x; DROP TABLE audit.events")
    assert "lakehouse_audit_writer" in schema_sql()
    assert "@writer@" not in schema_sql()
