"""Reading an Airbyte connector's output, line by line, so that every record is accounted for.

Each line is classified before anything else trusts it. A RECORD line is counted for its stream
even when it cannot be parsed: invalid UTF-8, invalid JSON, a lone surrogate escape or ``data``
that is not an object make it a refused record kept as its raw text (``unparseable_record``),
and a record of a stream nobody asked for is refused as ``unknown_stream``. A parsed record is
typed strictly (``records.py``); a value that does not fit refuses the record, the rest go on.
STATE messages are checked against the stream's cursor type, and their ``sourceStats``
record counts against the records counted since the stream's previous state. Lines that are
not messages are the connector's log.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import pyarrow as pa

from lakehouse.raw.records import Fault, RecordTyper, converter, refusal, value_text
from lakehouse.raw.streams import RawStream
from lakehouse.wap.quarantine import fingerprint_text

UNPARSEABLE = "unparseable_record"
UNKNOWN_STREAM = "unknown_stream"
RECORD_COLUMN = "<record>"
RECORD_HINT = re.compile(rb'"type"\s*:\s*"RECORD"')
STREAM_HINT = re.compile(rb'"stream"\s*:\s*"([^"\\]{1,200})"')
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EMITTED_AT = re.compile(r'"emitted_at"\s*:\s*[-+0-9.eE]+')


def line_fingerprint(text: str) -> str:
    """A refused line's fingerprint without its ``emitted_at``, which differs at each read:
    a record re-read after a sync that stored no state is not quarantined twice."""
    return fingerprint_text(EMITTED_AT.sub('"emitted_at":0', text))


@dataclass(frozen=True)
class RefusedRecord:
    """A record kept off the table: the line as sent, why, and the values that could be typed
    (None when the line could not be parsed at all)."""

    line: str
    faults: tuple[Fault, ...]
    values: list[Any] | None
    emitted_at_ms: int | None
    fingerprint: str


@dataclass
class StreamRead:
    """What one stream's records became during a sync."""

    stream: RawStream
    typer: RecordTyper
    columns: list[list[Any]]
    emitted_at_ms: list[int] = field(default_factory=list)
    extras: dict[str, list[Any]] = field(default_factory=dict)
    refused: list[RefusedRecord] = field(default_factory=list)
    records: int = 0  # RECORD lines counted for the stream, parsed or not
    since_state: int = 0
    source_counted: int = 0  # the connector's own sourceStats.recordCount, summed
    state: dict[str, Any] | None = None
    unseen: set[str] = field(default_factory=set)  # declared columns no record carried

    @classmethod
    def of(cls, stream: RawStream) -> StreamRead:
        typer = RecordTyper(stream)
        return cls(stream, typer, [[] for _ in typer.columns], unseen=set(typer.names))

    @property
    def rows(self) -> int:
        return len(self.emitted_at_ms)

    def add(self, values: list[Any], data: dict[str, Any], emitted_at_ms: int) -> None:
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)
        extra = data.keys() - self.typer.names
        for name in extra:
            if name not in self.extras:
                self.extras[name] = [None] * self.rows
            self.extras[name].append(data[name])
        for name in self.extras.keys() - extra:
            self.extras[name].append(None)
        self.emitted_at_ms.append(emitted_at_ms)


class SyncReader:
    """Feed it the connector's stdout lines; it keeps the typed rows, the refused records, the
    states, the counts and the connector's own error messages."""

    def __init__(
        self,
        streams: Sequence[RawStream],
        *,
        started_at: dt.datetime,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.streams = {stream.name: StreamRead.of(stream) for stream in streams}
        self.unknown: list[tuple[str | None, RefusedRecord]] = []
        self.unattributed = 0  # record lines whose stream is unknown, not yet matched to a count
        self.problems: list[str] = []
        self.connector_errors: list[str] = []
        self.started_ms = (started_at - EPOCH) // dt.timedelta(milliseconds=1)
        self.log = log

    def feed(self, line: bytes) -> None:
        raw = line.strip()
        if not raw:
            return
        try:
            text = raw.decode("utf-8")
            message = json.loads(text)
        except (ValueError, RecursionError):  # invalid UTF-8 or JSON
            self._not_a_message(raw)
            return
        if type(message) is not dict:
            self._not_a_message(raw)
            return
        kind = message.get("type")
        if kind == "RECORD":
            self._record(message, text)
        elif kind == "STATE":
            self._state(message)
        elif kind == "LOG":
            self._log(message.get("log"))
        elif kind == "TRACE":
            self._trace(message.get("trace"))
        else:
            self.log(text)

    def _not_a_message(self, raw: bytes) -> None:
        if not RECORD_HINT.search(raw):
            self.log(raw.decode("utf-8", "backslashreplace"))
            return
        found = STREAM_HINT.search(raw)
        name = found.group(1).decode("utf-8", "replace") if found else None
        self._unparseable(raw.decode("utf-8", "backslashreplace"), name)

    def _unparseable(self, text: str, name: str | None) -> None:
        refused = RefusedRecord(
            text, (Fault(RECORD_COLUMN, UNPARSEABLE, ""),), None, None, line_fingerprint(text)
        )
        sink = self.streams.get(name) if name is not None else None
        if sink is None:
            self.unknown.append((name, refused))
            self.unattributed += 1
            return
        sink.records += 1
        sink.since_state += 1
        sink.refused.append(refused)

    def _record(self, message: dict[str, Any], text: str) -> None:
        record = message.get("record")
        name = record.get("stream") if type(record) is dict else None
        if type(record) is not dict or type(name) is not str:
            self._unparseable(text, None)
            return
        sink = self.streams.get(name)
        if sink is None:
            fault = Fault("stream", UNKNOWN_STREAM, value_text(name))
            refused = RefusedRecord(text, (fault,), None, None, line_fingerprint(text))
            self.unknown.append((name, refused))
            self.unattributed += 1
            return
        data = record.get("data")
        if type(data) is not dict or _lone_surrogates(text, data):
            self._unparseable(text, name)
            return
        sink.records += 1
        sink.since_state += 1
        if sink.unseen:
            sink.unseen -= data.keys()
        emitted = record.get("emitted_at")
        emitted_ms = int(emitted) if _is_number(emitted) and emitted >= 0 else None
        values, faults = sink.typer.type_record(data)
        if faults:
            content = json.dumps(data, sort_keys=True, default=str)
            sink.refused.append(
                RefusedRecord(text, tuple(faults), values, emitted_ms, fingerprint_text(content))
            )
            return
        sink.add(values, data, self.started_ms if emitted_ms is None else emitted_ms)

    def _state(self, message: dict[str, Any]) -> None:
        state = message.get("state")
        if type(state) is not dict:
            self.problems.append("a STATE message without a state object")
            return
        kind = state.get("type", "STREAM" if "stream" in state else "LEGACY")
        stream: dict[str, Any] = state["stream"] if isinstance(state.get("stream"), dict) else {}
        descriptor = stream.get("stream_descriptor")
        name = descriptor.get("name") if isinstance(descriptor, dict) else None
        sink = self.streams.get(name) if type(name) is str else None
        if kind != "STREAM" or sink is None:
            self.problems.append(
                f"a {kind} state for stream {name!r}: only per-stream states of the streams "
                f"read ({', '.join(self.streams)}) can be stored"
            )
            return
        problem = _check_cursor(sink.stream, stream.get("stream_state"))
        if problem:
            self.problems.append(f"{name}: the connector's state is not stored: {problem}")
            return
        self._check_count(sink, state.get("sourceStats"))
        sink.state = {
            k: v for k, v in state.items() if k not in ("sourceStats", "destinationStats")
        }

    def _check_count(self, sink: StreamRead, stats: Any) -> None:
        counted, sink.since_state = sink.since_state, 0
        claimed = stats.get("recordCount") if type(stats) is dict else None
        if not _is_number(claimed):
            return
        expected = int(claimed)
        sink.source_counted += expected
        missing = expected - counted
        if missing == 0:
            return
        if 0 < missing <= self.unattributed:  # the unreadable lines were this stream's
            self.unattributed -= missing
            return
        self.problems.append(
            f"{sink.stream.name}: the connector says it emitted {expected} record(s) before its "
            f"state, {counted} were read{_explained(missing)}"
        )

    def _log(self, log: Any) -> None:
        if type(log) is not dict:
            return
        level, text = str(log.get("level", "INFO")), str(log.get("message", ""))
        self.log(f"{level} {text}")
        if level in ("ERROR", "FATAL"):
            self.connector_errors.append(text.strip().splitlines()[0] if text.strip() else level)

    def _trace(self, trace: Any) -> None:
        if type(trace) is not dict:
            return
        self.log(json.dumps(trace, default=str))
        error = trace.get("error") if trace.get("type") == "ERROR" else None
        if type(error) is dict:
            said = [str(error.get(key) or "") for key in ("message", "internal_message")]
            self.connector_errors.insert(0, ": ".join(part for part in said if part))

    def finish(self) -> dict[str, StreamRead]:
        for sink in self.streams.values():
            if sink.records == 0:
                sink.unseen = set()  # no record, no evidence that a column went away
        return self.streams


def _is_number(value: Any) -> TypeGuard[float]:
    return type(value) in (int, float) and value == value  # not bool, not NaN


def _explained(missing: int) -> str:
    if missing > 0:
        return f": {missing} record(s) are missing from its output"
    return f": {-missing} record(s) more than it counted"


def _lone_surrogates(text: str, data: dict[str, Any]) -> bool:
    """A ``\\ud800``-style escape with no pair decodes to text no UTF-8 table can store."""
    if "\\ud" not in text and "\\uD" not in text:
        return False
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_cursor(stream: RawStream, stream_state: Any) -> str | None:
    """Why the state's cursor value does not fit the stream's cursor column, if it does not."""
    if type(stream_state) is not dict:
        return f"stream_state is {value_text(stream_state)}, not an object"
    value = stream_state.get(stream.cursor_field)
    if value is None:
        return None
    cursor = stream.schema.field(stream.cursor_field)
    rule = refusal(converter(cursor), value)
    if rule is None:
        return None
    return (
        f"its cursor {stream.cursor_field}={value_text(value)} is not a {cursor.type} ({rule}); "
        f"state {value_text(stream_state)}"
    )


def raw_ids(count: int) -> pa.Array:
    """Airbyte's per-record id, as its destinations give one."""
    return pa.array([str(uuid.uuid4()) for _ in range(count)], pa.string())
