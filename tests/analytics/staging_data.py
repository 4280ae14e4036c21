"""A tiny fixed staging layer, and the analytics numbers computed by hand from it.

Days: D1 = 2024-01-31, D2 = 2024-02-01 (UTC): consecutive days in two month partitions, so
a run of D2's month leaves D1 alone. Products: 10 at 100.0, 20 at 250.5.
Purchases (created_at day): 100 D1 user 1 product 10 paid D1; 101 D1 user 1 product 20 paid D1,
returned D3; 102 D1 (23:00) user 2 product 10 paid D2 01:00; 103 D2 user 2 product 20 in cart;
104 D2 user 1 product 10 paid D2. User 3 never buys (until the second snapshot's purchase 105).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from pyiceberg.catalog import Catalog

from lakehouse.iceberg import WriteRequest, write

D1, D2 = dt.date(2024, 1, 31), dt.date(2024, 2, 1)
M1, M2 = "2024-01-01", "2024-02-01"  # their month partitions
TS = pa.timestamp("us", tz="UTC")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """``hour:minute`` UTC on day ``day`` (1 is D1, 2 is D2, ...)."""
    return dt.datetime.combine(D1 + dt.timedelta(days=day - 1), dt.time(hour, minute), dt.UTC)


def users() -> pa.Table:
    created = [at(1, 0)] * 3
    return pa.table(
        {
            "user_id": pa.array([1, 2, 3], pa.int64()),
            "full_name": ["Ada Lovelace", "Bob Marley", "Cy Twombly"],
            "email": ["ada@Example.com", "bob@music.org", "cy@art.fr"],
            "telephone": ["+44 1", "+1 2", "+33 3"],
            "age": pa.array([36, 22, None], pa.int32()),
            "gender": ["female", "male", "male"],
            "occupation": ["mathematician", "singer", "painter"],
            "nationality": ["British", "Jamaican", "American"],
            "language": ["English", "English", "French"],
            "academic_degree": ["none", "none", "master"],
            "city": ["London", "Kingston", "Rome"],
            "state": ["England", "Surrey", "Lazio"],
            "postal_code": ["W1", "JM", "00100"],
            "country_code": ["gb", "jm", "it"],
            "created_at": pa.array(created, TS),
            "updated_at": pa.array(created, TS),
        }
    )


def products() -> pa.Table:
    created = [at(1, 0)] * 2
    return pa.table(
        {
            "product_id": pa.array([10, 20], pa.int64()),
            "make": ["Toyota", "Honda"],
            "model": ["Corolla", "Civic"],
            "year": pa.array([2020, 2019], pa.int32()),
            "price": pa.array([100.0, 250.5], pa.float64()),
            "created_at": pa.array(created, TS),
            "updated_at": pa.array(created, TS),
        }
    )


# purchase_id, user_id, product_id, created_at, purchased_at, returned_at, status
PURCHASES_V1 = [
    (100, 1, 10, at(1, 8), at(1, 9, 30), None, "purchased"),
    (101, 1, 20, at(1, 10), at(1, 11), at(3, 12), "returned"),
    (102, 2, 10, at(1, 23), at(2, 1), None, "purchased"),
    (103, 2, 20, at(2, 12), None, None, "in_cart"),
    (104, 1, 10, at(2, 13), at(2, 14, 15), None, "purchased"),
]
# The second snapshot: user 3 buys on D2, and D1's purchase 100 is returned (a D1 change that a
# D2-only run must not pick up).
PURCHASES_V2 = [
    (100, 1, 10, at(1, 8), at(1, 9, 30), at(4, 9), "returned"),
    *PURCHASES_V1[1:],
    (105, 3, 20, at(2, 15), at(2, 16), None, "purchased"),
]


def purchases(rows: list[tuple]) -> pa.Table:
    ids, user_ids, product_ids, created, paid, returned, status = zip(*rows, strict=True)
    return pa.table(
        {
            "purchase_id": pa.array(ids, pa.int64()),
            "user_id": pa.array(user_ids, pa.int64()),
            "product_id": pa.array(product_ids, pa.int64()),
            "created_at": pa.array(created, TS),
            "updated_at": pa.array(created, TS),
            "added_to_cart_at": pa.array(created, TS),
            "purchased_at": pa.array(paid, TS),
            "returned_at": pa.array(returned, TS),
            "purchase_date": pa.array([c.date() for c in created], pa.date32()),
            "status": list(status),
        }
    )


def write_staging(catalog: Catalog, purchase_rows: list[tuple]) -> None:
    """Commit the three staging tables as the Spark staging layer would (purchases by day)."""
    write(catalog, users(), WriteRequest(("staging", "users")))
    write(catalog, products(), WriteRequest(("staging", "products")))
    write(
        catalog,
        purchases(purchase_rows),
        WriteRequest(("staging", "purchases"), partition_column="created_at"),
    )


# Hand-computed from PURCHASES_V1: paid purchases grouped by their purchase day (the UTC day of
# created_at), so 102, created late on D1 and paid on D2, counts on D1.
DAILY_REVENUE_V1 = {
    # day: (purchases, customers, returns, gross, refunded, net, average order value, return rate)
    D1: (3, 2, 1, 450.5, 250.5, 200.0, 450.5 / 3, 1 / 3),
    D2: (1, 1, 0, 100.0, 0.0, 100.0, 100.0, 0.0),
}
# After staging v2 and a D2-only run of the daily models: 105 (user 3, 250.5) joins D2; D1 is
# untouched although its purchase 100 was returned in v2 (D1 was not re-run).
DAILY_REVENUE_V2 = {
    D1: DAILY_REVENUE_V1[D1],
    D2: (2, 2, 0, 350.5, 0.0, 350.5, 175.25, 0.0),
}
CUSTOMER_LIFETIME_VALUE_V1 = {
    # user: (purchases, returns, gross, refunded, lifetime value, active days, segment)
    1: (3, 1, 450.5, 250.5, 200.0, 1, "medium"),
    2: (1, 0, 100.0, 0.0, 100.0, 0, "medium"),
    3: (0, 0, 0.0, 0.0, 0.0, None, "none"),
}
