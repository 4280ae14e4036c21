"""Syncs of the real source-faker, read line by line: schemas, state, counts, failures.

Slow: each extraction starts the connector (~3 s). The module runs a first read, a read from
its state, and failures.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import replace

import pyarrow.compute as pc
import pytest

from lakehouse.quality import validate_table
from lakehouse.raw.extraction import (
    BOOTSTRAP,
    Connector,
    ExtractionError,
    StreamBatch,
    Sync,
    extract_streams,
    faker_connector,
)
from lakehouse.raw.schemas import SCHEMAS
from lakehouse.raw.streams import STREAMS, STREAMS_BY_NAME
from lakehouse.settings import load_settings

pytestmark = pytest.mark.slow
COUNT = 50


@pytest.fixture(scope="module")
def connector(connector_envs: None) -> Connector:
    return faker_connector(load_settings({"LAKEHOUSE_FAKER_COUNT": str(COUNT)}))


@pytest.fixture(scope="module")
def first(connector: Connector) -> Sync:
    return extract_streams(STREAMS, {}, connector)


@pytest.fixture(scope="module")
def second(connector: Connector, first: Sync) -> Sync:
    states = {name: batch.state for name, batch in first.items() if batch.state}
    return extract_streams(STREAMS, states, connector)


def _ids(batch: StreamBatch) -> list[int]:
    return batch.table.column("id").to_pylist()


def test_a_first_extraction_returns_every_stream_in_its_declared_schema(first):
    assert {name: batch.table.num_rows for name, batch in first.items()} == {
        "users": COUNT,
        "products": COUNT,  # faker's 100 products, those with id <= count
        "purchases": COUNT,  # 10 purchases per 10 users
    }
    for stream in STREAMS:
        batch = first[stream.name]
        assert batch.table.schema == stream.schema
        assert batch.observed.names == [f.name for f in stream.schema][:-2]  # no Airbyte columns
        assert batch.records == batch.source_counted == COUNT  # the connector's own count
        assert batch.refused.rows.num_rows == 0
        assert len(set(_ids(batch))) == batch.table.num_rows
        assert pc.min(batch.table.column("updated_at")).as_py() is not None


def test_extracted_records_pass_the_raw_pandera_contracts(first):
    for name, batch in first.items():
        report = validate_table(SCHEMAS[name], batch.table)
        assert report.passed, f"{name}: {report.summary()}"


def test_the_state_is_a_plain_airbyte_stream_state_that_round_trips_through_json(first):
    for name, batch in first.items():
        state = batch.state
        assert state is not None
        assert json.loads(json.dumps(state)) == state
        assert state["type"] == "STREAM"
        assert state["stream"]["stream_descriptor"]["name"] == name
        assert state["stream"]["stream_state"]["updated_at"]
        assert "sourceStats" not in state  # per-run counts would make every state differ


def test_a_second_extraction_from_the_first_state_never_returns_the_same_ids(first, second):
    for stream in STREAMS:
        again = second[stream.name]
        assert again.table.schema == stream.schema
        assert not set(_ids(again)) & set(_ids(first[stream.name]))
        # With always_updated=False, faker emits nothing once a stream has state: 0 new records.
        assert again.table.num_rows == 0
        assert again.state == first[stream.name].state


def test_a_connector_failure_says_its_own_cause_first_and_keeps_the_log(connector, tmp_path):
    broken = replace(connector, config={**connector.config, "count": "many"}, log_dir=tmp_path)
    with pytest.raises(ExtractionError) as raised:
        extract_streams([STREAMS_BY_NAME["users"]], {}, broken)
    message = str(raised.value)
    assert message.startswith("source-faker sync of users failed: ")
    assert "'many' is not of type 'integer'" in message.splitlines()[0]
    assert len(message.splitlines()) == 1
    (log,) = tmp_path.glob("source-faker-*.log")
    assert str(log) in message
    assert "Traceback" in log.read_text()


def test_a_missing_connector_fails_before_starting_anything(connector, tmp_path):
    missing = replace(connector, executable=tmp_path / "source-faker" / "bin" / "source-faker")
    with pytest.raises(ExtractionError, match=f"connector is missing.*{BOOTSTRAP}"):
        extract_streams(STREAMS, {}, missing)


def test_a_sync_past_its_timeout_is_stopped_and_leaves_nothing(connector, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the sync's files land here
    with pytest.raises(ExtractionError, match="timed out after 1 s"):
        extract_streams(STREAMS, {}, connector, timeout_seconds=1)
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout == ""
    assert list(tmp_path.iterdir()) == []
