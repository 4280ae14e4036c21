"""Trino queries touching PII tables become audit rows, through the HTTP event listener's
receiver: who, which table and columns, read or written, allowed or refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from lakehouse.governance.audit.sqlite_store import SqliteAuditStore
from lakehouse.governance.audit.trino_events import (
    TrinoEventError,
    pii_access_records,
    trino_events_app,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trino"
PII = {"staging.users", "staging.purchases", "analytics.dim_customers"}


def event(name: str) -> dict:
    return json.loads((FIXTURES / f"query_completed_{name}.json").read_text())


def test_a_read_of_pii_tables_names_user_columns_and_masks():
    records = pii_access_records(event("select_pii"), PII)
    assert [(r.action, r.object) for r in records] == [
        ("trino.query.read_pii", "staging.purchases"),
        ("trino.query.read_pii", "staging.users"),
    ]
    users = records[1]
    assert users.actor == "user:alice@example.com"
    assert users.at == dt.datetime(2026, 11, 5, 10, 15, 1, 370000, tzinfo=dt.UTC)
    assert users.details["columns"] == ["email", "user_id"]
    assert users.details["masked_columns"] == ["email"]
    assert users.details["source"] == "superset" and users.details["groups"] == ["data-analysts"]
    assert users.details["state"] == "FINISHED" and "error" not in users.details
    assert users.key == "trino:20261105_101500_00042_abcde:staging.users"


def test_a_write_into_a_pii_table_is_a_write():
    records = pii_access_records(event("insert_pii"), PII)
    assert [(r.action, r.object) for r in records] == [
        ("trino.query.write_pii", "analytics.dim_customers"),
        ("trino.query.read_pii", "staging.users"),
    ]
    assert records[0].actor == "user:service-account-lakehouse-pipelines"


def test_a_refused_read_is_recorded_with_the_error():
    (record,) = pii_access_records(event("denied"), PII)
    assert (record.actor, record.details["state"]) == ("user:bob", "FAILED")
    assert record.details["error"] == "PERMISSION_DENIED"
    assert record.details["columns"] == ["telephone"]


def test_queries_without_pii_or_outside_the_catalog_record_nothing():
    assert pii_access_records(event("no_pii"), PII) == []
    assert pii_access_records(event("select_pii"), PII, catalogs=("hive",)) == []


def test_a_body_that_is_no_query_event_is_refused():
    with pytest.raises(TrinoEventError, match=r"metadata\.queryId"):
        pii_access_records({"createTime": "2026-01-01T00:00:00Z"}, PII)


def test_the_receiver_records_each_query_once_and_checks_its_token(tmp_path):
    store = SqliteAuditStore(tmp_path / "audit.db")
    app = trino_events_app(lambda: store, lambda: PII, token="s3cret")
    client = TestClient(app)
    headers = {"Authorization": "Bearer s3cret"}
    assert client.get("/healthz").text == "ok"
    assert client.post("/trino/events", json=event("select_pii")).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/trino/events", json=event("select_pii"), headers=wrong).status_code == 401
    answer = client.post("/trino/events", json=event("select_pii"), headers=headers)
    assert answer.status_code == 200 and answer.json() == {"recorded": 2}
    again = client.post("/trino/events", json=event("select_pii"), headers=headers)
    assert again.json() == {"recorded": 0}  # the listener retried: nothing twice
    assert client.post("/trino/events", json=event("no_pii"), headers=headers).json() == {
        "recorded": 0
    }
    bad = client.post("/trino/events", content=b"{not json", headers=headers)
    assert bad.status_code == 400 and "bad Trino event" in bad.json()["error"]
    assert [r.record.object for r in store.list()] == ["staging.purchases", "staging.users"]
    assert store.verify().ok


def test_the_platform_receiver_reads_pii_tags_from_the_catalog(catalog, settings, tmp_path):
    import pyarrow as pa

    from lakehouse.governance.audit.trino_events import receiver_for
    from lakehouse.governance.pii import PII_PROPERTY, SUBJECT_COLUMN_PROPERTY

    catalog.create_namespace_if_not_exists("staging")
    users = catalog.create_table(
        ("staging", "users"), schema=pa.schema([pa.field("user_id", pa.int64())])
    )
    with users.transaction() as txn:
        txn.set_properties({PII_PROPERTY: "true", SUBJECT_COLUMN_PROPERTY: "user_id"})
    configured = settings.model_copy(update={"audit_trino_events_token": SecretStr("t0ken")})
    client = TestClient(receiver_for(configured))
    answer = client.post(
        "/trino/events", json=event("select_pii"), headers={"Authorization": "Bearer t0ken"}
    )
    assert answer.json() == {"recorded": 1}  # staging.users is tagged; purchases is not here
    (row,) = SqliteAuditStore(settings.home_dir / "audit.db").list()
    assert (row.record.object, row.record.actor) == ("staging.users", "user:alice@example.com")


def test_the_pii_tables_are_fetched_again_after_the_refresh_period():
    from lakehouse.governance.audit.trino_events import refreshed_every

    calls = []
    current = refreshed_every(lambda: calls.append(1) or {"a.b"}, seconds=3600)
    assert current() == {"a.b"} and current() == {"a.b"} and len(calls) == 1
    always = refreshed_every(lambda: calls.append(1) or {"a.b"}, seconds=0)
    always(), always()
    assert len(calls) == 3
