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


def test_setup_creates_logins_in_their_group_roles_with_passwords(postgres_audit):
    """The platform's setup Job creates the code location's writer login, the admins' reader
    login and the retention login from Secrets; a rerun changes the password, nothing else."""
    import psycopg2

    from lakehouse.governance.audit.postgres_setup import ensure_logins

    prefix = postgres_audit.roles.owner.removesuffix("_owner")
    logins = {kind: (f"{prefix}_{kind}_app", f"pw-{kind}") for kind in ("writer", "reader")}
    admin = psycopg2.connect(postgres_audit.dsn)
    try:
        ensure_logins(admin, postgres_audit.roles, logins)
        ensure_logins(admin, postgres_audit.roles, {"writer": (logins["writer"][0], "changed")})
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT m.rolname, g.rolname, m.rolcanlogin, m.rolpassword IS NOT NULL "
                "FROM pg_authid m JOIN pg_auth_members a ON a.member = m.oid "
                "JOIN pg_roles g ON g.oid = a.roleid WHERE m.rolname = ANY(%s)",
                ([login for login, _ in logins.values()],),
            )
            found = sorted(cursor.fetchall())
        with pytest.raises(ValueError, match="unknown role"):
            ensure_logins(admin, postgres_audit.roles, {"owner": (f"{prefix}_o", "x")})
        with pytest.raises(ValueError, match="login name"):
            ensure_logins(admin, postgres_audit.roles, {"writer": ("bad name; --", "x")})
    finally:
        with admin.cursor() as cursor:
            for login, _ in logins.values():
                cursor.execute(f"DROP ROLE IF EXISTS {login}")
        admin.commit()
        admin.close()
    assert found == [
        (logins["reader"][0], postgres_audit.roles.reader, True, True),
        (logins["writer"][0], postgres_audit.roles.writer, True, True),
    ]
