"""How settings pick the audit store: SQLite embedded, PostgreSQL on the platform."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.governance.audit.store import AuditStore, AuditStoreError

if TYPE_CHECKING:
    from lakehouse.settings import Settings


def open_audit_store(url: str, *, password: str | None = None) -> AuditStore:
    """The store at ``url``: ``sqlite:///path`` or ``postgresql[+psycopg2]://user@host/db``."""
    if url.startswith("sqlite:///"):
        from lakehouse.governance.audit.sqlite_store import SqliteAuditStore

        return SqliteAuditStore(url.removeprefix("sqlite:///"))
    if url.startswith("postgresql"):
        from lakehouse.governance.audit.postgres_store import PostgresAuditStore

        return PostgresAuditStore(url, password=password)
    raise AuditStoreError(
        f"LAKEHOUSE_AUDIT_URL: expected sqlite:///path or postgresql+psycopg2://user@host/db, "
        f"got {url.split(':', 1)[0]}:..."
    )


def audit_store(settings: Settings) -> AuditStore:
    """The configured store (the writer's credentials on the platform)."""
    password = settings.audit_password.get_secret_value() if settings.audit_password else None
    return open_audit_store(settings.audit_store_url, password=password)


def audit_retention_store(settings: Settings) -> AuditStore:
    """The store as the retention role sees it: on PostgreSQL the retention login (it may only
    purge), embedded the same SQLite file."""
    url = settings.audit_store_url
    if not url.startswith("postgresql"):
        return open_audit_store(url)
    if not settings.audit_retention_user:
        raise AuditStoreError(
            "LAKEHOUSE_AUDIT_RETENTION_USER: purging the PostgreSQL audit store needs the "
            "retention role's login (and LAKEHOUSE_AUDIT_RETENTION_PASSWORD)"
        )
    from sqlalchemy.engine import make_url

    retention_url = make_url(url).set(username=settings.audit_retention_user, password=None)
    password = settings.audit_retention_password
    return open_audit_store(
        retention_url.render_as_string(hide_password=False),
        password=password.get_secret_value() if password else None,
    )
