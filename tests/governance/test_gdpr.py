"""GDPR: a subject's data exported from every PII table, and consent as of an instant."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json

import pyarrow as pa
import pytest

from lakehouse.governance.consents import (
    PROFILING,
    Consent,
    ConsentError,
    consent_rows,
    read_consents,
    record_consents,
    withdrawn_subjects,
    without_subjects,
)
from lakehouse.governance.files import Location
from lakehouse.governance.gdpr_export import export_subject
from lakehouse.governance.pii import PII_PROPERTY, SUBJECT_COLUMN_PROPERTY, PiiTagError
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write

T = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
# What subject 7 has in each PII table of ``pii_catalog``.
SUBJECT_7_ROWS = {
    "analytics.empty_pii": 0,
    "staging.purchases": 2,
    "staging.users": 1,
    "support.tickets": 1,
}


def make_table(catalog, identifier, data: pa.Table, subject_column: str | None) -> None:
    catalog.create_namespace_if_not_exists(identifier[0])
    write(catalog, data, WriteRequest(identifier, mode="append"))
    if subject_column is not None:
        table = catalog.load_table(identifier)
        with table.transaction() as txn:
            txn.set_properties({PII_PROPERTY: "true", SUBJECT_COLUMN_PROPERTY: subject_column})


@pytest.fixture
def pii_catalog(catalog):
    users = pa.table(
        {
            "user_id": pa.array([6, 7, 8], pa.int64()),
            "email": ["a@x.io", "b@x.io", "c@x.io"],
            "created_at": pa.array([T, T, T], pa.timestamp("us", tz="UTC")),
        }
    )
    purchases = pa.table(
        {
            "purchase_id": pa.array([1, 2, 3, 4], pa.int64()),
            "user_id": pa.array([7, 6, 7, 8], pa.int64()),
            "amount": pa.array([decimal.Decimal("9.50")] * 4, pa.decimal128(10, 2)),
        }
    )
    tickets = pa.table({"customer": ["7", "9"], "text": ["hello", "other"]})
    products = pa.table({"product_id": pa.array([1], pa.int64()), "make": ["VW"]})
    make_table(catalog, ("staging", "users"), users, "user_id")
    make_table(catalog, ("staging", "purchases"), purchases, "user_id")
    make_table(catalog, ("support", "tickets"), tickets, "customer")
    make_table(catalog, ("staging", "products"), products, None)
    catalog.create_table(("analytics", "empty_pii"), schema=users.schema)
    with catalog.load_table(("analytics", "empty_pii")).transaction() as txn:
        txn.set_properties({PII_PROPERTY: "true", SUBJECT_COLUMN_PROPERTY: "user_id"})
    return catalog


def test_export_writes_one_file_per_pii_table_and_a_manifest(pii_catalog, tmp_path):
    result = export_subject(pii_catalog, "7", destination=str(tmp_path / "exports"), now=T)
    location = Location(str(tmp_path / "exports"))
    files = location.list(result.export_id)
    assert files == [
        f"{result.export_id}/{name}"
        for name in (
            "analytics.empty_pii.jsonl",
            "manifest.json",
            "staging.purchases.jsonl",
            "staging.users.jsonl",
            "support.tickets.jsonl",
        )
    ]
    users = location.read_bytes(f"{result.export_id}/staging.users.jsonl").decode()
    assert [json.loads(line) for line in users.splitlines()] == [
        {"user_id": 7, "email": "b@x.io", "created_at": "2026-03-01T10:00:00+00:00"}
    ]
    purchases = location.read_bytes(f"{result.export_id}/staging.purchases.jsonl").decode()
    assert [json.loads(line) for line in purchases.splitlines()] == [
        {"purchase_id": 1, "user_id": 7, "amount": "9.50"},
        {"purchase_id": 3, "user_id": 7, "amount": "9.50"},
    ]
    tickets = location.read_bytes(f"{result.export_id}/support.tickets.jsonl").decode()
    assert json.loads(tickets) == {"customer": "7", "text": "hello"}

    manifest = json.loads(location.read_bytes(f"{result.export_id}/manifest.json"))
    assert manifest["subject_sha256"] == hashlib.sha256(b"7").hexdigest()
    # The subject is named by hash only: no field of the manifest holds the id itself.
    assert set(manifest) == {
        "export_id",
        "subject_sha256",
        "exported_at",
        "format",
        "rows",
        "tables",
    }
    assert {t["table"]: t["rows"] for t in manifest["tables"]} == SUBJECT_7_ROWS
    for entry in manifest["tables"]:
        data = location.read_bytes(f"{result.export_id}/{entry['file']}")
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["rows"] == result.rows == 4


def test_export_of_named_tables_only(pii_catalog, tmp_path):
    result = export_subject(
        pii_catalog, "6", {("staging", "purchases"): "user_id"}, destination=str(tmp_path)
    )
    assert [(t.table, t.rows) for t in result.tables] == [("staging.purchases", 1)]


def test_a_pii_table_without_its_subject_column_is_named(pii_catalog, tmp_path):
    with pii_catalog.load_table(("support", "tickets")).transaction() as txn:
        txn.remove_properties(SUBJECT_COLUMN_PROPERTY)
    with pytest.raises(PiiTagError, match=r"support\.tickets"):
        export_subject(pii_catalog, "7", destination=str(tmp_path))


def test_a_non_integer_subject_for_integer_ids_is_named(pii_catalog, tmp_path):
    with pytest.raises(ValueError, match=r"staging.purchases.user_id holds integer ids"):
        export_subject(
            pii_catalog, "b@x.io", {("staging", "purchases"): "user_id"}, destination=str(tmp_path)
        )


def consent(subject: str, status: str, hours: float, purpose: str = PROFILING) -> Consent:
    return Consent(subject, purpose, status, T + dt.timedelta(hours=hours), source="app")


HISTORY = consent_rows(
    [
        consent("1", "granted", 0),
        consent("1", "withdrawn", 5),
        consent("2", "granted", 0),
        consent("2", "withdrawn", 1),
        consent("2", "granted", 3),
        consent("3", "granted", 2),
        consent("3", "withdrawn", 2),  # the same instant: withdrawn wins
        consent("4", "withdrawn", 1, purpose="marketing"),
    ]
)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(-1, set()), (0, set()), (1, {"2"}), (2.5, {"2", "3"}), (4, {"3"}), (5, {"1", "3"})],
)
def test_withdrawn_subjects_as_of_an_instant(hours, expected):
    as_of = T + dt.timedelta(hours=hours)
    assert withdrawn_subjects(HISTORY, PROFILING, as_of) == expected
    assert withdrawn_subjects(HISTORY, "marketing", as_of) == ({"4"} if hours >= 1 else set())


def test_withdrawn_subjects_leave_a_table_whatever_the_key_type():
    features = pa.table({"user_id": pa.array([1, 2, 3, None], pa.int64()), "x": [1, 2, 3, 4]})
    kept = without_subjects(features, "user_id", {"1", "3"})
    assert kept.to_pydict() == {"user_id": [2, None], "x": [2, 4]}


def test_malformed_consents_are_named():
    bad = consent_rows([consent("1", "granted", 0)]).set_column(
        2, "status", pa.array(["maybe"], pa.string())
    )
    with pytest.raises(ConsentError, match=r"row 0: status 'maybe' is not one of"):
        withdrawn_subjects(bad, PROFILING, T)
    with pytest.raises(ValueError, match="time zone"):
        withdrawn_subjects(HISTORY, PROFILING, dt.datetime(2026, 3, 1))


def test_consents_are_recorded_in_the_governance_namespace(catalog):
    assert read_consents(catalog).num_rows == 0
    assert record_consents(catalog, [consent("1", "granted", 0)]) == 1
    record_consents(catalog, [consent("1", "withdrawn", 1)])
    history = read_consents(catalog)
    assert history.num_rows == 2
    assert withdrawn_subjects(history, PROFILING, T + dt.timedelta(hours=2)) == {"1"}
    assert catalog.load_table(("governance", "consents")).schema().find_field("at").required
