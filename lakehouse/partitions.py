"""The partitions every time-partitioned asset shares, defined once so their runs line up.

source-faker draws ``created_at`` with mimesis ``Datetime().datetime()``, whose default range is
years 2000 to the current year, so the first day with data is 2000-01-01. ``end_offset=1`` adds
today's partition, which keeps filling until midnight UTC. mimesis also draws days later this
year: those rows belong to no partition until their day comes.
"""

from __future__ import annotations

import dagster as dg

FIRST_DAY = "2000-01-01"

DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1, timezone="UTC")
