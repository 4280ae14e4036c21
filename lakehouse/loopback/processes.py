"""Plain processes with a pid file, a log and a health check; stopped by process group.

Each service runs in its own session (``setsid``), so one signal reaches every process a
launch script started. The pid file records the process's start time too: a pid reused by an
unrelated process after a reboot is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.loopback.layout import HOST, Layout, LoopbackError


@dataclass(frozen=True)
class Launch:
    """How to start one service and how to tell it is ready."""

    name: str
    argv: list[str]
    ports: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    timeout_seconds: float = 300.0


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # exited, not yet reaped: gone for our purposes
        _reap(pid)
        return None
    return fields[19]  # field 22: start time in clock ticks


def running_pid(layout: Layout, name: str) -> int | None:
    """The pid of ``name`` if the process it recorded still runs, else None."""
    pid_file = layout.pid_file(name)
    if not pid_file.exists():
        return None
    pid_text, _, started = pid_file.read_text().partition(" ")
    pid = int(pid_text)
    return pid if _start_time(pid) == started.strip() else None


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


# The fixed ports lie in Linux's ephemeral range: a client connection (a test suite's, say) can
# hold one as its local port for a while, or leave it in TIME_WAIT for 60 s. Nothing listens
# there, so the port frees itself: wait for it rather than fail.
TRANSIENT_WAIT_S = 90.0


def check_ports(layout: Layout, launch: Launch, wait_s: float = TRANSIENT_WAIT_S) -> None:
    for port_name in launch.ports:
        port = layout.ports[port_name]
        deadline = time.monotonic() + wait_s
        while not port_free(port):
            if port_open(port) or time.monotonic() >= deadline:
                raise LoopbackError(
                    f"{launch.name}: port {port} on {HOST} is in use by another process; stop "
                    f"it or set LOOPBACK_{port_name.upper()}_PORT"
                )
            time.sleep(1)


def start(layout: Layout, launch: Launch) -> int:
    """Start ``launch`` detached, its output appended to its log; returns the pid."""
    with layout.log_file(launch.name).open("ab") as log:
        process = subprocess.Popen(
            launch.argv,
            env={**_base_env(), **launch.env},
            cwd=launch.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    layout.pid_file(launch.name).write_text(f"{process.pid} {_start_time(process.pid)}\n")
    return process.pid


def _base_env() -> dict[str, str]:
    # Secrets reach services through their own env only, never from this process's LAKEHOUSE_*.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    return {key: os.environ[key] for key in keep if key in os.environ}


def wait_ready(layout: Layout, launch: Launch, pid: int) -> None:
    """Poll the health check until it passes; the process dying or the timeout is one line."""
    deadline = time.monotonic() + launch.timeout_seconds
    while time.monotonic() < deadline:
        if running_pid(layout, launch.name) != pid:
            raise LoopbackError(
                f"{launch.name} exited during start; see {layout.log_file(launch.name)}"
            )
        try:
            if launch.ready():
                return
        except OSError:
            pass
        time.sleep(1)
    raise LoopbackError(
        f"{launch.name} not ready after {launch.timeout_seconds:.0f} s; see "
        f"{layout.log_file(launch.name)}"
    )


def stop(layout: Layout, name: str, grace_seconds: float = 30.0) -> bool:
    """TERM the service's process group, KILL it after the grace period; True if one ran."""
    pid = running_pid(layout, name)
    if pid is None:
        layout.pid_file(name).unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and _start_time(pid) is not None:
        _reap(pid)
        time.sleep(0.3)
    if _start_time(pid) is not None:
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
        _reap(pid)
    layout.pid_file(name).unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    # A child of this process (started by the same `up` that now stops it) stays a zombie,
    # still listed in /proc, until reaped.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
