"""A writer's hold on its own batch: a reason no row-level check can see, such as a source
schema that breaks its contract, put in the write's snapshot properties.

The audit treats a held batch as failed as a whole: every row goes to quarantine under the
hold's rule and ``main`` does not move, whatever the asset's policy. The hold travels with the
write request into the quarantine, and a replay releases the batch only when its caller says
the reason is gone (the contract was updated, say).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HOLD_PROPERTY = "lakehouse.wap.hold"


@dataclass(frozen=True)
class Hold:
    rule: str
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"rule": self.rule, "reason": self.reason, "details": dict(self.details)},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Hold:
        data = json.loads(text)
        return cls(str(data["rule"]), str(data["reason"]), dict(data.get("details") or {}))


def hold_of(properties: Mapping[str, str]) -> Hold | None:
    """The hold a write's snapshot properties carry, if any."""
    text = properties.get(HOLD_PROPERTY)
    return None if text is None else Hold.from_json(text)


def request_hold(request_json: str | None) -> Hold | None:
    """The hold recorded in a write request's JSON (as the quarantine keeps it)."""
    if request_json is None:
        return None
    properties = json.loads(request_json).get("snapshot_properties") or {}
    return hold_of(properties)
