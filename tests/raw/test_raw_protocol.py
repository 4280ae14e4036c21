"""Reading a connector's output line by line: every record line is counted and ends typed or
refused with its original text; state and counts are checked before anything is stored."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from lakehouse.raw.batches import CURSOR_TIE, stream_batch
from lakehouse.raw.protocol import UNKNOWN_STREAM, UNPARSEABLE, SyncReader
from lakehouse.raw.records import (
    BAD_TIMESTAMP,
    CONTROLS,
    NOT_AN_INTEGER,
    NOT_FINITE,
    NULL_KEY,
    WRONG_TYPE,
)
from lakehouse.raw.streams import STREAMS, STREAMS_BY_NAME
from lakehouse.wap.policy import SUPERSEDED

STARTED = dt.datetime(2026, 6, 15, tzinfo=dt.UTC)
PRODUCT = {
    "id": 1,
    "make": "Mazda",
    "model": "MX-5",
    "year": 2023,
    "price": 15001,
    "created_at": "2024-04-08T18:07:20+00:00",
    "updated_at": "2026-06-15T12:00:00+00:00",
}


def _record(data: object, stream: str = "products") -> bytes:
    message = {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1}}
    return json.dumps(message).encode()


def _state(name: str, stream_state: object, count: float | None = None) -> bytes:
    state: dict = {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": name}, "stream_state": stream_state},
    }
    if count is not None:
        state["sourceStats"] = {"recordCount": count}
    return json.dumps({"type": "STATE", "state": state}).encode()


def _read(*lines: bytes) -> SyncReader:
    reader = SyncReader(STREAMS, started_at=STARTED)
    for line in lines:
        reader.feed(line)
    reader.finish()
    return reader


def _product(**changes: object) -> dict:
    return PRODUCT | changes


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (b'{"type":"RECORD","record":{"stream":"products","data":{"id":1,', UNPARSEABLE),
        (_record("a string, not an object"), UNPARSEABLE),
        (_record(_product()).replace(b'"Mazda"', b'"Ma\\ud800zda"'), UNPARSEABLE),
        (_record(_product()).replace(b"Mazda", b"Ma\xffzda"), UNPARSEABLE),
    ],
    ids=["invalid-json", "data-not-object", "lone-surrogate", "invalid-utf8"],
)
def test_a_record_line_that_cannot_be_parsed_is_refused_with_its_text_never_logged(line, rule):
    logged: list[str] = []
    reader = SyncReader(STREAMS, started_at=STARTED, log=logged.append)
    reader.feed(line)
    products = reader.finish()["products"]
    assert products.records == 1 and products.rows == 0
    (refused,) = products.refused
    assert refused.faults[0].rule == rule
    assert refused.line == line.decode("utf-8", "backslashreplace")
    assert logged == []


@pytest.mark.parametrize(
    ("changes", "column", "rule", "value"),
    [
        ({"price": "cheap"}, "price", WRONG_TYPE, '"cheap"'),
        ({"make": 42}, "make", WRONG_TYPE, "42"),
        ({"year": 2019.7}, "year", NOT_AN_INTEGER, "2019.7"),
        ({"price": math.nan}, "price", NOT_FINITE, "NaN"),
        ({"price": -math.inf}, "price", NOT_FINITE, "-Infinity"),
        (
            {"model": "Bob\x00\x1b[31mred\x07"},
            "model",
            CONTROLS,
            '"Bob\\u0000\\u001b[31mred\\u0007"',
        ),
        ({"updated_at": "yesterday"}, "updated_at", BAD_TIMESTAMP, '"yesterday"'),
        ({"created_at": "2024-13-45T00:00:00"}, "created_at", BAD_TIMESTAMP, None),
        ({"id": None}, "id", NULL_KEY, "null"),
    ],
)
def test_a_value_of_the_wrong_kind_refuses_its_record_keeping_the_value(
    changes, column, rule, value
):
    products = _read(_record(_product(**changes)), _record(_product(id=2))).streams["products"]
    assert products.rows == 1  # the other record goes on
    (refused,) = products.refused
    (fault,) = refused.faults
    assert (fault.column, fault.rule) == (column, rule)
    assert fault.value == (value if value is not None else json.dumps(changes[column]))
    assert json.loads(refused.line)["record"]["data"][column] == pytest.approx(
        changes[column], nan_ok=True
    )


def test_a_struct_replaced_by_text_is_refused_and_a_user_name_number_never_becomes_text():
    user = {"id": 1, "name": 12345, "address": "12 Main St", "updated_at": "2026-01-01T00:00:00Z"}
    users = _read(_record(user, "users")).streams["users"]
    assert users.rows == 0
    (refused,) = users.refused
    assert {(f.column, f.rule, f.value) for f in refused.faults} == {
        ("name", WRONG_TYPE, "12345"),
        ("address", WRONG_TYPE, '"12 Main St"'),
    }


def test_a_record_of_an_unknown_stream_is_refused_not_dropped():
    reader = _read(_record({"id": 1}, "invoices"))
    ((name, refused),) = reader.unknown
    assert name == "invoices" and refused.faults[0].rule == UNKNOWN_STREAM


def test_the_connectors_record_count_is_checked_against_the_lines_read():
    good = _read(_record(_product()), _state("products", {"updated_at": "2026-06-15T12:00:00Z"}, 1))
    assert good.problems == [] and good.streams["products"].state is not None
    lost = _read(_record(_product()), _state("products", {"updated_at": "2026-06-15T12:00:00Z"}, 3))
    assert lost.problems == [
        "products: the connector says it emitted 3 record(s) before its state, 1 were read: "
        "2 record(s) are missing from its output"
    ]


def test_garbage_state_is_refused_and_not_kept():
    reader = _read(_state("products", {"seed": "not-a-seed", "updated_at": "not-a-date"}, 0))
    assert reader.streams["products"].state is None
    (problem,) = reader.problems
    assert problem.startswith("products: the connector's state is not stored: its cursor")
    assert '"not-a-date"' in problem


def test_a_key_sent_twice_keeps_the_latest_by_cursor_and_quarantines_the_rest():
    older = _product(price=1, updated_at="2026-06-01T00:00:00+00:00")
    tie_a = _product(id=2, price=2)
    tie_b = _product(id=2, price=3)
    read = _read(_record(older), _record(_product()), _record(tie_a), _record(tie_b))
    batch = stream_batch(read.streams["products"], fallback_ms=0)
    assert batch.table.column("id").to_pylist() == [1]
    assert batch.table.column("price").to_pylist() == [15001.0]
    assert sorted(r[0][1] for r in batch.refused.reasons) == [CURSOR_TIE, CURSOR_TIE, SUPERSEDED]
    assert batch.accounted == batch.records == 4


def test_every_typed_row_keeps_its_declared_schema():
    batch = stream_batch(_read(_record(_product())).streams["products"], fallback_ms=0)
    assert batch.table.schema == STREAMS_BY_NAME["products"].schema


def test_a_refused_line_read_again_later_has_the_same_fingerprint():
    line = b'{"type":"RECORD","record":{"stream":"products","data":"x","emitted_at":1}}'
    again = line.replace(b'"emitted_at":1', b'"emitted_at": 1796351432560.5')
    first, second = (_read(text).streams["products"].refused[0] for text in (line, again))
    assert first.fingerprint == second.fingerprint
    other = _read(line.replace(b'"x"', b'"y"')).streams["products"].refused[0]
    assert other.fingerprint != first.fingerprint
