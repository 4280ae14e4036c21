"""Customer features and the churn label: pure pandas functions, tested without Dagster.

Everything is computed *as of* a reference instant: only facts known before it count (a
purchase paid before it, a return made before it), so the same function builds today's
scoring features and a leakage-free training snapshot at an earlier cutoff.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

DAY = pd.Timedelta(days=1)
# Columns each input must hold (the IO manager projects the analytics tables to these).
CUSTOMER_COLUMNS = ("user_id", "created_at", "age_band")
PURCHASE_COLUMNS = (
    "purchase_id",
    "user_id",
    "created_at",
    "purchased_at",
    "returned_at",
    "gross_revenue",
)
VALUE_COLUMNS = ("user_id", "value_segment")
FEATURE_COLUMNS = (
    "user_id",
    "as_of",
    "tenure_days",
    "age_band",
    "recency_days",
    "frequency",
    "monetary_value",
    "average_order_value",
    "returns",
    "return_rate",
    "open_carts",
)


def as_of_instant(day: dt.date) -> pd.Timestamp:
    """The start of ``day`` in UTC: features for day D use what was known before D began."""
    return pd.Timestamp(day.isoformat(), tz="UTC")


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _whole_days(delta: pd.Series) -> pd.Series:
    """Elapsed whole days (floored), kept as a nullable integer."""
    return (delta // DAY).astype("Int64")


def customer_features(
    customers: pd.DataFrame, purchases: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """One row per customer signed up before ``as_of``: RFM, returns, carts, tenure, age band.

    recency_days is null for a customer who never paid; return_rate is 0 without purchases.
    A purchase counts once paid before ``as_of``; its refund only if returned before it.
    """
    cutoff = as_of_instant(as_of)
    known = customers.loc[_utc(customers["created_at"]) < cutoff, list(CUSTOMER_COLUMNS)].copy()
    orders = purchases.loc[_utc(purchases["created_at"]) < cutoff].copy()
    purchased_at = _utc(orders["purchased_at"])
    returned_at = _utc(orders["returned_at"])
    orders["paid"] = purchased_at.notna() & (purchased_at < cutoff)
    orders["returned"] = orders["paid"] & returned_at.notna() & (returned_at < cutoff)
    orders["open_cart"] = ~orders["paid"]
    orders["gross"] = orders["gross_revenue"].fillna(0.0).where(orders["paid"], 0.0)
    orders["refund"] = orders["gross"].where(orders["returned"], 0.0)
    orders["paid_at"] = purchased_at.where(orders["paid"])
    per_user = orders.groupby("user_id").agg(
        frequency=("paid", "sum"),
        returns=("returned", "sum"),
        open_carts=("open_cart", "sum"),
        gross=("gross", "sum"),
        refund=("refund", "sum"),
        last_paid_at=("paid_at", "max"),
    )
    frame = known.merge(per_user, how="left", left_on="user_id", right_index=True)
    for column in ("frequency", "returns", "open_carts"):
        frame[column] = frame[column].fillna(0).astype("int64")
    gross = frame["gross"].fillna(0.0)
    frame["monetary_value"] = gross - frame["refund"].fillna(0.0)
    paid = frame["frequency"].where(frame["frequency"] > 0)
    frame["average_order_value"] = (gross / paid).astype("float64")
    frame["return_rate"] = (frame["returns"] / paid).fillna(0.0).astype("float64")
    frame["recency_days"] = _whole_days(cutoff - _utc(frame["last_paid_at"]))
    frame["tenure_days"] = _whole_days(cutoff - _utc(frame["created_at"])).astype("int64")
    frame["as_of"] = as_of
    frame["age_band"] = frame["age_band"].fillna("unknown")
    return frame[list(FEATURE_COLUMNS)].sort_values("user_id").reset_index(drop=True)


def with_value_segment(features: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Adds the analytics value segment (``unknown`` for a customer the metric lacks)."""
    segments = values[list(VALUE_COLUMNS)].drop_duplicates("user_id")
    frame = features.merge(segments, how="left", on="user_id")
    frame["value_segment"] = frame["value_segment"].fillna("unknown")
    return frame


def churn_training_set(
    customers: pd.DataFrame, purchases: pd.DataFrame, reference: dt.date, horizon_days: int
) -> pd.DataFrame:
    """Features at ``cutoff = reference - horizon`` and the label observed after it.

    Population: customers who had paid at least once before the cutoff. Label ``churned`` is
    true when they paid nothing in ``[cutoff, reference)``. Features see only facts before the
    cutoff, the label only facts after it: no leakage, and nothing after ``reference`` is used.
    """
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    cutoff = reference - dt.timedelta(days=horizon_days)
    features = customer_features(customers, purchases, cutoff)
    features = features.loc[features["frequency"] > 0].copy()
    start, end = as_of_instant(cutoff), as_of_instant(reference)
    purchased_at = _utc(purchases["purchased_at"])
    window = purchased_at.notna() & (purchased_at >= start) & (purchased_at < end)
    active = set(purchases.loc[window, "user_id"])
    features["churned"] = ~features["user_id"].isin(active)
    features["reference_date"] = reference
    features["horizon_days"] = horizon_days
    return features.reset_index(drop=True)


def churn_set_empty_reason(
    customers: pd.DataFrame, purchases: pd.DataFrame, reference: dt.date, horizon_days: int
) -> str:
    """Why ``churn_training_set`` has no row, in a line an analyst can act on.

    The population is customers who paid before the cutoff: a short history, or a window of
    purchases that starts after the cutoff, leaves it empty without anything being wrong.
    """
    cutoff = reference - dt.timedelta(days=horizon_days)
    start = as_of_instant(cutoff)
    paid = _utc(purchases["purchased_at"])
    known = _utc(purchases["created_at"]) < start
    paid_before = int((known & paid.notna() & (paid < start)).sum())
    signed_up = int((_utc(customers["created_at"]) < start).sum())
    return (
        f"no customer paid before the cutoff {cutoff.isoformat()} (reference "
        f"{reference.isoformat()} minus {horizon_days} days): {paid_before} of {len(purchases)} "
        f"purchases read were paid before it, {signed_up} of {len(customers)} customers had "
        "signed up; a longer history or a shorter churn_horizon_days fills it"
    )
