#!/usr/bin/env bash
# Rerun the date-sensitive tests (marker `clock`) at instants where calendars bite: a leap day,
# the last minutes of a year in UTC, and a year ahead of today. Each run pins the test process
# and the faker connector at that instant (tests/conftest.py), so a verdict that changes with
# the date fails here rather than on the day it happens. CI runs it after the suite.
#
#   scripts/date-guard.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

ahead="$(.venv/bin/python -c 'import datetime as d; print((d.datetime.now(d.UTC) + d.timedelta(days=400)).replace(hour=12, minute=0, second=0, microsecond=0).isoformat())')"
# Hours from midnight, not minutes: a whole-graph run must not cross into the next day.
instants=("2028-02-29T12:00:00+00:00" "2027-12-31T22:00:00+00:00" "$ahead")

status=0
for instant in "${instants[@]}"; do
    echo "date-guard: the clock tests at $instant"
    if ! TEST_NOW="$instant" .venv/bin/pytest -m clock -q -p no:cacheprovider "$@"; then
        echo "date-guard: FAILED at $instant (rerun: TEST_NOW=$instant .venv/bin/pytest -m clock)"
        status=1
    fi
done
exit $status
