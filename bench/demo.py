"""The first and the second ``make demo`` on a fresh clone: wall time and where it goes.

Issue 17's targets: the first demo (install included, package cache warm) in at most 4 min
on a 2-core machine, the second in at most 1 min. The committed HEAD of ``--repo`` is cloned
into a temporary directory, then ``make setup`` (the install: the lakehouse's venv, the
connector's venv, the dbt manifest) and ``make demo`` run there twice, with no LAKEHOUSE_* or
DAGSTER_HOME variable of the caller. The stages come from the demo's own lines
(``✓ [1/3] raw ... 25.1 s``); "start-up" is the rest of the command's time (Python, loading the
code location, the final table).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_TARGET, SECOND_TARGET = 240.0, 60.0
# The demo's stage line: "✓ [2/3] transforms  <what>  <outcome>  1 min 05 s".
_STAGE = re.compile(r"^[✓✗] \[\d/\d\] (\S+) .*?(?:(\d+) min (\d+) s|([\d.]+) s)$")


def stage_seconds(lines: list[str]) -> dict[str, float]:
    """Each stage's duration as the demo printed it."""
    stages = {}
    for line in lines:
        if match := _STAGE.match(line.strip()):
            label, minutes, seconds, short = match.groups()
            stages[label] = float(short) if short else int(minutes) * 60 + int(seconds)
    return stages


def _clean_env() -> dict[str, str]:
    drop = ("LAKEHOUSE_", "DAGSTER_HOME", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _timed(command: list[str], cwd: Path) -> tuple[float, list[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=_clean_env(), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds, done.stdout.splitlines()


def _demo(clone: Path, name: str) -> dict[str, float]:
    seconds, lines = _timed(["make", "demo"], clone)
    stages = stage_seconds(lines)
    print(f"{name} demo: {seconds:.1f} s")
    for label, spent in stages.items():
        print(f"  {label:<12}{spent:>8.1f} s")
    print(f"  {'start-up':<12}{seconds - sum(stages.values()):>8.1f} s")
    return {"total": seconds, **stages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git repository to clone")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lakehouse-demo-") as tmp:
        clone = Path(tmp) / "lakehouse"
        subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
        install, _ = _timed(["make", "setup"], clone)
        print(f"install (make setup): {install:.1f} s")
        first = _demo(clone, "first")
        second = _demo(clone, "second")
    first_total = install + first["total"]
    print(f"first demo, install included: {first_total:.1f} s (target <= {FIRST_TARGET:.0f} s)")
    print(f"second demo: {second['total']:.1f} s (target <= {SECOND_TARGET:.0f} s)")
    return 0 if first_total <= FIRST_TARGET and second["total"] <= SECOND_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
