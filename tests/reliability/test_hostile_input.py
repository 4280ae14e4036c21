"""Hostile raw batches never escape: each is refused naming its column, blocked by the pandera
contract with a report naming the column and the check, or coerced as documented and clean.

The path is the raw layer's own, in process: ``lakehouse.raw.normalise.normalise`` (what the
extraction does to every batch) then ``lakehouse.quality.validate_table`` with the stream's
contract (what the blocking check runs). Documented coercions (lakehouse/raw/normalise.py):
zone-less timestamps are UTC, numeric text and whole floats cast safely to numbers, a missing
nullable column is null, unknown columns are dropped and reported, text is kept as given.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
import reliability_counts
from hostile_batches import hostile_batch
from hostile_oracle import violations
from hypothesis import HealthCheck, given, settings

from lakehouse.quality import validate_table
from lakehouse.raw.normalise import SchemaMismatchError, normalise
from lakehouse.raw.schemas import SCHEMAS
from lakehouse.raw.streams import RawStream

BATCHES = 1000  # the floor; RELIABILITY_SCALE multiplies it
SECTION = "hostile input (fuzzed raw batches)"
OUTCOMES = ("refused by normalise", "blocked by the contract", "passed (clean or coerced)")


def _named_column(message: str, stream: RawStream) -> str | None:
    found = re.search(r"column '([^']*)'", message)
    return found.group(1) if found and found.group(1) in stream.schema.names else None


@pytest.mark.timeout(900)
def test_every_hostile_batch_is_refused_blocked_or_coerced() -> None:
    seen: dict[str, int] = dict.fromkeys(OUTCOMES, 0)

    @settings(
        max_examples=reliability_counts.scaled(BATCHES, minimum=BATCHES),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_batch())
    def check(case: tuple[RawStream, pa.Table, list[str]]) -> None:
        stream, batch, applied = case
        reliability_counts.add(SECTION, "batches fuzzed")
        reliability_counts.add(SECTION, "escapes")  # taken back below unless something raised
        try:
            normalised = normalise(batch, stream.schema, stream=stream.name)
        except SchemaMismatchError as error:
            assert _named_column(str(error), stream), f"{applied}: no column named in {error}"
            seen[OUTCOMES[0]] += 1
            reliability_counts.add(SECTION, "escapes", -1)
            return
        table = normalised.table
        bad = violations(stream, table)
        report = validate_table(SCHEMAS[stream.name], table)
        reliability_counts.add(SECTION, "escapes", -1)
        named = {failure.column for failure in report.failures}
        assert all(failure.check for failure in report.failures)
        assert bad <= named, f"{applied}: bad columns {bad - named} passed the contract"
        if report.passed:
            assert table.schema.equals(stream.schema)
            seen[OUTCOMES[2]] += 1
        else:
            assert report.bad_rows > 0
            seen[OUTCOMES[1]] += 1

    check()
    for outcome, count in seen.items():
        reliability_counts.add(SECTION, outcome, count)
    # Every path was taken: the strategies reach each outcome.
    assert all(seen.values()), seen
