"""Strict typing of one Airbyte record against its stream's declared schema: no silent coercion.

A value is stored only when it already has the declared JSON type: an integer column takes a
JSON integer (or a float with no fraction, which JSON Schema calls an integer), a number column
a finite number, a text column a string free of control characters, a timestamp column an ISO
8601 string, a struct column an object. Anything else is a ``Fault`` naming the column, the rule
and the value as sent, and the record goes to quarantine with it: a number never becomes a
name, 2019.7 never becomes the year 2020, NaN never becomes null.

Hand-written rather than a JSON Schema validator: the same pass types the value for Arrow, and
a validator would parse each record twice and still not give the rules the quarantine names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lakehouse.raw.streams import AIRBYTE_META_FIELDS, RawStream

# C0 controls but tab, newline and carriage return; DEL; C1 controls (0x9b is the one-byte CSI
# of ANSI escapes; ESC, 0x1b, is a C0 control).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
INT64 = (-(2**63), 2**63)

WRONG_TYPE = "wrong_type"
NOT_AN_INTEGER = "not_an_integer"
OUT_OF_RANGE = "out_of_range"
NOT_FINITE = "not_finite"
CONTROLS = "control_characters"
BAD_TIMESTAMP = "unparseable_timestamp"
NULL_KEY = "null_key"
NOT_NULLABLE = "not_nullable"


class _Bad(Exception):
    def __init__(self, rule: str, column: str = "") -> None:
        self.rule, self.column = rule, column


@dataclass(frozen=True)
class Fault:
    """One value the record could not keep: its column, the rule, and the value as sent."""

    column: str
    rule: str
    value: str


def value_text(value: Any) -> str:
    """A value as the source sent it: JSON text (NaN and Infinity spelled as JSON's readers do)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _integer(value: Any) -> int:
    if type(value) is int:
        if INT64[0] <= value < INT64[1]:
            return value
        raise _Bad(OUT_OF_RANGE)
    if type(value) is float:
        if not math.isfinite(value):
            raise _Bad(NOT_FINITE)
        if not value.is_integer():
            raise _Bad(NOT_AN_INTEGER)
        if not INT64[0] <= value < INT64[1]:
            raise _Bad(OUT_OF_RANGE)
        return int(value)
    raise _Bad(WRONG_TYPE)


def _number(value: Any) -> float:
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise _Bad(NOT_FINITE)
    if type(value) is int:
        return float(value)
    raise _Bad(WRONG_TYPE)


def _any_number(value: Any) -> float:
    """A number column whose contract allows NaN and infinities."""
    if type(value) in (float, int):
        return float(value)
    raise _Bad(WRONG_TYPE)


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _Bad(WRONG_TYPE)
    if CONTROL_CHARACTERS.search(value):
        raise _Bad(CONTROLS)
    return value


def _any_text(value: Any) -> str:
    if type(value) is not str:
        raise _Bad(WRONG_TYPE)
    return value


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise _Bad(WRONG_TYPE)
    return value


def parse_timestamp(value: Any) -> dt.datetime:
    """An ISO 8601 instant in UTC; one without a zone is read as UTC (Airbyte's
    ``timestamp_with_timezone`` values carry one)."""
    if type(value) is not str:
        raise _Bad(WRONG_TYPE)
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(BAD_TIMESTAMP) from None
    if instant.tzinfo is None:
        return instant.replace(tzinfo=dt.UTC)
    try:
        return instant.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC instant
        raise _Bad(BAD_TIMESTAMP) from None


Convert = Callable[[Any], Any]


def _struct(fields: list[tuple[str, Convert]]) -> Convert:
    def convert(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise _Bad(WRONG_TYPE)
        typed: dict[str, Any] = {}
        for name, inner in fields:
            item = value.get(name)
            if item is None:
                typed[name] = None
                continue
            try:
                typed[name] = inner(item)
            except _Bad as bad:
                raise _Bad(bad.rule, f".{name}{bad.column}") from None
        return typed

    return convert


def converter(field: pa.Field, *, controls: bool = False, non_finite: bool = False) -> Convert:
    """The strict conversion of one declared column (``controls``: control characters allowed
    in its text; ``non_finite``: NaN and infinities allowed in its numbers)."""
    kind = field.type
    if pa.types.is_integer(kind):
        return _integer
    if pa.types.is_floating(kind):
        return _any_number if non_finite else _number
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _any_text if controls else _text
    if pa.types.is_boolean(kind):
        return _boolean
    if pa.types.is_timestamp(kind):
        return parse_timestamp
    if pa.types.is_struct(kind):
        return _struct([(inner.name, converter(inner, controls=controls)) for inner in kind])
    raise TypeError(f"no strict conversion for {field.name} of type {kind}")


def refusal(convert: Convert, value: Any) -> str | None:
    """The rule ``value`` breaks under ``convert``, or None when it is kept."""
    try:
        convert(value)
    except _Bad as bad:
        return bad.rule
    return None


@dataclass(frozen=True)
class Column:
    name: str
    convert: Convert
    nullable: bool
    key: bool


class RecordTyper:
    """Types the ``data`` of one stream's records, column by column."""

    def __init__(self, stream: RawStream) -> None:
        meta = {field.name for field in AIRBYTE_META_FIELDS}
        self.columns = [
            Column(
                field.name,
                converter(
                    field,
                    controls=field.name in stream.control_characters_allowed,
                    non_finite=field.name in stream.non_finite_allowed,
                ),
                field.nullable,
                field.name in stream.primary_key,
            )
            for field in stream.schema
            if field.name not in meta
        ]
        self.names = frozenset(column.name for column in self.columns)

    def type_record(self, data: dict[str, Any]) -> tuple[list[Any], list[Fault]]:
        """The record's values in column order (None where a value could not be kept) and the
        faults that kept them out."""
        values: list[Any] = []
        faults: list[Fault] = []
        for column in self.columns:
            value = data.get(column.name)
            if value is None:
                values.append(None)
                if not column.nullable:
                    rule = NULL_KEY if column.key else NOT_NULLABLE
                    faults.append(Fault(column.name, rule, value_text(value)))
                continue
            try:
                values.append(column.convert(value))
            except _Bad as bad:
                values.append(None)
                faults.append(Fault(f"{column.name}{bad.column}", bad.rule, value_text(value)))
        return values, faults
