"""Customer features and the churn label: pure pandas functions, tested without Dagster.

Everything is computed *as of* a reference instant: only facts known before it count (a
purchase paid before it, a return made before it), so the same function builds today's
scoring features and a leakage-free training snapshot at an earlier cutoff.

Purchases are added up chunk by chunk (``PurchaseTotals``): per-customer sums and a latest
date merge exactly, so ten million purchases never sit in memory at once; customers are then
scored chunk by chunk against the totals (``customer_rows``, ``churn_rows``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
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
# Per-customer totals and how two partial totals of the same customer combine.
_TOTALS = {
    "frequency": "sum",
    "returns": "sum",
    "open_carts": "sum",
    "gross": "sum",
    "refund": "sum",
    "last_paid_at": "max",
}


def as_of_instant(day: dt.date) -> pd.Timestamp:
    """The start of ``day`` in UTC: features for day D use what was known before D began."""
    return pd.Timestamp(day.isoformat(), tz="UTC")


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _whole_days(delta: pd.Series) -> pd.Series:
    """Elapsed whole days (floored), kept as a nullable integer."""
    return (delta // DAY).astype("Int64")


def _no_totals() -> pd.DataFrame:
    frame = pd.DataFrame(
        {name: pd.Series(dtype="float64") for name in _TOTALS if name != "last_paid_at"}
    )
    frame["last_paid_at"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame.rename_axis("user_id")


@dataclass
class PurchaseTotals:
    """Per-customer sums of the purchases known before ``as_of``, added chunk by chunk.

    With ``window_end``, also the customers who paid in ``[as_of, window_end)``: the churn
    label's window, which only facts after the cutoff may fill."""

    as_of: dt.date
    window_end: dt.date | None = None
    per_user: pd.DataFrame = field(default_factory=_no_totals)
    active: np.ndarray = field(default_factory=lambda: np.array([], dtype="int64"))
    purchases_read: int = 0
    paid_before: int = 0

    def add(self, purchases: pd.DataFrame) -> None:
        """Count one chunk of purchases (any rows, any order)."""
        cutoff = as_of_instant(self.as_of)
        self.purchases_read += len(purchases)
        purchased_at = _utc(purchases["purchased_at"])
        if self.window_end is not None:
            window = purchased_at.notna() & (purchased_at >= cutoff)
            window &= purchased_at < as_of_instant(self.window_end)
            ids = purchases.loc[window, "user_id"].to_numpy(dtype="int64")
            self.active = np.union1d(self.active, ids)
        known = (_utc(purchases["created_at"]) < cutoff).to_numpy()
        purchased_at = purchased_at[known]
        returned_at = _utc(purchases["returned_at"])[known]
        paid = purchased_at.notna() & (purchased_at < cutoff)
        returned = paid & returned_at.notna() & (returned_at < cutoff)
        gross = purchases["gross_revenue"][known].fillna(0.0).where(paid, 0.0)
        orders = pd.DataFrame(
            {
                "user_id": purchases["user_id"][known],
                "frequency": paid,
                "returns": returned,
                "open_carts": ~paid,
                "gross": gross,
                "refund": gross.where(returned, 0.0),
                "last_paid_at": purchased_at.where(paid),
            }
        )
        self.paid_before += int(paid.sum())
        partial = orders.groupby("user_id").agg(_TOTALS)
        if self.per_user.empty:
            self.per_user = partial
        else:
            self.per_user = pd.concat([self.per_user, partial]).groupby(level=0).agg(_TOTALS)

    def empty_reason(self, customers_read: int, signed_up: int) -> str:
        """Why the churn set built on these totals has no row, in a line an analyst can act on:
        ``signed_up`` of the ``customers_read`` customers had signed up before the cutoff."""
        reference = self.window_end or self.as_of
        horizon = (reference - self.as_of).days
        return (
            f"no customer paid before the cutoff {self.as_of.isoformat()} (reference "
            f"{reference.isoformat()} minus {horizon} days): {self.paid_before} of "
            f"{self.purchases_read} purchases read were paid before it, {signed_up} of "
            f"{customers_read} customers had signed up; a longer history or a shorter "
            "churn_horizon_days fills it"
        )


def signed_up_before(customers: pd.DataFrame, day: dt.date) -> int:
    """Customers of the chunk who had signed up before ``day`` began."""
    return int((_utc(customers["created_at"]) < as_of_instant(day)).sum())


def customer_rows(customers: pd.DataFrame, totals: PurchaseTotals) -> pd.DataFrame:
    """One row per customer of the chunk signed up before ``totals.as_of``: RFM, returns,
    carts, tenure, age band.

    recency_days is null for a customer who never paid; return_rate is 0 without purchases.
    A purchase counts once paid before ``as_of``; its refund only if returned before it.
    """
    cutoff = as_of_instant(totals.as_of)
    known = customers.loc[_utc(customers["created_at"]) < cutoff, list(CUSTOMER_COLUMNS)]
    frame = known.merge(totals.per_user, how="left", left_on="user_id", right_index=True)
    for column in ("frequency", "returns", "open_carts"):
        frame[column] = frame[column].fillna(0).astype("int64")
    gross = frame["gross"].fillna(0.0)
    frame["monetary_value"] = gross - frame["refund"].fillna(0.0)
    paid = frame["frequency"].where(frame["frequency"] > 0)
    frame["average_order_value"] = (gross / paid).astype("float64")
    frame["return_rate"] = (frame["returns"] / paid).fillna(0.0).astype("float64")
    frame["recency_days"] = _whole_days(cutoff - _utc(frame["last_paid_at"]))
    frame["tenure_days"] = _whole_days(cutoff - _utc(frame["created_at"])).astype("int64")
    frame["as_of"] = totals.as_of
    frame["age_band"] = frame["age_band"].fillna("unknown")
    return frame[list(FEATURE_COLUMNS)].sort_values("user_id").reset_index(drop=True)


def customer_features(
    customers: pd.DataFrame, purchases: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """``customer_rows`` of every customer, on the totals of every purchase."""
    totals = PurchaseTotals(as_of)
    totals.add(purchases)
    return customer_rows(customers, totals)


def value_segments(values: pd.DataFrame) -> pd.Series:
    """The analytics value segment by user_id (the first row of a customer listed twice)."""
    segments = values[list(VALUE_COLUMNS)].drop_duplicates("user_id")
    return segments.set_index("user_id")["value_segment"]


def with_segment(features: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Adds the value segment (``unknown`` for a customer the metric lacks)."""
    frame = features.copy()
    frame["value_segment"] = frame["user_id"].map(segments).astype("object").fillna("unknown")
    return frame


def with_value_segment(features: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    return with_segment(features, value_segments(values))


def churn_totals(reference: dt.date, horizon_days: int) -> PurchaseTotals:
    """Totals for a churn set: features at ``cutoff = reference - horizon``, the label window
    ``[cutoff, reference)`` after it."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    return PurchaseTotals(reference - dt.timedelta(days=horizon_days), window_end=reference)


def churn_rows(customers: pd.DataFrame, totals: PurchaseTotals) -> pd.DataFrame:
    """The churn set's rows for a chunk of customers (see ``churn_training_set``)."""
    assert totals.window_end is not None, "churn rows need totals from churn_totals()"
    features = customer_rows(customers, totals)
    features = features.loc[features["frequency"] > 0].copy()
    features["churned"] = ~features["user_id"].isin(totals.active)
    features["reference_date"] = totals.window_end
    features["horizon_days"] = (totals.window_end - totals.as_of).days
    return features.reset_index(drop=True)


def churn_training_set(
    customers: pd.DataFrame, purchases: pd.DataFrame, reference: dt.date, horizon_days: int
) -> pd.DataFrame:
    """Features at ``cutoff = reference - horizon`` and the label observed after it.

    Population: customers who had paid at least once before the cutoff. Label ``churned`` is
    true when they paid nothing in ``[cutoff, reference)``. Features see only facts before the
    cutoff, the label only facts after it: no leakage, and nothing after ``reference`` is used.
    """
    totals = churn_totals(reference, horizon_days)
    totals.add(purchases)
    return churn_rows(customers, totals)


def churn_set_empty_reason(
    customers: pd.DataFrame, purchases: pd.DataFrame, reference: dt.date, horizon_days: int
) -> str:
    """Why ``churn_training_set`` has no row, in a line an analyst can act on.

    The population is customers who paid before the cutoff: a short history, or a window of
    purchases that starts after the cutoff, leaves it empty without anything being wrong.
    """
    totals = churn_totals(reference, horizon_days)
    totals.add(purchases)
    signed_up = signed_up_before(customers, totals.as_of)
    return totals.empty_reason(len(customers), signed_up)
