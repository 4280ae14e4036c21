"""Platform upkeep as scheduled asset jobs, one room per duty; each room holds its pure planners
and executors and the thin asset that runs them (``<room>/assets.py``).

- ``compaction/``, ``snapshots/`` (expiry, orphans, audit branches), ``retention/``,
  ``backup/`` (backup, restore, restore check), ``erasure/`` (GDPR), ``health/``.
- Shared by the rooms: ``rules.py`` (per-table rules), ``storage.py`` (files under a URI),
  ``manifests.py``, ``metrics.py`` (Prometheus textfile), ``resource.py`` (the Dagster
  resource), ``asset.py`` (what every upkeep asset shares) and ``jobs.py`` (schedules, sizes).
- The operator commands (``lakehouse restore``, ``lakehouse erase``) are in ``lakehouse/cli/``.
"""
