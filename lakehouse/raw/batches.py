"""One stream's sync as Arrow: the rows its table gets and the records its quarantine gets.

A key sent twice in one sync keeps its latest version by the source's cursor (Airbyte's dedup
semantics); the versions it replaces are quarantined as ``superseded_duplicate``, a record of
what the source sent, and versions that tie on the cursor with different content are all
quarantined (``duplicate_key_cursor_tie``): nothing says which one is right. Columns the
contract does not declare are kept with the type their values share (JSON text when they
share none), and the schema the records carried is reported for the drift gate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.raw.protocol import RefusedRecord, StreamRead, raw_ids
from lakehouse.raw.records import INT64
from lakehouse.raw.streams import AIRBYTE_META_FIELDS, RawStream
from lakehouse.wap.policy import SUPERSEDED, Reasons
from lakehouse.wap.quarantine import fingerprints

CURSOR_TIE = "duplicate_key_cursor_tie"
VOLATILE = tuple(f.name for f in AIRBYTE_META_FIELDS)
_RAW_ID, _EXTRACTED_AT = VOLATILE


@dataclass
class Refusals:
    """Rows for a quarantine, with what ``quarantine_rows`` keeps beside each one."""

    rows: pa.Table
    reasons: list[Reasons] = field(default_factory=list)
    values: list[dict[str, str] | None] = field(default_factory=list)
    originals: list[str | None] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)

    def __add__(self, other: Refusals) -> Refusals:
        return Refusals(
            pa.concat_tables([self.rows, other.rows], promote_options="permissive"),
            self.reasons + other.reasons,
            self.values + other.values,
            self.originals + other.originals,
            self.fingerprints + other.fingerprints,
        )

    def rules(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for reasons in self.reasons:
            rule = reasons[0][1] if reasons else ""
            counted[rule] = counted.get(rule, 0) + 1
        return counted


@dataclass(frozen=True)
class StreamBatch:
    """New records of one stream since the given state, as they go on: ``table`` to the audit
    branch, ``refused`` to quarantine; and the state after them."""

    stream: RawStream
    table: pa.Table
    state: dict[str, Any] | None
    refused: Refusals
    records: int  # RECORD lines the connector emitted for the stream
    source_counted: int  # the connector's own count (sourceStats), summed over its states
    observed: pa.Schema  # the source columns as the records carried them
    foreign_records: int = 0  # records of streams nobody asked for, quarantined with this one

    @property
    def accounted(self) -> int:
        """Records that reached the batch's table or its quarantine."""
        return self.table.num_rows + self.refused.rows.num_rows

    @property
    def faults(self) -> int:
        """Refused records, not counting superseded versions (they are no fault)."""
        return sum(1 for reasons in self.refused.reasons if reasons[0][1] != SUPERSEDED)


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_nullable(True) for f in schema])


def _extra(values: list[Any]) -> pa.Array:
    """A column no contract declares, typed by what its values share, else kept as JSON text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds == {int} and all(v is None or INT64[0] <= v < INT64[1] for v in values):
        return pa.array(values, pa.int64())
    if kinds and kinds <= {int, float}:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array(
        [v if v is None or type(v) is str else json.dumps(v, default=str) for v in values],
        pa.string(),
    )


def _timestamps_ms(values: Sequence[int]) -> pa.Array:
    micros = pc.multiply(pa.array(values, pa.int64()), 1000)
    return micros.cast(pa.timestamp("us", tz="UTC"))


def _typed_table(read: StreamRead) -> pa.Table:
    schema = read.stream.schema
    columns = {c.name: values for c, values in zip(read.typer.columns, read.columns, strict=True)}
    arrays = [
        raw_ids(read.rows)
        if f.name == _RAW_ID
        else _timestamps_ms(read.emitted_at_ms)
        if f.name == _EXTRACTED_AT
        else pa.array(columns[f.name], f.type)
        for f in schema
    ]
    table = pa.Table.from_arrays(arrays, schema=schema)
    for name in sorted(read.extras):
        table = table.append_column(name, _extra(read.extras[name]))
    return table


def refused_rows(stream: RawStream, refused: list[RefusedRecord], fallback_ms: int) -> Refusals:
    names = [f.name for f in stream.schema if f.name not in VOLATILE]
    rows = [dict(zip(names, r.values or [None] * len(names), strict=True)) for r in refused]
    table = pa.Table.from_pylist(rows, schema=_nullable(stream.schema))
    ms = [fallback_ms if r.emitted_at_ms is None else r.emitted_at_ms for r in refused]
    table = table.set_column(table.schema.get_field_index(_RAW_ID), _RAW_ID, raw_ids(len(refused)))
    table = table.set_column(
        table.schema.get_field_index(_EXTRACTED_AT), _EXTRACTED_AT, _timestamps_ms(ms)
    )
    return Refusals(
        table,
        [[(f.column, f.rule) for f in r.faults] for r in refused],
        [{f.column: f.value for f in r.faults if f.value} or None for r in refused],
        [r.line for r in refused],
        [r.fingerprint for r in refused],
    )


def _as_refusals(table: pa.Table, positions: list[int], rule: str, column: str) -> Refusals:
    rows = table.take(pa.array(positions, pa.int64()))
    return Refusals(
        rows,
        [[(column, rule)] for _ in positions],
        [None] * len(positions),
        [None] * len(positions),
        fingerprints(rows, VOLATILE),
    )


def latest_per_key(
    table: pa.Table, keys: Sequence[str], cursor: str
) -> tuple[list[int], list[int], list[int]]:
    """Row positions (kept, superseded, tied): one kept per key, the latest by ``cursor``."""
    everything = list(range(table.num_rows))
    if table.num_rows < 2 or (
        len(keys) == 1 and pc.count_distinct(table[keys[0]]).as_py() == table.num_rows
    ):
        return everything, [], []
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, key in enumerate(zip(*(table[k].to_pylist() for k in keys), strict=True)):
        groups.setdefault(key, []).append(position)
    cursors = table[cursor].to_pylist()
    content = table.drop_columns([c for c in VOLATILE if c in table.column_names]).to_pylist()
    kept, superseded, tied = [], [], []
    for positions in groups.values():
        if len(positions) == 1:
            kept.append(positions[0])
            continue
        latest = max((cursors[p] for p in positions if cursors[p] is not None), default=None)
        top = [p for p in positions if cursors[p] == latest]
        older = [p for p in positions if p not in top]
        if all(content[p] == content[top[0]] for p in top):
            kept.append(top[0])
            superseded += older + top[1:]
        else:
            tied += top
            superseded += older
    return sorted(kept), sorted(superseded), sorted(tied)


def stream_batch(read: StreamRead, *, fallback_ms: int) -> StreamBatch:
    """The stream's rows (one per key) and refusals; ``fallback_ms`` stands in for a refused
    record's missing ``emitted_at``."""
    stream = read.stream
    table = _typed_table(read)
    kept, superseded, tied = latest_per_key(table, stream.primary_key, stream.cursor_field)
    refused = refused_rows(stream, read.refused, fallback_ms)
    if superseded or tied:
        key = ",".join(stream.primary_key)
        refused = refused + _as_refusals(table, superseded, SUPERSEDED, key)
        refused = refused + _as_refusals(table, tied, CURSOR_TIE, key)
        table = table.take(pa.array(kept, pa.int64()))
    declared = [f for f in stream.schema if f.name not in VOLATILE and f.name not in read.unseen]
    extras = [table.schema.field(name) for name in sorted(read.extras)]
    return StreamBatch(
        stream,
        table,
        read.state,
        refused,
        read.records,
        read.source_counted,
        pa.schema(declared + extras),
    )
