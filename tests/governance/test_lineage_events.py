"""OpenLineage events for a materialisation, a check and an upkeep run: each validates against
the published schema, carries the facets the catalog needs, and reaches the configured transport."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from typing import ClassVar

import jsonschema
import pyarrow as pa
import pytest
from openlineage.client.event_v2 import RunState
from openlineage_schema import validate_event

from lakehouse.governance.lineage.assertions import dbt_test_assertions, pandera_assertions
from lakehouse.governance.lineage.columns import column_lineage_facet
from lakehouse.governance.lineage.describe import describe_materialization, describe_table
from lakehouse.governance.lineage.events import (
    check_events,
    materialization_events,
    run_uuid,
    upkeep_events,
)
from lakehouse.governance.lineage.facets import Column, TableDescription, output_dataset
from lakehouse.governance.lineage.spark_columns import spark_column_lineage
from lakehouse.governance.lineage.transport import (
    LineageSettingsError,
    emit,
    lineage_client,
)
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.settings import load_settings

RUN = "0b7a1c3e-6a55-4c39-9e0c-2c1f0a9d1f00"
T0 = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=3)
RAW_USERS = TableDescription("raw.faker_users", "s3://warehouse/raw/faker_users")


@pytest.fixture
def users_table(catalog):
    data = pa.table(
        {
            "user_id": pa.array([1, 2], pa.int64()),
            "email": ["a@x.io", "b@x.io"],
            "city": ["Lyon", None],
        }
    )
    catalog.create_namespace_if_not_exists("staging")
    write(catalog, data, WriteRequest(("staging", "users"), mode="overwrite"))
    return catalog.load_table(("staging", "users"))


def users_description(table) -> TableDescription:
    return describe_table(
        table,
        catalog="lakehouse",
        description="Users of the shop",
        owners=["team:data-engineering"],
        tags={"classification": "confidential", "pii": "true", "layer": "staging"},
        column_tags={"email": {"pii": "true", "classification": "restricted"}},
    )


def test_a_materialisation_starts_and_completes_with_every_facet(users_table):
    users = users_description(users_table)
    lineage = {"staging.users": "file:///w/staging/users", "raw.faker_users": RAW_USERS.location}
    facet = column_lineage_facet(spark_column_lineage()["staging.users"], lineage.__getitem__)
    start, complete = materialization_events(
        "lakehouse", RUN, "staging_job", "staging/users", T0, T1,
        succeeded=True, output=users, inputs=[RAW_USERS], column_lineage=facet,
    )  # fmt: skip
    start_json, end_json = validate_event(start), validate_event(complete)
    assert (start.eventType, complete.eventType) == (RunState.START, RunState.COMPLETE)
    assert start_json["run"]["runId"] == end_json["run"]["runId"] == run_uuid(RUN, "staging/users")
    assert end_json["run"]["facets"]["parent"]["run"]["runId"] == RUN
    assert end_json["job"]["facets"]["jobType"]["jobType"] == "ASSET"
    (output,) = end_json["outputs"]
    assert (output["namespace"], output["name"]) == (
        "file",
        users_table.location().removeprefix("file://"),
    )
    facets = output["facets"]
    snapshot = users_table.current_snapshot().snapshot_id
    assert facets["lakehouse_iceberg"]["snapshotId"] == snapshot
    assert facets["lakehouse_iceberg"]["tableLocation"] == users_table.location()
    assert facets["lakehouse_iceberg"]["_schemaURL"].startswith("https://data-platform.local/")
    assert facets["version"]["datasetVersion"] == str(snapshot)
    assert [f["name"] for f in facets["schema"]["fields"]] == ["user_id", "email", "city"]
    assert facets["ownership"]["owners"] == [{"name": "team:data-engineering", "type": "team"}]
    tags = {(t["key"], t["value"], t.get("field")) for t in facets["tags"]["tags"]}
    assert ("classification", "confidential", None) in tags
    assert ("pii", "true", "email") in tags
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert set(facets["columnLineage"]["fields"]) >= {"user_id", "email", "city"}
    assert "outputStatistics" not in start_json["outputs"][0].get("outputFacets", {})
    assert end_json["inputs"][0]["name"] == "raw/faker_users"


def test_a_failed_materialisation_says_why(users_table):
    _, fail = materialization_events(
        "lakehouse", RUN, "staging_job", "staging/users", T0, T1,
        succeeded=False, output=users_description(users_table), error="catalog unreachable",
    )  # fmt: skip
    data = validate_event(fail)
    assert data["eventType"] == "FAIL" and data["outputs"] == []
    assert data["run"]["facets"]["errorMessage"]["message"] == "catalog unreachable"


def test_an_event_that_breaks_the_schema_is_refused(users_table):
    (start, _) = materialization_events(
        "lakehouse", RUN, "j", "staging/users", T0, T1, succeeded=True,
        output=users_description(users_table),
    )  # fmt: skip
    data = json.loads(json.dumps(validate_event(start)))
    data["outputs"][0]["facets"]["lakehouse_iceberg"]["snapshotId"] = "not-a-number"
    with pytest.raises(jsonschema.ValidationError):
        validate_event(data)
    del data["outputs"][0]["facets"]["lakehouse_iceberg"]
    data["run"]["runId"] = "not-a-uuid"
    with pytest.raises(jsonschema.ValidationError):
        validate_event(data)


def test_a_check_reports_pandera_assertions(users_table):
    from lakehouse.quality import validate_rows
    from lakehouse.staging.schemas import SCHEMAS

    schema = SCHEMAS["products"]
    batch = pa.table(
        {
            "product_id": pa.array([1, -1], pa.int64()),
            "make": [" VW", "BMW"],
            "model": ["Golf", "M3"],
            "year": pa.array([2000, 2001], pa.int32()),
            "price": [1.0, 2.0],
            "created_at": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
            "updated_at": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
        }
    )
    report = validate_rows(schema, batch).report
    assertions = pandera_assertions(schema, [(f.column, f.check) for f in report.failures])
    outcome = {(a.column, a.name): a.success for a in assertions}
    assert outcome[("product_id", "greater_than(0)")] is False
    assert outcome[("make", "trimmed")] is False
    assert outcome[("model", "trimmed")] is True
    assert outcome[("product_id", "field_uniqueness")] is True
    assert outcome[("year", "in_range(1900, 2100)")] is True
    events = check_events(
        "lakehouse", RUN, "j", "staging/products", "pandera_contract", T1,
        passed=report.passed, table=describe_table(users_table), assertions=assertions,
    )  # fmt: skip
    for event in events:
        data = validate_event(event)
        assert data["job"]["name"] == "staging/products.pandera_contract"
    listed = data["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert len(listed) == len(assertions) and data["eventType"] == "COMPLETE"


@pytest.mark.slow
def test_dbt_tests_become_assertions_on_their_model(compiled_manifest, users_table):
    tests = [n for n in compiled_manifest["nodes"].values() if n["resource_type"] == "test"]
    failing = next(t for t in tests if t["name"].startswith("not_null_fct_purchases_purchase_id"))
    results = {
        "results": [
            {"unique_id": t["unique_id"], "status": "fail" if t is failing else "pass",
             "failures": 3 if t is failing else 0}
            for t in tests
        ]
    }  # fmt: skip
    found = dbt_test_assertions(compiled_manifest, results)
    assert sum(len(v) for v in found.values()) == len(tests)
    fct = {(a.assertion, a.column): a for a in found["analytics.fct_purchases"]}
    assert fct[("not_null", "purchase_id")].success is False
    assert fct[("not_null", "purchase_id")].actual == "3"
    assert fct[("unique", "purchase_id")].success is True
    assert fct[("accepted_values", "status")].success is True
    for event in check_events(
        "lakehouse", RUN, "j", "analytics/fct_purchases", "dbt_tests", T1, passed=False,
        table=describe_table(users_table), assertions=found["analytics.fct_purchases"],
    ):  # fmt: skip
        validate_event(event)


def test_an_upkeep_run_names_the_tables_it_maintained_and_its_archive(users_table):
    archive = TableDescription(
        "archive.staging.users", "s3://archive/lakehouse/staging/users/20260504T080000Z-1",
        columns=[Column("user_id", "long")],
    )  # fmt: skip
    events = upkeep_events(
        "lakehouse", RUN, "upkeep_retention", T0, T1, succeeded=True,
        tables=[describe_table(users_table)], outputs=[output_dataset(archive)],
        description="archive, then delete rows past retention",
    )  # fmt: skip
    for event in events:
        data = validate_event(event)
    assert data["job"]["facets"]["jobType"]["jobType"] == "UPKEEP"
    assert [o["namespace"] for o in data["outputs"]] == ["file", "s3://archive"]


def test_materialisation_metadata_describes_the_table():
    import dagster as dg

    metadata = {
        "snapshot_id": dg.MetadataValue.int(42),
        "dagster/row_count": dg.MetadataValue.int(7),
        "table_bytes": 1024,
        "data_files": 2,
        "table_location": dg.MetadataValue.path("s3://warehouse/staging/users"),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn("email", "string", tags={"pii": "true"})]
        ),
    }
    described = describe_materialization("staging.users", "?", metadata)
    assert (described.snapshot_id, described.row_count, described.bytes) == (42, 7, 1024)
    assert described.location == "s3://warehouse/staging/users"
    assert described.columns == [Column("email", "string", None, {"pii": "true"})]


def _events(users_table):
    return materialization_events(
        "lakehouse", RUN, "j", "staging/users", T0, T1, succeeded=True,
        output=describe_table(users_table),
    )  # fmt: skip


def test_embedded_default_writes_json_lines_under_home(users_table, tmp_path):
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    assert settings.lineage_transport == "file"
    assert emit(lineage_client(settings), _events(users_table)) == 2
    lines = settings.lineage_file.read_text().splitlines()
    assert [validate_event(json.loads(line))["eventType"] for line in lines] == [
        "START",
        "COMPLETE",
    ]
    assert settings.lineage_file == tmp_path.resolve() / "openlineage" / "events.jsonl"


def test_lineage_can_be_off_and_platform_defaults_to_off(tmp_path):
    off = load_settings({"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_OPENLINEAGE_TRANSPORT": "off"})
    assert lineage_client(off) is None and emit(None, [object()]) == 0
    platform = off.model_copy(update={"runtime": "platform", "openlineage_transport": None})
    assert platform.lineage_transport == "off"
    with pytest.raises(LineageSettingsError, match="LAKEHOUSE_OPENLINEAGE_URL"):
        lineage_client(off.model_copy(update={"openlineage_transport": "http"}))


class _Catalog(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str | None, dict]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_http_transport_posts_to_the_catalog_with_its_token(users_table, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Catalog)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = load_settings(
            {
                "LAKEHOUSE_HOME": str(tmp_path),
                "LAKEHOUSE_OPENLINEAGE_URL": f"http://127.0.0.1:{server.server_port}",
                "LAKEHOUSE_OPENLINEAGE_ENDPOINT": "openapi/openlineage/api/v1/lineage",
                "LAKEHOUSE_OPENLINEAGE_API_KEY": "catalog-token",
            }
        )
        assert settings.lineage_transport == "http"
        assert "catalog-token" in settings.secret_values()
        emit(lineage_client(settings), _events(users_table))
    finally:
        server.shutdown()
        server.server_close()
    assert [(p, a) for p, a, _ in _Catalog.received] == [
        ("/openapi/openlineage/api/v1/lineage", "Bearer catalog-token")
    ] * 2
    assert [validate_event(body)["eventType"] for *_, body in _Catalog.received] == [
        "START",
        "COMPLETE",
    ]
