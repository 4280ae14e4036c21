"""The pure decision: which rows reach main, which go to quarantine, for each policy."""

from __future__ import annotations

import pytest

from lakehouse.wap.policy import BATCH_REJECTED, PolicyError, WapPolicy, decide

GOOD = WapPolicy(on_bad_rows="publish_good_rows", max_bad_fraction=0.25)
PRICE = [("price", "not_nullable")]


def test_a_clean_batch_publishes():
    assert decide(
        batch_rows=3, rest_rows=2, by_row={}, table_level=[], policy=WapPolicy(), summary=""
    )


def test_all_or_nothing_quarantines_the_whole_batch_with_reasons():
    decision = decide(
        batch_rows=3,
        rest_rows=2,
        by_row={3: PRICE},
        table_level=[],
        policy=WapPolicy(),
        summary="s",
    )
    assert not decision.publish
    assert decision.quarantine == {
        0: [("<batch>", BATCH_REJECTED)],
        1: PRICE,
        2: [("<batch>", BATCH_REJECTED)],
    }


def test_publish_good_rows_up_to_the_bad_fraction():
    allowed = decide(
        batch_rows=4, rest_rows=0, by_row={1: PRICE}, table_level=[], policy=GOOD, summary=""
    )
    assert allowed.publish and allowed.quarantine == {1: PRICE}
    too_many = decide(
        batch_rows=4,
        rest_rows=0,
        by_row={1: PRICE, 2: PRICE},
        table_level=[],
        policy=GOOD,
        summary="",
    )
    assert not too_many.publish and set(too_many.quarantine) == {0, 1, 2, 3}


def test_failures_no_row_dropping_can_fix_reject_whatever_the_policy():
    missing = [("price", "column_in_dataframe")]
    whole = decide(
        batch_rows=2, rest_rows=0, by_row={}, table_level=missing, policy=GOOD, summary=""
    )
    assert not whole.publish and whole.quarantine == {0: missing, 1: missing}
    on_main = decide(
        batch_rows=2, rest_rows=5, by_row={0: PRICE}, table_level=[], policy=GOOD, summary=""
    )
    assert not on_main.publish and "already on main" in on_main.reason


def test_policies_are_read_from_asset_metadata_and_checked():
    assert WapPolicy.from_metadata(None) == WapPolicy()
    assert not WapPolicy.from_metadata({"wap/enabled": False}).enabled
    with pytest.raises(PolicyError, match="wap/on_bad_rows"):
        WapPolicy.from_metadata({"wap/on_bad_rows": "drop"})
    with pytest.raises(PolicyError, match="wap/max_bad_fraction"):
        WapPolicy.from_metadata({"wap/max_bad_fraction": 2})
