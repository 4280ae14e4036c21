"""The audit trail (seed §5.1): one append-only, hash-chained store, and what records into it."""

from lakehouse.governance.audit.chain import AuditRecord, StoredRecord, Verification
from lakehouse.governance.audit.configured import audit_store
from lakehouse.governance.audit.store import AuditStore, AuditStoreError

__all__ = [
    "AuditRecord",
    "AuditStore",
    "AuditStoreError",
    "StoredRecord",
    "Verification",
    "audit_store",
]
