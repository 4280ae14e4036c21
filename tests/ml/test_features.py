"""The feature and label functions on a tiny hand-built history, expectations worked by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from ml_history import AS_OF, CUSTOMERS, PURCHASES

from lakehouse.ml.features import (
    PurchaseTotals,
    churn_rows,
    churn_set_empty_reason,
    churn_totals,
    churn_training_set,
    customer_features,
    customer_rows,
    with_value_segment,
)


def _row(frame: pd.DataFrame, user_id: int) -> dict:
    return frame.set_index("user_id").loc[user_id].to_dict()


def test_customer_features_counts_only_what_was_known_before_as_of():
    frame = customer_features(CUSTOMERS, PURCHASES, AS_OF)

    assert list(frame["user_id"]) == [1, 2, 3]  # user 4 signed up after AS_OF
    one = _row(frame, 1)
    assert one["frequency"] == 3
    assert one["returns"] == 1  # the 2024-03-10 return is in the future
    assert one["monetary_value"] == pytest.approx(180.0 - 50.0)
    assert one["average_order_value"] == pytest.approx(60.0)
    assert one["return_rate"] == pytest.approx(1 / 3)
    assert one["recency_days"] == 2  # last paid 02-27 23:00 -> 03-01 00:00: 2 days 1 hour
    assert one["tenure_days"] == 60  # 2024-01-01 -> 2024-03-01 (leap year)
    assert one["open_carts"] == 0


def test_customer_without_paid_purchases_has_null_recency_and_zero_rates():
    frame = customer_features(CUSTOMERS, PURCHASES, AS_OF)
    two, three = _row(frame, 2), _row(frame, 3)

    assert two["frequency"] == 0 and two["open_carts"] == 2
    assert pd.isna(two["recency_days"]) and pd.isna(two["average_order_value"])
    assert two["return_rate"] == 0.0 and two["monetary_value"] == 0.0
    assert two["tenure_days"] == 14  # 2024-02-15 12:00 -> 2024-03-01: 14.5 days, floored
    assert two["age_band"] == "unknown"
    assert three["frequency"] == 0 and three["open_carts"] == 0


def test_value_segment_is_joined_and_defaults_to_unknown():
    values = pd.DataFrame({"user_id": [1], "value_segment": ["high"]})
    frame = with_value_segment(customer_features(CUSTOMERS, PURCHASES, AS_OF), values)

    assert list(frame["value_segment"]) == ["high", "unknown", "unknown"]


def test_churn_label_uses_only_the_window_after_the_cutoff():
    # Reference 2024-03-04, horizon 7 days -> cutoff 2024-02-26, label window [02-26, 03-04).
    frame = churn_training_set(CUSTOMERS, PURCHASES, dt.date(2024, 3, 4), horizon_days=7)

    # Population: paid before the cutoff -> only user 1 (paid 01-10 and 02-20).
    assert list(frame["user_id"]) == [1]
    one = _row(frame, 1)
    assert not one["churned"]  # paid on 02-27, inside the window
    assert one["frequency"] == 2  # the 02-27 purchase is after the cutoff: not a feature
    assert one["as_of"] == dt.date(2024, 2, 26)
    assert one["recency_days"] == 5  # 02-20 08:00 -> 02-26 00:00
    assert one["horizon_days"] == 7


def test_customer_silent_in_the_window_is_churned():
    # Reference 2024-02-27, horizon 5 -> cutoff 02-22; user 1 pays on 02-27 23:00: too late.
    frame = churn_training_set(CUSTOMERS, PURCHASES, dt.date(2024, 2, 27), horizon_days=5)

    assert _row(frame, 1)["churned"]


def test_horizon_must_be_positive():
    with pytest.raises(ValueError, match="horizon_days"):
        churn_training_set(CUSTOMERS, PURCHASES, AS_OF, horizon_days=0)


def test_an_empty_churn_set_says_why():
    # A horizon reaching before every purchase: nobody had paid before the cutoff.
    reference = AS_OF
    frame = churn_training_set(CUSTOMERS, PURCHASES, reference, horizon_days=3650)
    assert frame.empty
    reason = churn_set_empty_reason(CUSTOMERS, PURCHASES, reference, horizon_days=3650)
    cutoff = (reference - dt.timedelta(days=3650)).isoformat()
    assert reason.startswith(f"no customer paid before the cutoff {cutoff}")
    assert f"0 of {len(PURCHASES)} purchases" in reason


@pytest.mark.parametrize("reference", [AS_OF, dt.date(2024, 3, 4), dt.date(2024, 2, 27)])
def test_chunks_of_purchases_and_customers_give_the_same_rows_as_the_whole(reference):
    # The ml assets add purchases up and score customers chunk by chunk (bounded memory): a
    # row per chunk, in reverse order, must give exactly the whole tables' features and set.
    def chunked(totals: PurchaseTotals, score) -> pd.DataFrame:
        for position in reversed(range(len(PURCHASES))):
            totals.add(PURCHASES.iloc[[position]])
        parts = [score(CUSTOMERS.iloc[[row]], totals) for row in range(len(CUSTOMERS))]
        return pd.concat(parts).sort_values("user_id").reset_index(drop=True)

    whole = customer_features(CUSTOMERS, PURCHASES, reference)
    pd.testing.assert_frame_equal(chunked(PurchaseTotals(reference), customer_rows), whole)
    whole_set = churn_training_set(CUSTOMERS, PURCHASES, reference, horizon_days=5)
    assert not whole_set.empty or reference == AS_OF
    pd.testing.assert_frame_equal(chunked(churn_totals(reference, 5), churn_rows), whole_set)
