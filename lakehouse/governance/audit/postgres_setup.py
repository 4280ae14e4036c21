"""The audit database's schema and roles: ``postgres_schema.sql`` with the role names filled in.

``python -m lakehouse.governance.audit.postgres_setup --print`` prints the SQL for a DBA;
``apply_schema`` runs it (idempotent) for tests and bootstrap jobs connected as an admin.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("postgres_schema.sql")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class AuditRoles:
    """The four group roles; names are plain lower-case identifiers (no quoting needed)."""

    owner: str = "lakehouse_audit_owner"
    writer: str = "lakehouse_audit_writer"
    reader: str = "lakehouse_audit_reader"
    retention: str = "lakehouse_audit_retention"

    def __post_init__(self) -> None:
        for field in fields(self):
            if not _ROLE_NAME.match(getattr(self, field.name)):
                raise ValueError(f"audit {field.name} role name {getattr(self, field.name)!r}")

    @classmethod
    def prefixed(cls, prefix: str) -> AuditRoles:
        return cls(*(f"{prefix}_{field.name}" for field in fields(cls)))


def schema_sql(roles: AuditRoles = AuditRoles()) -> str:
    text = SCHEMA_FILE.read_text()
    for field in fields(roles):
        text = text.replace(f"@{field.name}@", getattr(roles, field.name))
    return text


def apply_schema(connection, roles: AuditRoles = AuditRoles()) -> None:
    """Run the schema script on an open psycopg2 connection to the audit database (an admin's)."""
    with connection.cursor() as cursor:
        cursor.execute(schema_sql(roles))
    connection.commit()


def ensure_logins(connection, roles: AuditRoles, logins: Mapping[str, tuple[str, str]]) -> None:
    """Create or update login users, each a member of one group role (``writer``, ``reader``,
    ``retention``) with the password given: the platform's setup Job passes them from Secrets."""
    from psycopg2 import sql

    with connection.cursor() as cursor:
        for kind, (login, password) in logins.items():
            if kind not in ("writer", "reader", "retention"):
                raise ValueError(f"audit login {login!r}: unknown role {kind!r}")
            if not _ROLE_NAME.match(login):
                raise ValueError(f"audit {kind} login name {login!r}")
            if not password:
                raise ValueError(f"audit {kind} login {login}: empty password")
            cursor.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (login,))
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            cursor.execute(
                sql.SQL("{} ROLE {} LOGIN PASSWORD %s").format(
                    sql.SQL(verb), sql.Identifier(login)
                ),
                (password,),
            )
            cursor.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(getattr(roles, kind)), sql.Identifier(login)
                )
            )
    connection.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the SQL (the default)")
    parser.add_argument("--role-prefix", help="name the roles <prefix>_owner, _writer, ...")
    args = parser.parse_args(argv)
    roles = AuditRoles.prefixed(args.role_prefix) if args.role_prefix else AuditRoles()
    sys.stdout.write(schema_sql(roles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
