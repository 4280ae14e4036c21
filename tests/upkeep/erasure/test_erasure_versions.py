"""An erasure is closed in the audit trail once the last stored version of its files is gone
(a versioned bucket keeps deleted files until its lifecycle rule expires them)."""

from __future__ import annotations

import datetime as dt

import pytest
from upkeep_tables import appender, events

from lakehouse.governance.audit.configured import audit_store
from lakehouse.governance.pii import PII_PROPERTY, SUBJECT_COLUMN_PROPERTY
from lakehouse.upkeep.erasure.erase import erase_subject
from lakehouse.upkeep.erasure.versions import (
    GONE_ACTION,
    pending_erasures,
    record_versions_gone,
    s3_version_counter,
)

T = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def _erased(catalog, settings) -> str:
    append = appender(catalog)
    for batch in range(2):
        append(events(batch * 10, 10), ("raw", "events"))
    with catalog.load_table(("raw", "events")).transaction() as txn:
        txn.set_properties({PII_PROPERTY: "true", SUBJECT_COLUMN_PROPERTY: "user_id"})
    store = audit_store(settings)
    report = erase_subject(catalog, "3", "dpo@example.org", audit=store)
    assert report.tables["raw.events"].deleted_files
    return report.request_id


def test_an_erasure_stays_open_while_a_version_remains_then_closes_once(catalog, settings):
    request_id = _erased(catalog, settings)
    store = audit_store(settings)
    (pending,) = pending_erasures(store)
    assert pending.request_id == request_id and pending.files
    stored = {uri: 2 for uri in pending.files}  # a noncurrent version and an older one

    assert record_versions_gone(store, stored.__getitem__, now=T) == {
        request_id: 2 * len(pending.files)
    }
    assert [r.record.action for r in store.list(object="gdpr")] == ["gdpr.erasure"]

    stored = dict.fromkeys(pending.files, 0)  # the lifecycle rule expired them
    assert record_versions_gone(store, stored.__getitem__, run_id="r1", now=T) == {}
    assert record_versions_gone(store, stored.__getitem__, now=T) == {}  # closed once
    gone = [r.record for r in store.list(object="gdpr") if r.record.action == GONE_ACTION]
    assert len(gone) == 1
    assert (gone[0].details["request_id"], gone[0].at, gone[0].run_id) == (request_id, T, "r1")
    assert gone[0].details["files"] == len(pending.files)
    assert pending_erasures(store) == []
    assert store.verify().ok


def test_embedded_files_are_gone_as_soon_as_erasure_deletes_them(catalog, settings):
    request_id = _erased(catalog, settings)
    store = audit_store(settings)

    assert record_versions_gone(store, s3_version_counter(catalog.properties)) == {}
    (gone,) = [r.record for r in store.list(object="gdpr") if r.record.action == GONE_ACTION]
    assert gone.details["request_id"] == request_id


def test_versions_and_not_delete_markers_are_counted_in_a_versioned_bucket():
    moto = pytest.importorskip("moto")
    import boto3

    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="warehouse")
        s3.put_bucket_versioning(Bucket="warehouse", VersioningConfiguration={"Status": "Enabled"})
        for body in (b"one", b"two"):
            s3.put_object(Bucket="warehouse", Key="t/data/a.parquet", Body=body)
        s3.put_object(Bucket="warehouse", Key="t/data/a.parquet.other", Body=b"x")
        s3.delete_object(Bucket="warehouse", Key="t/data/a.parquet")  # a delete marker
        count = s3_version_counter({"s3.region": "us-east-1"})
        uri = "s3://warehouse/t/data/a.parquet"

        assert count(uri) == 2  # the neighbour sharing the prefix is not counted
        listed = s3.list_object_versions(Bucket="warehouse", Prefix="t/data/a.parquet")
        for version in listed["Versions"]:
            if version["Key"] == "t/data/a.parquet":
                s3.delete_object(
                    Bucket="warehouse", Key=version["Key"], VersionId=version["VersionId"]
                )
        assert count(uri) == 0
