"""Check a Helm values file against a chart's key structure (tests/deploy/fixtures/*-keys.json).

The fixtures are trimmed copies of each chart's own values (or values schema): a key maps to
``null`` (a value), ``"*"`` (a free-form map or Kubernetes object the chart passes through) or
a nested map; ``"[]"`` holds the keys of a list's items. A misspelt key is otherwise silently
ignored by Helm, so the platform would run without the setting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FREE_FORM = "*"
ITEMS = "[]"


def chart_keys(chart: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{chart}-values-keys.json").read_text())["keys"]


def unknown_keys(values: Any, keys: Any, path: str = "") -> list[str]:
    """Key paths of ``values`` the chart does not define."""
    if keys == FREE_FORM or keys is None:
        return []  # a leaf value or a free-form subtree: anything below is the chart's input
    if isinstance(values, list):
        item_keys = keys.get(ITEMS) if isinstance(keys, dict) else None
        if item_keys is None:
            return []
        return [p for i, v in enumerate(values) for p in unknown_keys(v, item_keys, f"{path}[{i}]")]
    if not isinstance(values, dict):
        return []
    problems = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in keys:
            problems.append(where)
        else:
            problems += unknown_keys(value, keys[key], where)
    return problems
