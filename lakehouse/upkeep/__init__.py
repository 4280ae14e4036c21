"""Platform upkeep: compaction, snapshot expiry, orphan removal, backups and restore checks,
retention, GDPR erasure and table health, each a pure planner plus a thin Dagster job.

Modules hold one responsibility each; ``jobs.py`` wraps them as scheduled asset jobs.
"""
