"""governance/consents is fed like a raw table: each inbox file's decisions land once."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from lakehouse.catalog import IcebergCatalogResource
from lakehouse.governance.consent_asset import consents
from lakehouse.governance.consents import read_consents
from lakehouse.io_manager import IcebergIOManager


def _drop(inbox: Path, name: str, *decisions: dict) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_text("".join(json.dumps(d) + "\n" for d in decisions))


def _run(settings) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [consents],
        resources={
            "io_manager": IcebergIOManager(settings=settings),
            "catalog": IcebergCatalogResource(settings=settings),
        },
        raise_on_error=False,
    )


def test_each_inbox_file_is_ingested_once(settings, catalog, tmp_path):
    inbox = tmp_path / "consents"
    at = "2026-03-01T10:00:00+00:00"
    _drop(inbox, "a.jsonl", {"subject": 7, "purpose": "profiling", "status": "granted", "at": at})
    assert _run(settings).success
    _drop(
        inbox,
        "b.jsonl",
        {"subject": "7", "purpose": "profiling", "status": "withdrawn", "at": at},
        {"subject": "8", "purpose": "marketing", "status": "granted", "at": at},
    )
    assert _run(settings).success
    assert _run(settings).success  # nothing new

    rows = read_consents(catalog).sort_by("source").to_pylist()
    assert [(r["subject"], r["status"], r["source"]) for r in rows] == [
        ("7", "granted", "a.jsonl:1"),
        ("7", "withdrawn", "b.jsonl:1"),
        ("8", "granted", "b.jsonl:2"),
    ]


def test_an_empty_inbox_still_creates_the_table(settings, catalog):
    assert _run(settings).success
    assert catalog.table_exists(("governance", "consents"))
    assert read_consents(catalog).num_rows == 0


@pytest.mark.parametrize(
    ("decision", "named"),
    [
        (
            {"subject": "7", "purpose": "profiling", "status": "maybe", "at": "2026-03-01T10:00Z"},
            "maybe",
        ),
        (
            {"subject": "7", "purpose": "profiling", "status": "granted", "at": "2026-03-01"},
            "time zone",
        ),
        ({"purpose": "profiling", "status": "granted", "at": "2026-03-01T10:00Z"}, "subject"),
    ],
)
def test_a_malformed_decision_is_named_and_nothing_is_written(
    settings, catalog, tmp_path, decision, named
):
    _drop(tmp_path / "consents", "bad.jsonl", decision)

    result = _run(settings)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error.to_string()
    assert "bad.jsonl:1" in error and named in error
    assert not catalog.table_exists(("governance", "consents"))


def test_consents_are_declared_personal_data_by_their_subject():
    """The subject column is tagged pii (masked by deploy/access for groups without the pii
    role) and erasure and GDPR export find subjects in the table by it."""
    from lakehouse.governance.consent_asset import consents as consents_asset
    from lakehouse.upkeep.rules import pii_tables

    schema = consents_asset.specs_by_key[consents_asset.key].metadata["dagster/column_schema"]
    tagged = [c.name for c in schema.columns if c.tags.get("pii") == "true"]
    assert tagged == ["subject"]
    assert pii_tables()["governance.consents"] == "subject"
    assert consents_asset.specs_by_key[consents_asset.key].tags["pii"] == "true"
