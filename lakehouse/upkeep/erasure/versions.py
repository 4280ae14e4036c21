"""When the erased files are really gone (seed §5.2 with versioned buckets, deploy/ lifecycle).

Erasure deletes the files that held a subject, but a versioned bucket keeps each as a
noncurrent version until the lifecycle rule expires it. This check lists the object versions
of every erased file of each erasure in the audit trail not yet closed, and appends one
``gdpr.erasure.versions_gone`` row once none remains: the time the data left the disks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lakehouse.governance.audit.chain import AuditRecord
from lakehouse.governance.audit.store import AuditStore

ERASURE_ACTION = "gdpr.erasure"
GONE_ACTION = "gdpr.erasure.versions_gone"

# How many stored versions of a file remain (delete markers hold no data and do not count).
CountVersions = Callable[[str], int]


@dataclass(frozen=True)
class PendingErasure:
    request_id: str
    subject_sha256: str
    files: tuple[str, ...]


def pending_erasures(audit: AuditStore) -> list[PendingErasure]:
    """Erasures recorded in the audit trail whose files were not yet all seen gone."""
    rows = [stored.record for stored in audit.list(object="gdpr")]
    closed = {str(r.details.get("request_id")) for r in rows if r.action == GONE_ACTION}
    pending = []
    for record in rows:
        request_id = str(record.details.get("request_id"))
        if record.action != ERASURE_ACTION or request_id in closed:
            continue
        tables: Mapping[str, Any] = record.details.get("tables", {})
        files = sorted({f for done in tables.values() for f in done.get("deleted_files", [])})
        pending.append(PendingErasure(request_id, record.details["subject_sha256"], tuple(files)))
    return pending


def s3_version_counter(properties: Mapping[str, str]) -> CountVersions:
    """Counts versions through the S3 API with the warehouse's endpoint and keys; a local file
    (the embedded runtime keeps no versions) counts 1 while it exists."""
    clients: list[Any] = []  # made on the first S3 file: the embedded runtime needs none

    def s3() -> Any:
        if not clients:
            import boto3

            clients.append(
                boto3.client(
                    "s3",
                    endpoint_url=properties.get("s3.endpoint"),
                    region_name=properties.get("s3.region"),
                    aws_access_key_id=properties.get("s3.access-key-id"),
                    aws_secret_access_key=properties.get("s3.secret-access-key"),
                )
            )
        return clients[0]

    def count(uri: str) -> int:
        parsed = urlparse(uri)
        if parsed.scheme not in ("s3", "s3a", "s3n"):
            return int(Path(parsed.path if parsed.scheme == "file" else uri).exists())
        key = parsed.path.lstrip("/")
        paginator = s3().get_paginator("list_object_versions")
        found = 0
        for page in paginator.paginate(Bucket=parsed.netloc, Prefix=key):
            found += sum(1 for v in page.get("Versions", []) if v["Key"] == key)
        return found

    return count


def record_versions_gone(
    audit: AuditStore,
    count_versions: CountVersions,
    *,
    run_id: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Close each pending erasure whose files have no version left; the versions still
    stored, by request id, for those that stay open."""
    left: dict[str, int] = {}
    records = []
    for erasure in pending_erasures(audit):
        remaining = sum(count_versions(uri) for uri in erasure.files)
        if remaining:
            left[erasure.request_id] = remaining
            continue
        records.append(_gone(erasure, run_id, now or dt.datetime.now(dt.UTC)))
    audit.append(records)
    return left


def _gone(erasure: PendingErasure, run_id: str | None, at: dt.datetime) -> AuditRecord:
    return AuditRecord(
        action=GONE_ACTION,
        object="gdpr",
        actor="service:lakehouse-upkeep",
        at=at,
        run_id=run_id,
        details={
            "request_id": erasure.request_id,
            "subject_sha256": erasure.subject_sha256,
            "files": len(erasure.files),
        },
        key=f"erasure-gone:{erasure.request_id}",
    )
