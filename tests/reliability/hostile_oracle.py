"""The oracle for hostile raw batches: which columns of a typed batch hold bad values.

Written against Arrow, apart from the pandera contract it checks, so a contract that lets a
bad value through is caught rather than agreed with.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
from hostile_records import RANGES, REQUIRED

from lakehouse.raw.schemas import MAX_EMAIL_CHARS, MAX_TEXT_CHARS, TIMESTAMP_RANGE
from lakehouse.raw.streams import RawStream


def violations(stream: RawStream, table: pa.Table) -> set[str]:
    """Columns of a typed batch holding values the raw contract must refuse."""
    bad: set[str] = set()
    for name in REQUIRED[stream.name]:
        if table[name].null_count or (
            pa.types.is_floating(table[name].type) and pc.any(pc.is_nan(table[name])).as_py()
        ):
            bad.add(name)
    for name in ("id", "user_id", "product_id"):
        if name in table.column_names and pc.any(pc.less_equal(table[name], 0)).as_py():
            bad.add(name)
    for name, unique in (("id", True), ("email", stream.name == "users")):
        values = table[name] if name in table.column_names else None
        if unique and values is not None:
            present = values.drop_null()
            if len(present.unique()) != len(present):
                bad.add(name)
    for name, (low, high) in RANGES[stream.name].items():
        values = table[name]
        outside = pc.or_(pc.less(values, low), pc.greater(values, high))
        if pa.types.is_floating(values.type):
            outside = pc.or_(outside, pc.is_inf(values))
        if pc.any(outside).as_py():
            bad.add(name)
    low, high = TIMESTAMP_RANGE
    for field in stream.schema:
        values = table[field.name]
        if pa.types.is_timestamp(field.type):
            micros = values.cast(pa.int64())
            if pc.any(
                pc.or_(pc.less(micros, _micros(low)), pc.greater_equal(micros, _micros(high)))
            ).as_py():
                bad.add(field.name)
        if pa.types.is_string(field.type):
            limit = MAX_EMAIL_CHARS if field.name == "email" else MAX_TEXT_CHARS
            if pc.any(pc.greater(pc.utf8_length(values), limit)).as_py():
                bad.add(field.name)
    if stream.name == "users":
        emails = table["email"].drop_null()
        if pc.any(pc.invert(pc.match_substring_regex(emails, r"^[^@\s]+@[^@\s]+$"))).as_py():
            bad.add("email")
        if pc.any(pc.equal(pc.utf8_length(table["name"]), 0)).as_py():
            bad.add("name")
    if stream.name == "products" and pc.any(pc.equal(pc.utf8_length(table["make"]), 0)).as_py():
        bad.add("make")
    if stream.name == "purchases":
        early = pc.less(table["returned_at"], table["purchased_at"])
        if pc.any(early).as_py():
            bad.add("<row>")
    return bad


def _micros(instant: dt.datetime) -> int:
    return (instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
