"""Reliability figures: run tests/reliability and print what was tried and what survived.

    .venv/bin/python bench/reliability.py            # CI-sized counts (as `make test` runs them)
    RELIABILITY_SCALE=5 .venv/bin/python bench/reliability.py   # five times the trials

Counts come from the tests themselves (tests/reliability/reliability_counts.py): SIGKILLs tried
and survived, hostile batches fuzzed and escapes, commits attempted and landed, outages injected
and recovered, secrets planted and leaked. The exit code is pytest's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lakehouse-reliability-") as tmp:
        report = Path(tmp) / "counts.json"
        env = {**os.environ, "RELIABILITY_REPORT": str(report)}
        started = time.monotonic()
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/reliability",
        ]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
        seconds = time.monotonic() - started
        if not report.exists():
            print("no counts were recorded (did the tests run?)", file=sys.stderr)
            return result.returncode or 1
        data = json.loads(report.read_text())
    print(
        f"\nreliability (scale {data['scale']:g}, {seconds:.0f} s, pytest exit {result.returncode})"
    )
    for section, measures in data["counts"].items():
        print(f"  {section}")
        for measure, count in measures.items():
            print(f"    {measure:<45} {count:>7}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
