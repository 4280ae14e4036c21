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
import datetime as dt
import os
import re
import shutil
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


# A Dagster event line of the engines' log: "2026-12-04 05:31:52 +0000 - dagster - DEBUG - job -
# run id - pid - [step -] EVENT - message".
_EVENT = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000) - dagster - \w+ - \S+ - [\w-]+ - \d+ - "
    r"(?:(\S+) - )?(RUN_START|RUN_SUCCESS|RUN_FAILURE|STEP_START|STEP_SUCCESS|STEP_FAILURE) - "
)


def step_seconds(log_lines: list[str]) -> list[tuple[str, float]]:
    """Where a demo's time went, from its engines' log: each step's duration, and the gap
    before each run after the first (planning the months, creating the run)."""
    spans: list[tuple[str, float]] = []
    started: dict[str, dt.datetime] = {}
    last_run_end: dt.datetime | None = None
    for line in log_lines:
        if not (match := _EVENT.match(line)):
            continue
        stamp, step, kind = match.groups()
        at = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z")
        if kind == "RUN_START" and last_run_end is not None:
            spans.append(("(before the run)", (at - last_run_end).total_seconds()))
        elif kind in ("RUN_SUCCESS", "RUN_FAILURE"):
            last_run_end = at
        elif kind == "STEP_START" and step:
            started[step] = at
        elif step in started:
            spans.append((step, (at - started.pop(step)).total_seconds()))
    return spans


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
    logs = clone / ".lakehouse" / "logs"
    before = set(logs.glob("demo-*.log"))
    seconds, lines = _timed(["make", "demo"], clone)
    stages = stage_seconds(lines)
    print(f"{name} demo: {seconds:.1f} s")
    for label, spent in stages.items():
        print(f"  {label:<12}{spent:>8.1f} s")
    print(f"  {'start-up':<12}{seconds - sum(stages.values()):>8.1f} s")
    for log in sorted(set(logs.glob("demo-*.log")) - before):
        for step, spent in step_seconds(log.read_text(errors="replace").splitlines()):
            print(f"    {step:<44}{spent:>8.1f} s")
    return {"total": seconds, **stages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git repository to clone")
    parser.add_argument(
        "--keep-logs",
        type=Path,
        help="copy the demos' engine logs (.lakehouse/logs/, each step's start and end) here",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lakehouse-demo-") as tmp:
        clone = Path(tmp) / "lakehouse"
        subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
        install, _ = _timed(["make", "setup"], clone)
        print(f"install (make setup): {install:.1f} s")
        first = _demo(clone, "first")
        second = _demo(clone, "second")
        if args.keep_logs:
            shutil.copytree(clone / ".lakehouse" / "logs", args.keep_logs, dirs_exist_ok=True)
    first_total = install + first["total"]
    print(f"first demo, install included: {first_total:.1f} s (target <= {FIRST_TARGET:.0f} s)")
    print(f"second demo: {second['total']:.1f} s (target <= {SECOND_TARGET:.0f} s)")
    return 0 if first_total <= FIRST_TARGET and second["total"] <= SECOND_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
