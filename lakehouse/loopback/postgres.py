"""The platform's databases and roles on scripts/postgres.sh's server, least privilege.

One role per service, each owning its own database and nothing else (no superuser, no
CREATEDB, no CREATEROLE; CONNECT revoked from PUBLIC). scripts/postgres.sh trusts every user
on loopback for the tests; these roles are put in front of that rule with scram-sha-256
(``+loopback_login`` in pg_hba.conf), so a wrong password is refused as on the platform.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import psycopg2
from psycopg2 import sql

from lakehouse.loopback.layout import HOST, POSTGRES_PORT, LoopbackError
from lakehouse.loopback.secrets import write_private

ADMIN_DSN = f"host={HOST} port={POSTGRES_PORT} user=postgres dbname=postgres connect_timeout=3"
LOGIN_GROUP = "loopback_login"
# role (= its database) -> the secret holding its password
ROLES = {
    "loopback_keycloak": "postgres_keycloak",
    "loopback_catalog": "postgres_catalog",  # the REST catalog's JdbcCatalog
    "loopback_iceberg": "postgres_iceberg",  # the SQL (JDBC) Iceberg catalog
    "loopback_dagster": "postgres_dagster",  # Dagster's run, event-log and schedule storage
}
# Dropped and made again when the warehouse they point to starts empty (a new S3 server).
CATALOG_DATABASES = ("loopback_catalog", "loopback_iceberg")
HBA_MARK = "# lakehouse loopback platform: its roles use passwords"


def _admin() -> psycopg2.extensions.connection:
    try:
        connection = psycopg2.connect(ADMIN_DSN)
    except psycopg2.OperationalError as error:
        raise LoopbackError(
            f"PostgreSQL does not answer on {HOST}:{POSTGRES_PORT} as user postgres "
            f"({str(error).strip().splitlines()[0]}); run scripts/postgres.sh"
        ) from None
    connection.autocommit = True
    return connection


def stale_databases(stamps: Mapping[str, str]) -> tuple[str, ...]:
    """The databases of ``stamps`` (role -> stamp) made for something else: another platform
    directory (the server is shared by every checkout on the machine) or another realm file."""
    connection = _admin()
    with connection.cursor() as cursor:
        cursor.execute(
            "select datname, shobj_description(oid, 'pg_database') from pg_database "
            "where datname = any(%s)",
            (list(stamps),),
        )
        found = dict(cursor.fetchall())
    connection.close()
    return tuple(role for role, stamp in stamps.items() if role in found and found[role] != stamp)


def ensure_databases(
    secrets: dict[str, str],
    *,
    reset: tuple[str, ...] = (),
    stamps: Mapping[str, str] | None = None,
) -> None:
    """Create (or re-password) each role and its database; drop and recreate those in ``reset``;
    record each of ``stamps`` (role -> stamp) as its database's comment."""
    stamps = stamps or {}
    connection = _admin()
    with connection.cursor() as cursor:
        cursor.execute("select 1 from pg_roles where rolname = %s", (LOGIN_GROUP,))
        group = sql.Identifier(LOGIN_GROUP)
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("create role {} nologin").format(group))
        for role, secret in ROLES.items():
            name = sql.Identifier(role)
            cursor.execute("select 1 from pg_roles where rolname = %s", (role,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("create role {} in role {}").format(name, group))
            cursor.execute(
                sql.SQL(
                    "alter role {} login inherit nosuperuser nocreatedb nocreaterole password {}"
                ).format(name, sql.Literal(secrets[secret]))
            )
            if role in reset:
                cursor.execute(sql.SQL("drop database if exists {} with (force)").format(name))
            cursor.execute("select 1 from pg_database where datname = %s", (role,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("create database {} owner {}").format(name, name))
            cursor.execute(sql.SQL("revoke all on database {} from public").format(name))
            if role in stamps:
                cursor.execute(
                    sql.SQL("comment on database {} is {}").format(name, sql.Literal(stamps[role]))
                )
    connection.close()
    _require_passwords()


def _require_passwords() -> None:
    """Put ``host all +loopback_login 127.0.0.1/32 scram-sha-256`` before the trust rules."""
    connection = _admin()
    with connection.cursor() as cursor:
        cursor.execute("show hba_file")
        (hba_file,) = cursor.fetchone()
        hba = Path(hba_file)
        try:
            text = hba.read_text()
            if HBA_MARK not in text:
                rule = (
                    f"{HBA_MARK}\nhost all +{LOGIN_GROUP} 127.0.0.1/32 scram-sha-256\n"
                    f"host all +{LOGIN_GROUP} ::1/128 scram-sha-256\n"
                )
                hba.write_text(rule + text)
                shutil.chown(hba, "postgres", "postgres")
            cursor.execute("select pg_reload_conf()")
        except PermissionError:
            raise LoopbackError(
                f"cannot edit {hba_file} to require passwords for the platform's roles; run "
                "`make platform-up` as root (or as the owner of the file)"
            ) from None
    connection.close()


def sqlalchemy_url(role: str) -> str:
    """The role's database URL without its password (libpq and pgjdbc read PGPASSFILE)."""
    return f"postgresql+psycopg2://{role}@{HOST}:{POSTGRES_PORT}/{role}"


def jdbc_url(role: str) -> str:
    return f"jdbc:postgresql://{HOST}:{POSTGRES_PORT}/{role}"


def write_pgpass(path: Path, secrets: dict[str, str]) -> None:
    """The passfile libpq and the PostgreSQL JDBC driver read (``PGPASSFILE``), 0600."""
    lines = [
        f"{HOST}:{POSTGRES_PORT}:{role}:{role}:{_escaped(secrets[secret])}"
        for role, secret in ROLES.items()
    ]
    write_private(path, "\n".join(lines) + "\n")


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def server_answers() -> bool:
    return (
        subprocess.run(
            ["pg_isready", "-h", HOST, "-p", str(POSTGRES_PORT), "-t", "2"], capture_output=True
        ).returncode
        == 0
    )
