"""What the reliability tests tried and what survived, tallied for the report.

Each test adds its counts here; the conftest prints them at the end of the session and, when
``RELIABILITY_REPORT`` names a file, writes them there as JSON (``bench/reliability.py`` reads
it). ``RELIABILITY_SCALE`` multiplies the trial counts (CI uses the defaults). Neither variable
starts with ``LAKEHOUSE_``: the settings refuse unknown ``LAKEHOUSE_*`` names.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path

SCALE_ENV = "RELIABILITY_SCALE"
REPORT_ENV = "RELIABILITY_REPORT"

# (section, measure) -> count, summed over the tests of the session.
COUNTS: dict[tuple[str, str], int] = defaultdict(int)


def scale() -> float:
    return max(float(os.environ.get(SCALE_ENV) or 1), 0.01)


def scaled(default: int, minimum: int = 1) -> int:
    """``default`` times the scale, never below ``minimum`` (the issue's floors)."""
    return max(minimum, math.ceil(default * scale()))


def add(section: str, measure: str, count: int = 1) -> None:
    COUNTS[(section, measure)] += count


def as_dict() -> dict[str, dict[str, int]]:
    report: dict[str, dict[str, int]] = defaultdict(dict)
    for (section, measure), count in sorted(COUNTS.items()):
        report[section][measure] = count
    return dict(report)


def lines() -> list[str]:
    return [
        f"{section}: " + ", ".join(f"{measure} {count}" for measure, count in measures.items())
        for section, measures in as_dict().items()
    ]


def write_report() -> Path | None:
    target = os.environ.get(REPORT_ENV)
    if not target or not COUNTS:
        return None
    path = Path(target)
    path.write_text(json.dumps({"scale": scale(), "counts": as_dict()}, indent=2))
    return path
