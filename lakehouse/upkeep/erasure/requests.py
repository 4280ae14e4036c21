"""GDPR erasure requests waiting for the scheduled erasure job (``lakehouse erase --queue``).

A request is one small JSON file outside the warehouse; it holds the subject's id in clear only
until the job has erased the subject, then it is deleted (the audit table keeps a sha256).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass

from lakehouse.upkeep.storage import Storage, join


@dataclass(frozen=True)
class ErasureRequest:
    subject_id: str
    requested_by: str
    requested_at: str


def submit(storage: Storage, root: str, subject_id: str, requested_by: str) -> str:
    now = dt.datetime.now(dt.UTC)
    request = ErasureRequest(subject_id, requested_by, now.isoformat())
    uri = join(root, f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json")
    storage.write_bytes(uri, json.dumps(asdict(request)).encode())
    return uri


def pending(storage: Storage, root: str) -> list[tuple[str, ErasureRequest]]:
    """Requests oldest first, with the URI to delete once done."""
    entries = sorted(e.uri for e in storage.list(root) if e.uri.endswith(".json"))
    return [(uri, ErasureRequest(**json.loads(storage.read_bytes(uri)))) for uri in entries]
