"""Run a command and measure its wall time and the peak memory of its whole process tree.

A layer's memory is not one process's: staging starts a Spark JVM under the Python process and
analytics a dbt subprocess, so ``ru_maxrss`` of the child alone would miss most of it. We sample
the summed RSS of the child and all its descendants from ``/proc`` (psutil is not installed
here) and also keep ``wait4``'s ``ru_maxrss``: the largest single process of the tree.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.2


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_tree_bytes: int  # sampled: the most the whole tree held at once
    peak_process_bytes: int  # wait4's ru_maxrss: the largest single process
    returncode: int
    stdout: str


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we listed it
            continue
        # The command name may contain spaces and parentheses: the ppid follows the last ")".
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(root: int) -> int:
    """The summed resident memory of ``root`` and every descendant, now."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_bytes(pid)
        stack.extend(children.get(pid, ()))
    return total


def run_measured(
    command: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None
) -> Measured:
    """Run ``command`` to completion (its stderr to ``log``), sampling its tree's memory."""
    started = time.perf_counter()
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            list(command),
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert process.stdout is not None
    stdout = process.stdout.read()  # the child prints little: reading to EOF cannot block it
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    done.set()
    sampler.join()
    return Measured(
        seconds=time.perf_counter() - started,
        peak_tree_bytes=peak,
        peak_process_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
        returncode=process.returncode,
        stdout=stdout,
    )
