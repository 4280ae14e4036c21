"""Archive before delete: rows in range go to verified Parquet with a manifest, are listed, and
restore into a scratch namespace with the same rows and checksums."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.catalog import build_catalog
from lakehouse.governance.archive import (
    LATEST_PROPERTY,
    ArchiveError,
    ArchiveRange,
    archive_rows,
    content_digest,
    list_archives,
    record_on_table,
    restore_archive,
    still_covers,
)
from lakehouse.governance.files import Location
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.settings import load_settings

T = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def events(days: int) -> pa.Table:
    at = [T - dt.timedelta(days=d, hours=h) for d in range(days) for h in (1, 13)]
    return pa.table(
        {
            "event_id": pa.array(range(len(at)), pa.int64()),
            "at": pa.array(at, pa.timestamp("us", tz="UTC")),
            "day": pa.array([a.date() for a in at], pa.date32()),
            "payload": pa.array(
                [{"k": f"v{i}", "n": i} for i in range(len(at))],
                pa.struct([pa.field("k", pa.string()), pa.field("n", pa.int64())]),
            ),
        }
    )


@pytest.fixture
def events_table(catalog):
    catalog.create_namespace_if_not_exists("raw")
    write(catalog, events(20), WriteRequest(("raw", "events"), mode="append"))
    return ("raw", "events")


def test_rows_in_range_are_archived_verified_and_restored(catalog, settings, events_table):
    root = settings.archive_root
    cutoff = T - dt.timedelta(days=10)
    receipt = archive_rows(catalog, events_table, ArchiveRange("at", cutoff), root=root, now=T)

    expected = catalog.load_table(events_table).scan().to_arrow()
    expected = expected.filter(pc.less(expected["at"], cutoff))
    assert receipt.safe_to_delete and receipt.rows == expected.num_rows == 20
    manifest = receipt.manifest
    assert manifest.table == "raw.events" and manifest.rows == 20
    assert manifest.range == {"column": "at", "start": None, "end": cutoff.isoformat()}
    assert manifest.content_sha256 == content_digest(expected)
    assert receipt.manifest_uri == f"{root}/raw/events/{manifest.archive_id}/manifest.json"
    stored = Location(root)
    assert stored.sha256(f"raw/events/{manifest.archive_id}/data.parquet") == (
        manifest.bytes,
        manifest.sha256,
    )
    assert (
        json.loads(stored.read_bytes(f"raw/events/{manifest.archive_id}/manifest.json"))[
            "compression"
        ]
        == "zstd"
    )
    assert still_covers(catalog, events_table, receipt)

    assert list_archives(root, table="raw.events") == [manifest]
    restored = restore_archive(catalog, root, manifest)
    assert restored[0] == "scratch"
    rows = catalog.load_table(restored).scan().to_arrow()
    assert rows.num_rows == 20 and content_digest(rows) == manifest.content_sha256
    assert rows.sort_by("event_id").equals(expected.sort_by("event_id"))
    assert (
        catalog.load_table(restored).schema().as_struct()
        == catalog.load_table(events_table).schema().as_struct()
    )


def test_a_date_column_and_a_bounded_range(catalog, settings, events_table):
    rng = ArchiveRange("day", T - dt.timedelta(days=5), start=T - dt.timedelta(days=8))
    receipt = archive_rows(catalog, events_table, rng, root=settings.archive_root, now=T)
    days = {r["day"] for r in catalog.load_table(restore_archive(catalog, settings.archive_root, receipt.manifest)).scan().to_arrow().to_pylist()}  # fmt: skip
    assert days == {(T - dt.timedelta(days=d)).date() for d in (6, 7, 8)}
    assert rng.label().startswith("day in [2026-01-02")


def test_nothing_in_range_writes_nothing_and_is_safe(catalog, settings, events_table):
    receipt = archive_rows(catalog, events_table, ArchiveRange("at", T - dt.timedelta(days=99)), root=settings.archive_root)  # fmt: skip
    assert receipt.safe_to_delete and receipt.manifest is None
    assert list_archives(settings.archive_root) == []


def test_a_late_row_in_range_is_noticed_before_the_delete(catalog, settings, events_table):
    rng = ArchiveRange("at", T - dt.timedelta(days=10))
    receipt = archive_rows(catalog, events_table, rng, root=settings.archive_root, now=T)
    late = events(20).slice(39, 1)  # an old timestamp arriving after the archive
    write(catalog, late, WriteRequest(events_table, mode="append"))
    assert not still_covers(catalog, events_table, receipt)


def test_a_damaged_archive_is_refused(catalog, settings, events_table, monkeypatch):
    import lakehouse.governance.archive as archive

    real = archive.content_digest
    calls = iter([real, lambda rows: "0" * 64])  # the read-back differs from what was written
    monkeypatch.setattr(archive, "content_digest", lambda rows: next(calls)(rows))
    with pytest.raises(ArchiveError, match="does not verify: the rows read back differ"):
        archive_rows(catalog, events_table, ArchiveRange("at", T), root=settings.archive_root)
    monkeypatch.setattr(archive, "content_digest", real)
    receipt = archive_rows(catalog, events_table, ArchiveRange("at", T), root=settings.archive_root)
    path = f"raw/events/{receipt.manifest.archive_id}/data.parquet"
    Location(settings.archive_root).write_parquet(path, events(1))
    with pytest.raises(ArchiveError, match="is damaged"):
        restore_archive(catalog, settings.archive_root, receipt.manifest)


def test_the_table_points_at_its_latest_archive(catalog, settings, events_table):
    receipt = archive_rows(catalog, events_table, ArchiveRange("at", T), root=settings.archive_root)
    record_on_table(catalog, events_table, receipt.manifest_uri)
    assert catalog.load_table(events_table).properties[LATEST_PROPERTY] == receipt.manifest_uri


def test_archives_in_s3_restore_and_compare(s3_environment):
    settings = load_settings(s3_environment)
    catalog = build_catalog(settings)
    write(catalog, events(6), WriteRequest(("raw", "events"), mode="append"))
    receipt = archive_rows(catalog, ("raw", "events"), ArchiveRange("at", T - dt.timedelta(days=3)), root=settings.archive_root)  # fmt: skip
    assert receipt.manifest_uri.startswith("s3://archive/lakehouse/raw/events/")
    (listed,) = list_archives(settings.archive_root, catalog.properties)
    restored = catalog.load_table(restore_archive(catalog, settings.archive_root, listed))
    assert content_digest(restored.scan().to_arrow()) == listed.content_sha256 != ""
    assert restored.scan().count() == 6
