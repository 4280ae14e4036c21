"""Settings pick each role's audit store: the writer for the code location, the retention
login for the retention job's purge, and a clear line when the purge has no login."""

from __future__ import annotations

import datetime as dt

import pytest
from audit_fixtures import record

from lakehouse.governance.audit.configured import audit_retention_store, audit_store
from lakehouse.governance.audit.store import AuditStoreError
from lakehouse.settings import load_settings


def test_the_purge_on_postgresql_needs_the_retention_login(tmp_path):
    settings = load_settings(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_AUDIT_URL": "postgresql://w@db:5432/audit"}
    )
    with pytest.raises(AuditStoreError, match="LAKEHOUSE_AUDIT_RETENTION_USER"):
        audit_retention_store(settings)


def test_embedded_the_retention_store_is_the_same_file(settings):
    audit_store(settings).append([record(1)])
    assert [r.seq for r in audit_retention_store(settings).list()] == [1]


@pytest.mark.postgres
def test_the_retention_login_purges_what_the_writer_wrote(postgres_audit, tmp_path):
    writer_url = postgres_audit.url.replace("postgres@", f"{postgres_audit.logins['writer']}@")
    settings = load_settings(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_AUDIT_URL": writer_url,
            "LAKEHOUSE_AUDIT_RETENTION_USER": postgres_audit.logins["retention"],
        }
    )
    audit_store(settings).append([record(i) for i in range(3)])
    purged = audit_retention_store(settings).purge(
        record(2).at - dt.timedelta(hours=1), actor="service:retention"
    )
    assert (purged.rows, purged.through_seq) == (2, 2)
    with pytest.raises(AuditStoreError, match="refused user"):
        audit_store(settings).list()  # the writer cannot read
