"""source-faker's data depends on the day it runs (its dates run from 2000 to "now");
``LAKEHOUSE_FAKER_NOW`` pins that day, so demo data and the tests built on it are the same on
any date. Slow: two real extractions.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.raw.extraction import extract_streams, faker_connector
from lakehouse.raw.streams import STREAMS_BY_NAME
from lakehouse.settings import load_settings

pytestmark = pytest.mark.slow
# Far from any day CI runs on, and a leap day: nothing below can pass by the wall clock's luck.
PINNED = dt.datetime(2012, 2, 29, 12, tzinfo=dt.UTC)


def _purchases(now: dt.datetime | None) -> pa.Table:
    environ = {"LAKEHOUSE_FAKER_COUNT": "60"}
    if now is not None:
        environ["LAKEHOUSE_FAKER_NOW"] = now.isoformat()
    connector = faker_connector(load_settings(environ))
    return extract_streams([STREAMS_BY_NAME["purchases"]], {}, connector)["purchases"].table


@pytest.fixture(scope="module")
def pinned(connector_envs: None) -> tuple[pa.Table, pa.Table]:
    return _purchases(PINNED), _purchases(PINNED)


def test_every_date_the_pinned_connector_emits_is_in_or_before_its_year(pinned):
    table = pinned[0]
    # mimesis draws years 2000 to the current one, any day of that year (so some days after
    # "now"): with the clock pinned, nothing reaches the wall clock's years.
    for column in ("created_at", "updated_at", "purchased_at", "returned_at"):
        latest = pc.max(table[column]).as_py()
        assert latest is not None, column
        assert latest.year <= PINNED.year, (column, latest)
    # updated_at is the connector's "now": the pinned instant, give or take the run's seconds.
    stamps = table["updated_at"]
    assert (
        PINNED
        <= pc.min(stamps).as_py()
        <= pc.max(stamps).as_py()
        < PINNED + dt.timedelta(minutes=10)
    )


def test_the_same_clock_and_seed_give_the_same_records(pinned):
    first, second = pinned
    dated = ["id", "user_id", "product_id", "created_at", "added_to_cart_at", "purchased_at"]
    assert first.select(dated).equals(second.select(dated))
