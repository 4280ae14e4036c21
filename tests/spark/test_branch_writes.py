"""Spark's native write to an audit branch: the identifiers, the SQL, and what it records.

No Iceberg runtime for Spark here: the statements are checked as strings (and the branch
identifier by Spark's own parser), the write by a recording writer, and the names and the
recorded request against the lakehouse code that audits and publishes the branch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pyspark.sql import SparkSession

from lakehouse.iceberg.branches import audit_branch
from lakehouse.iceberg.write_request import REQUEST_PROPERTY, WriteRequest
from spark import branches, iceberg_io, submit
from tests.spark.recording import names, recording_frame

DAY = (dt.datetime(2024, 3, 2, tzinfo=dt.UTC), dt.datetime(2024, 3, 3, tzinfo=dt.UTC))
NAME = "lakehouse.staging.purchases"
BRANCH = "audit/0b7c6d1e-2f3a-4b5c-9d8e-7f6a5b4c3d2e"


def test_the_branch_identifier_is_one_backquoted_part_spark_parses_back() -> None:
    assert branches.branch_identifier(NAME, BRANCH) == f"{NAME}.`branch_{BRANCH}`"
    assert branches.branch_identifier("c.db.t", "a`b") == "c.db.t.`branch_a``b`"


def test_spark_reads_the_branch_identifier_as_table_plus_branch_part(spark: SparkSession) -> None:
    # Iceberg's catalog takes the last part of a 4-part name as `branch_<name>`: the quoting
    # must keep `/` and `-` inside that one part.
    parser = spark._jsparkSession.sessionState().sqlParser()  # type: ignore[attr-defined]
    seq = parser.parseMultipartIdentifier(branches.branch_identifier(NAME, BRANCH))  # Scala Seq
    parts = [seq.apply(i) for i in range(seq.length())]
    assert parts == ["lakehouse", "staging", "purchases", f"branch_{BRANCH}"]


def test_the_branch_restarts_at_mains_head_by_drop_then_create() -> None:
    assert branches.start_branch_statements(NAME, BRANCH) == [
        f"ALTER TABLE {NAME} DROP BRANCH IF EXISTS `{BRANCH}`",
        f"ALTER TABLE {NAME} CREATE BRANCH `{BRANCH}`",
    ]


def test_an_existing_table_is_written_on_the_restarted_branch_never_main(
    spark: SparkSession,
) -> None:
    frame, calls = recording_frame(exists=True)
    iceberg_io.write_table(
        frame, NAME, partition_column="created_at", window=DAY, properties={"k": "v"},
        branch=BRANCH,
    )  # fmt: skip
    assert names(calls) == ["sql", "sql", "overwrite"]
    statements = [call[1] for call in calls if call[0] == "sql"]
    assert statements == branches.start_branch_statements(NAME, BRANCH)
    assert [call[1] for call in calls if call[0] == "writeTo"] == [
        branches.branch_identifier(NAME, BRANCH)
    ]
    assert ("option", "snapshot-property.k", "v") in calls
    assert ">=(created_at, 2024-03-02 00:00:00" in calls[-1][1]
    # One Parquet writer open at a time, rows by day: years of days fit in the heap.
    write = calls.index(("writeTo", branches.branch_identifier(NAME, BRANCH)))
    assert calls[write - 1] == ("sortWithinPartitions", "created_at")
    assert ("option", "fanout-enabled", "false") in calls[write:]


def test_a_new_table_is_created_empty_then_branched_so_main_gets_no_rows(
    spark: SparkSession,
) -> None:
    frame, calls = recording_frame(exists=False)
    iceberg_io.write_table(frame, NAME, properties={"k": "v"}, branch=BRANCH)
    assert names(calls) == ["sql", "limit", "create", "sql", "sql", "overwritePartitions"]
    assert ("limit", 0) in calls
    targets = [call[1] for call in calls if call[0] == "writeTo"]
    assert targets == [NAME, branches.branch_identifier(NAME, BRANCH)]
    create_options = calls[calls.index(("writeTo", NAME)) + 1 : calls.index(("create",))]
    assert create_options == [], "main's empty snapshot carries no batch properties"


def test_a_new_table_created_concurrently_is_still_written_on_the_branch(
    spark: SparkSession,
) -> None:
    frame, calls = recording_frame(exists=False, fail_create=True)
    iceberg_io.write_table(frame, NAME, branch=BRANCH)
    assert names(calls) == ["sql", "limit", "sql", "sql", "overwritePartitions"]
    assert calls[-2] == ("writeTo", branches.branch_identifier(NAME, BRANCH))


def test_without_a_branch_the_write_still_goes_to_main(spark: SparkSession) -> None:
    frame, calls = recording_frame(exists=True)
    iceberg_io.write_table(frame, NAME, partition_column="created_at", window=DAY)
    assert [call[1] for call in calls if call[0] == "writeTo"] == [NAME]
    assert not [call for call in calls if call[0] == "sql"]


def test_the_spark_side_names_are_the_lakehouse_ones() -> None:
    assert branches.audit_branch("r1") == audit_branch("r1")
    assert branches.REQUEST_PROPERTY == REQUEST_PROPERTY


@pytest.mark.parametrize("window", [None, DAY])
def test_the_recorded_request_is_the_one_the_audit_reapplies(window: Any) -> None:
    properties = {"lakehouse.job": "spark/submit.py purchases"}
    recorded = branches.write_request_json(
        ("staging", "purchases"),
        partition_column="created_at",
        window=window,
        properties=properties | {REQUEST_PROPERTY: "ignored"},
    )
    expected = WriteRequest(
        ("staging", "purchases"),
        partition_column="created_at",
        window=window,
        snapshot_properties=properties,
    )
    assert recorded == expected.to_json()
    assert WriteRequest.from_json(recorded, branch=BRANCH) == WriteRequest(
        **{**expected.__dict__, "branch": BRANCH}
    )


def test_submit_writes_to_the_runs_audit_branch_and_records_the_request(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = object()
    writes: list[dict[str, Any]] = []
    monkeypatch.setattr(iceberg_io, "read_table", lambda spark, name, **kw: raw)
    monkeypatch.setitem(submit.TRANSFORMS, "purchases", lambda df: df)
    monkeypatch.setattr(
        iceberg_io, "write_table", lambda df, name, **kw: writes.append({"name": name, **kw})
    )
    target = submit.run(spark, "purchases", window=DAY, branch=audit_branch("r1"))
    [write] = writes
    assert target == write["name"] == NAME
    assert write["branch"] == "audit/r1"
    request = WriteRequest.from_json(write["properties"][REQUEST_PROPERTY])
    assert (request.identifier, request.window, request.mode) == (
        ("staging", "purchases"),
        DAY,
        "overwrite",
    )
    assert request.snapshot_properties == {"lakehouse.job": "spark/submit.py purchases"}


def test_submit_arguments_name_the_run_and_a_fresh_one_by_default() -> None:
    args = submit.parse_args(["users", "--run-id", "r1", "--stage-only"])  # as SparkApplications
    assert args.run_id == "r1"
    first, second = submit.parse_args(["users"]), submit.parse_args(["users"])
    assert first.run_id != second.run_id, "a fresh branch per run"


class _Session:
    """What ``main`` uses of a session: its conf (as spark-submit --conf set it) and stop."""

    def __init__(self, conf: dict[str, str]) -> None:
        self.conf = type("Conf", (), {"getAll": conf})()
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


def test_submit_only_stages_on_the_runs_branch_of_the_catalog_the_conf_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _Session({"spark.sql.catalog.lake": submit.ICEBERG_CATALOG})
    builder = type(
        "Builder", (), {"appName": lambda self, name: self, "getOrCreate": lambda self: session}
    )
    monkeypatch.setattr(submit.SparkSession, "builder", builder())
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        submit, "run", lambda spark, table, **kw: calls.append({"table": table, **kw}) or NAME
    )
    assert (
        submit.main(["purchases", "--run-id", "r1", "--start", "2024-03-02", "--end", "2024-03-03"])
        == 0
    )
    assert calls == [{"table": "purchases", "catalog": "lake", "window": DAY, "branch": "audit/r1"}]
    assert session.stopped
    assert "lakehouse publish-staged purchases --run-id r1" in capsys.readouterr().out
