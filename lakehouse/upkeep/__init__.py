"""Platform upkeep as scheduled asset jobs: a pure planner or executor per responsibility, and
thin Dagster wrappers (``assets.py``, ``backup_assets.py``, ``erasure_assets.py``, ``jobs.py``).

- ``rules.py``: per-table rules (target file size, snapshot retention, data retention, PII).
- ``compaction.py`` (+ ``rewrite.py``, ``file_reads.py``, ``group_writer.py``, ``engines.py``).
- ``reachability.py``: which files retained snapshots reach; ``expiry.py``, ``orphans.py``.
- ``backup.py``, ``backup_store.py``, ``catalog_backup.py``, ``restore.py``, ``restore_check.py``.
- ``retention.py``, ``erasure.py`` (+ ``erasure_requests.py``, ``erasure_replay.py``).
- ``health.py`` and ``metrics.py`` (Prometheus textfile); ``commands.py``: ``lakehouse restore``.
"""
