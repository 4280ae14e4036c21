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
