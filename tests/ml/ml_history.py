"""A tiny hand-built customer and purchase history; the expected features are worked by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd

AS_OF = dt.date(2024, 3, 1)


def _ts(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


CUSTOMERS = pd.DataFrame(
    {
        "user_id": [1, 2, 3, 4],
        "created_at": [
            _ts("2024-01-01"),
            _ts("2024-02-15 12:00"),
            _ts("2024-02-20"),
            _ts("2024-03-05"),
        ],  # user 4 signs up after AS_OF
        "age_band": ["25_34", None, "65_plus", "under_25"],
    }
)
# (purchase_id, user_id, created_at, purchased_at, returned_at, gross_revenue)
ROWS = [
    (10, 1, "2024-01-10", "2024-01-10 10:00", None, 100.0),
    (11, 1, "2024-02-20", "2024-02-20 08:00", "2024-02-25", 50.0),  # returned before AS_OF
    (12, 1, "2024-02-27", "2024-02-27 23:00", "2024-03-10", 30.0),  # returned after: not known
    (13, 2, "2024-02-28", None, None, 0.0),  # open cart
    (14, 2, "2024-02-29", "2024-03-02", None, 80.0),  # paid after AS_OF: open cart as of it
    (15, 3, "2024-03-03", "2024-03-03", None, 10.0),  # created after AS_OF: unseen
]
PURCHASES = pd.DataFrame(
    [
        {
            "purchase_id": p,
            "user_id": u,
            "created_at": _ts(c),
            "purchased_at": _ts(b),
            "returned_at": _ts(r),
            "gross_revenue": g,
        }
        for p, u, c, b, r, g in ROWS
    ]
)
