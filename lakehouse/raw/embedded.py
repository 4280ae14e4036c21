"""Embedded runtime: the raw assets run source-faker, reading its output ourselves (``extraction``),
state kept in Iceberg.

Each raw table's latest snapshot summary holds its stream's Airbyte state (``airbyte.state``).
A run reads it, extracts only what came after it, puts the records it refused in the stream's
quarantine, and returns the rest with the new state as snapshot properties, so data and state
commit together or not at all. A stream with no new rows yields no output: nothing committed,
the state not advanced, and a rerun finds its refused records already quarantined.
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
from lakehouse.raw.drift import drift_hold, schema_drift
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
from lakehouse.wap.hold import HOLD_PROPERTY
from lakehouse.wap.quarantine import quarantine_rows


def read_state(catalog: Catalog, stream: RawStream) -> dict[str, Any] | None:
    """The Airbyte state committed with the stream's table, or None before its first commit."""
    try:
        table = catalog.load_table(stream.identifier)
    except NoSuchTableError:
        return None
    value = latest_snapshot_property(table, STATE_PROPERTY)
    return None if value is None else json.loads(value)


def quarantine_refused(
    context: dg.AssetExecutionContext, catalog: Catalog, batch: StreamBatch
) -> int:
    """The stream's refused records go to its quarantine before anything is published, so a
    failure after this point loses nothing (a rerun finds them there by fingerprint)."""
    refused = batch.refused
    if refused.rows.num_rows == 0:
        return 0
    stored = quarantine_rows(
        catalog,
        batch.stream.identifier,
        refused.rows,
        refused.reasons,
        run_id=context.run_id,
        branch=None,
        snapshot_id=None,
        request_json=None,
        originals=refused.originals,
        values=refused.values,
        row_fingerprints=refused.fingerprints,
    )
    rules = ", ".join(f"{rule} {count}" for rule, count in sorted(refused.rules().items()))
    context.log.warning(
        f"{batch.stream.name}: {stored.rows} record(s) in quarantine ({rules}); "
        f"{stored.already_quarantined} of them were there already"
    )
    return stored.rows


def _output(
    context: dg.AssetExecutionContext, batch: StreamBatch, quarantined: int = 0
) -> dg.Output | None:
    stream = batch.stream
    drift = schema_drift(stream, batch.observed, records=batch.records)
    if drift.changed:
        context.log.warning(f"{stream.name}: the source's schema changed: {drift.describe()}")
    if batch.table.num_rows == 0:
        context.log.info(f"{stream.name}: no new rows to publish; nothing committed")
        return None
    context.log.info(
        f"{stream.name}: {batch.records} record(s) emitted, {batch.table.num_rows} to publish, "
        f"{quarantined} to quarantine"
    )
    properties = {"airbyte.connector": CONNECTOR, "airbyte.stream": stream.name}
    hold = drift_hold(stream, drift)
    if hold is not None:
        context.log.error(hold.reason)
        properties[HOLD_PROPERTY] = hold.to_json()
    if batch.state is None:
        context.log.warning(f"{stream.name}: the connector sent no state; the next run re-reads")
    else:
        properties[STATE_PROPERTY] = json.dumps(batch.state, sort_keys=True, separators=(",", ":"))
    return dg.Output(
        batch.table,
        output_name=context.assets_def.get_output_name_for_asset_key(stream.asset_key),
        metadata={
            SNAPSHOT_PROPERTIES_KEY: properties,
            # Staged rows, not published ones: the gate reports rows_published/rows_quarantined.
            "airbyte/rows_staged": batch.table.num_rows,
            "airbyte/records_emitted": batch.records,
            "airbyte/source_record_count": batch.source_counted,
            "airbyte/records_refused": quarantined,
            "airbyte/schema_drift": drift.describe(),
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
        description="Extracts source-faker streams, incrementally from the state committed with "
        "each raw table; every record emitted ends on the table or in its quarantine.",
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
        sync = extract_streams(selected, states, connector)
        if sync.log is not None:
            context.log.info(f"{CONNECTOR}: {sync.emitted} record(s) emitted; log {sync.log}")
        for stream in selected:
            batch = sync[stream.name]
            output = _output(context, batch, quarantine_refused(context, catalog, batch))
            if output is not None:
                yield output

    return [airbyte_source_faker]
