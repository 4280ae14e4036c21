"""``lakehouse audit list|verify|init-db|serve-trino-events``: the audit trail (seed §5.1).

On PostgreSQL the writer may only insert: reading and verifying take an admin's login
(``--user``, password from ``PGPASSWORD`` as libpq reads it), ``init-db`` the database owner's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.governance.audit import AuditStore
    from lakehouse.settings import Settings

COMMAND = "audit"


def _instant(value: str) -> dt.datetime:
    """``--since 2026-01-01`` or a full ISO 8601 time; a time without zone is UTC."""
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day or an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def add_audit_commands(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(COMMAND, help="read, verify or set up the audit trail")
    actions = audit.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="audit rows, oldest first")
    listing.add_argument("--since", type=_instant, help="rows at or after this day or time")
    listing.add_argument("--object", help="rows about this object (a trailing * is a prefix)")
    listing.add_argument("--limit", type=int, help="at most this many rows")
    listing.add_argument("--json", action="store_true", help="print JSON Lines, one row a line")
    verify = actions.add_parser("verify", help="recompute the hash chain; exit 1 when broken")
    for reader in (listing, verify):
        reader.add_argument("--user", help="PostgreSQL login to read as (an audit admin)")
    init = actions.add_parser("init-db", help="create the audit schema and its roles")
    init.add_argument("--print", action="store_true", help="print the PostgreSQL script only")
    init.add_argument("--role-prefix", help="name the roles <prefix>_owner, _writer, ...")
    init.add_argument(
        "--user", help="PostgreSQL login owning the database (default: $PGUSER, else postgres)"
    )
    init.add_argument(
        "--login",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="create or update login NAME in group role writer, reader or retention, its "
        "password from $AUDIT_<ROLE>_PASSWORD (repeatable)",
    )
    serve = actions.add_parser(
        "serve-trino-events", help="receive Trino's query events; audit those touching PII"
    )
    serve.add_argument("--host", default="0.0.0.0")  # a pod listens on all its addresses
    serve.add_argument("--port", type=int, default=8089)
    serve.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (PEM)")
    serve.add_argument("--ssl-keyfile", help="and this private key (PEM)")


def _store(settings: Settings, user: str | None) -> AuditStore:
    from lakehouse.governance.audit import audit_store
    from lakehouse.governance.audit.configured import open_audit_store

    url = settings.audit_store_url
    if user is None or not url.startswith("postgresql"):
        return audit_store(settings)
    from sqlalchemy.engine import make_url

    as_user = make_url(url).set(username=user, password=None)
    return open_audit_store(as_user.render_as_string(hide_password=False))


def run_audit_command(args: argparse.Namespace) -> int:
    from lakehouse.governance.audit import AuditStoreError
    from lakehouse.settings import get_settings

    settings = get_settings()
    try:
        if args.action == "init-db":
            return _init_db(settings, args)
        if args.action == "serve-trino-events":
            import uvicorn

            from lakehouse.governance.audit.trino_events import receiver_for

            uvicorn.run(
                receiver_for(settings),
                host=args.host,
                port=args.port,
                ssl_certfile=args.ssl_certfile,
                ssl_keyfile=args.ssl_keyfile,
            )
            return 0
        store = _store(settings, args.user)
        try:
            if args.action == "verify":
                verdict = store.verify()
                print(verdict.summary())
                return 0 if verdict.ok else 1
            rows = store.list(since=args.since, object=args.object, limit=args.limit)
        finally:
            store.close()
    except AuditStoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for row in rows:
        if args.json:
            print(json.dumps(row.as_dict(), sort_keys=True))
        else:
            r = row.record
            details = json.dumps(dict(r.details), sort_keys=True)
            print(f"{row.seq:>6}  {row.as_dict()['at']}  {r.action:<26} {r.object}  {r.actor}")
            print(f"        {details if len(details) < 160 else details[:157] + '...'}")
    if not rows and not args.json:
        print("no audit rows")
    return 0


def _init_db(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.governance.audit import audit_store
    from lakehouse.governance.audit.postgres_setup import (
        AuditRoles,
        apply_schema,
        ensure_logins,
        schema_sql,
    )

    roles = AuditRoles.prefixed(args.role_prefix) if args.role_prefix else AuditRoles()
    try:
        logins = _logins(args.login)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    url = settings.audit_store_url
    if args.print:
        sys.stdout.write(schema_sql(roles))
        return 0
    if not url.startswith("postgresql"):
        if logins:
            print(f"error: --login needs a PostgreSQL audit store, not {url}", file=sys.stderr)
            return 2
        audit_store(settings).close()  # the SQLite store creates its tables on open
        print(f"audit store ready: {url}")
        return 0
    import psycopg2
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    user = args.user or os.environ.get("PGUSER") or "postgres"
    try:
        connection = psycopg2.connect(
            host=parsed.host,
            port=parsed.port or 5432,
            dbname=parsed.database,
            user=user,
            **{k: v for k, v in parsed.query.items() if isinstance(v, str)},
        )
    except psycopg2.OperationalError as error:
        first = str(error).strip().splitlines()[0]
        print(f"error: cannot reach the audit database as {user}: {first}", file=sys.stderr)
        return 2
    try:
        apply_schema(connection, roles)
        ensure_logins(connection, roles, logins)
    finally:
        connection.close()
    print(f"audit schema and roles ({roles.owner}, {roles.writer}, ...) ready in {parsed.database}")
    for kind, (login, _) in sorted(logins.items()):
        print(f"login {login}: member of {getattr(roles, kind)}")
    return 0


def _logins(specs: list[str]) -> dict[str, tuple[str, str]]:
    """``writer=name`` -> {"writer": ("name", $AUDIT_WRITER_PASSWORD)}: passwords never on the
    command line (a process listing would show them)."""
    logins = {}
    for spec in specs:
        kind, _, login = spec.partition("=")
        if kind not in ("writer", "reader", "retention") or not login:
            raise ValueError(
                f"--login {spec!r}: expected writer=NAME, reader=NAME or retention=NAME"
            )
        variable = f"AUDIT_{kind.upper()}_PASSWORD"
        if not (password := os.environ.get(variable)):
            raise ValueError(f"--login {spec}: set {variable} to the login's password")
        logins[kind] = (login, password)
    return logins
