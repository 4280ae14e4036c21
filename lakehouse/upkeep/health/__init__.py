"""Table health: files, small-file ratio, snapshots and upkeep ages per table, for the UI and
Prometheus (``table_health.py``)."""
