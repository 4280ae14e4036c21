"""Audit branches as Spark writes them: the identifiers and SQL of a write-audit-publish write.

Spark commits a run's rows to the run's audit branch, never to ``main``; the lakehouse's
blocking check then audits the branch and fast-forwards ``main`` with pyiceberg, whichever
engine wrote (``lakehouse/wap/audit.py``). Pure string building, no pyspark import, so the
statements are tested without Iceberg's Spark runtime (this machine has none).

The names mirror ``lakehouse.iceberg.branches`` and ``lakehouse.iceberg.write_request``: the
Spark image ships this directory alone, so they are written twice and ``tests/spark`` holds them
equal.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

AUDIT_PREFIX = "audit/"  # lakehouse.iceberg.branches.AUDIT_PREFIX
# Iceberg's Spark catalog reads a last identifier part ``branch_<name>`` as the branch to use.
BRANCH_PART_PREFIX = "branch_"
# lakehouse.iceberg.write_request.REQUEST_PROPERTY: the write as the audit re-applies it (a
# rebase on a newer main, or the good rows only); without it the audit cannot tell the batch from
# the rest.
REQUEST_PROPERTY = "lakehouse.write-request"

Window = tuple[dt.datetime, dt.datetime]


def audit_branch(run_id: str) -> str:
    """The audit branch of one run, named as ``lakehouse.iceberg.branches.audit_branch`` does."""
    return f"{AUDIT_PREFIX}{run_id}"


def quote(part: str) -> str:
    """A backquoted identifier part: branch names hold ``/`` and run ids ``-``."""
    return "`" + part.replace("`", "``") + "`"


def branch_identifier(name: str, branch: str) -> str:
    """``lakehouse.staging.users`` + ``audit/r1`` -> ``lakehouse.staging.users.`branch_audit/r1```:
    what ``df.writeTo`` is given to commit to the branch instead of ``main``."""
    return f"{name}.{quote(BRANCH_PART_PREFIX + branch)}"


def start_branch_statements(name: str, branch: str) -> list[str]:
    """Restart ``branch`` at main's head, as ``lakehouse.iceberg.branches.start_branch`` does.

    Dropped first, so a retried step restarts its branch instead of writing on an earlier try.
    ``CREATE BRANCH`` takes main's current snapshot; while main has none (a new table) Iceberg
    commits an empty snapshot to the branch alone, so main stays empty until the publish.
    A branch named in the identifier must exist before the write (Iceberg's Spark catalog).
    """
    return [
        f"ALTER TABLE {name} DROP BRANCH IF EXISTS {quote(branch)}",
        f"ALTER TABLE {name} CREATE BRANCH {quote(branch)}",
    ]


def write_request_json(
    identifier: tuple[str, ...],
    *,
    partition_column: str | None,
    window: Window | None,
    properties: Mapping[str, str],
) -> str:
    """The request ``lakehouse.iceberg.write_request.WriteRequest.to_json`` gives for this write: an
    overwrite of the window (or of every row), same keys, same order."""
    bounds = [bound.isoformat() for bound in window] if window else None
    return json.dumps(
        {
            "identifier": list(identifier),
            "mode": "overwrite",
            "partition_column": partition_column,
            "window": bounds,
            "partition_label": None,
            "upsert_keys": [],
            "snapshot_properties": {k: v for k, v in properties.items() if k != REQUEST_PROPERTY},
        },
        sort_keys=True,
    )
