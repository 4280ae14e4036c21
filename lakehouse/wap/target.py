"""What a blocking check audits: the IO manager hands it over as the check's input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, BooleanExpression

from lakehouse.governance.audit.store import AuditStore
from lakehouse.wap.policy import WapPolicy

# Check-spec metadata marking the one check per asset that audits its branch and publishes it.
GATE_KEY = "lakehouse/wap_gate"


@dataclass(frozen=True)
class AuditTarget:
    """One table's audit in one run. ``branch`` is None when the run staged nothing for the
    table (the check ran alone, or the asset opted out): the audit then only validates main."""

    catalog: Catalog
    identifier: tuple[str, ...]
    branch: str | None
    run_id: str
    policy: WapPolicy = field(default_factory=WapPolicy)
    row_filter: BooleanExpression = field(default_factory=AlwaysTrue)
    commit_timeout_seconds: float = 120.0
    # Opens the audit trail the gate records its quarantines in (None: not recorded).
    audit_trail: Callable[[], AuditStore] | None = None

    @property
    def name(self) -> str:
        return ".".join(self.identifier)
