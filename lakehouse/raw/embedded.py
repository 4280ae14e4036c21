"""Embedded runtime: the raw assets run source-faker through PyAirbyte, state kept in Iceberg.

Each raw table's latest snapshot summary holds its stream's Airbyte state (``airbyte.state``).
A run reads it, extracts only what came after it, and returns the records with the new state
as snapshot properties, so data and state commit together or not at all. A stream with no new
records yields no output, so nothing is committed for it.
"""

# No `from __future__ import annotations` here: Dagster inspects the context annotation itself.
import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from lakehouse.catalog import build_catalog
from lakehouse.iceberg import latest_snapshot_property
from lakehouse.io_manager import SNAPSHOT_PROPERTIES_KEY
from lakehouse.raw.extraction import StreamBatch, extract_streams, faker_connector
from lakehouse.raw.streams import (
    CONNECTOR,
    STATE_PROPERTY,
    STREAMS,
    RawStream,
    raw_asset_spec,
    write_metadata,
)
from lakehouse.settings import Settings


def read_state(catalog: Catalog, stream: RawStream) -> dict[str, Any] | None:
    """The Airbyte state committed with the stream's table, or None before its first commit."""
    try:
        table = catalog.load_table(stream.identifier)
    except NoSuchTableError:
        return None
    value = latest_snapshot_property(table, STATE_PROPERTY)
    return None if value is None else json.loads(value)


def _output(context: dg.AssetExecutionContext, batch: StreamBatch) -> dg.Output | None:
    stream = batch.stream
    if batch.unexpected_columns:
        context.log.warning(
            f"{stream.name}: the connector sent columns the schema does not declare, dropped: "
            f"{', '.join(batch.unexpected_columns)} (add them to lakehouse/raw/streams.py)"
        )
    if batch.table.num_rows == 0:
        context.log.info(f"{stream.name}: no new records since the last state; nothing committed")
        return None
    context.log.info(f"{stream.name}: {batch.table.num_rows} new records")
    properties = {"airbyte.connector": CONNECTOR, "airbyte.stream": stream.name}
    if batch.state is None:
        context.log.warning(f"{stream.name}: the connector sent no state; the next run re-reads")
    else:
        properties[STATE_PROPERTY] = json.dumps(batch.state, sort_keys=True, separators=(",", ":"))
    return dg.Output(
        batch.table,
        output_name=context.assets_def.get_output_name_for_asset_key(stream.asset_key),
        metadata={
            SNAPSHOT_PROPERTIES_KEY: properties,
            "airbyte/new_records": batch.table.num_rows,
            "airbyte/state": batch.state or {},
        },
    )


def build_embedded_raw_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """One multi-asset for source-faker: a subset run extracts only the selected streams."""
    outs = {
        stream.asset_key.to_python_identifier(): dg.AssetOut.from_spec(
            raw_asset_spec(stream).merge_attributes(
                metadata={
                    **write_metadata(stream),
                    "airbyte/connector": CONNECTOR,
                    "airbyte/stream": stream.name,
                    "airbyte/cursor_field": stream.cursor_field,
                }
            ),
            # Outs, not specs: the batch goes to the IO manager (specs would be Nothing-typed).
            dagster_type=pa.Table,
            is_required=False,  # no new records -> no output -> no commit
        )
        for stream in STREAMS
    }
    connector = faker_connector(settings)

    @dg.multi_asset(
        name="airbyte_source_faker",
        outs=outs,
        can_subset=True,
        description="Extracts source-faker streams with PyAirbyte, incrementally from the state "
        "committed with each raw table.",
    )
    def airbyte_source_faker(context: dg.AssetExecutionContext) -> Iterator[dg.Output]:
        selected = [stream for stream in STREAMS if stream.asset_key in context.selected_asset_keys]
        catalog = build_catalog(settings)
        states = {}
        for stream in selected:
            state = read_state(catalog, stream)
            context.log.info(f"{stream.name}: starting from state {json.dumps(state)}")
            if state is not None:
                states[stream.name] = state
        batches = extract_streams(selected, states, connector)
        for stream in selected:
            output = _output(context, batches[stream.name])
            if output is not None:
                yield output

    return [airbyte_source_faker]
