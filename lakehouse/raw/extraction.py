"""Run an Airbyte connector and read its protocol output ourselves, so every record is counted.

The connector runs as ``<connector> read --config --catalog [--state]`` in its own venv
(``scripts/bootstrap-connectors.sh``); the code location never imports it. Its stdout goes line
by line through ``protocol.SyncReader``: no line that looks like a record can be taken for a log
line, which is how PyAirbyte lost records it could not parse; ``sync.assemble_sync`` then
turns what was read into batches and proves every record emitted is in one. Its log (stderr and
LOG messages) is kept under ``<home>/logs/`` and named in every failure, its own error first.

The connector lives in the caller's process group and dies with it (a parent-death signal), and
a temporary directory left by a killed run is removed at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.raw.batches import StreamBatch
from lakehouse.raw.protocol import SyncReader
from lakehouse.raw.streams import CONNECTOR, RawStream
from lakehouse.raw.sync import ExtractionError, Sync, assemble_sync
from lakehouse.settings import PREFIX, Settings

BOOTSTRAP = "scripts/bootstrap-connectors.sh"
WORKER_TIMEOUT_SECONDS = 30 * 60
TEMP_PREFIX = "lakehouse-airbyte-"
PR_SET_PDEATHSIG = 1

__all__ = [
    "BOOTSTRAP",
    "Connector",
    "ExtractionError",
    "StreamBatch",
    "Sync",
    "extract_streams",
    "faker_connector",
]


@dataclass(frozen=True)
class Connector:
    """Where the connector is, how it is configured, and where its logs go."""

    executable: Path
    config: Mapping[str, Any]
    name: str = CONNECTOR
    clock: dt.datetime | None = None  # the connector's "now"; None is the wall clock
    log_dir: Path | None = None  # None: the log is kept only while the sync runs


def faker_connector(settings: Settings) -> Connector:
    """source-faker as the embedded runtime runs it.

    ``always_updated=False``: once a stream has state, faker emits nothing more (with ``True`` it
    would re-emit every record with a new ``updated_at``). One process keeps ``seed`` reproducible:
    faker offsets the seed by worker-process number.
    """
    return Connector(
        executable=settings.faker_executable_path,
        config={
            "count": settings.faker_count,
            "seed": settings.faker_seed,
            "records_per_slice": 1000,
            "always_updated": False,
            "parallelism": 1,
        },
        clock=settings.faker_now,
        log_dir=settings.home_dir / "logs",
    )


def extract_streams(
    streams: Sequence[RawStream],
    states: Mapping[str, Mapping[str, Any]],
    connector: Connector,
    *,
    timeout_seconds: float = WORKER_TIMEOUT_SECONDS,
) -> Sync:
    """Read ``streams`` from ``states`` (stream name -> Airbyte state message) in one sync."""
    names = [stream.name for stream in streams]
    if not connector.executable.exists():
        raise ExtractionError(
            f"cannot extract {', '.join(names)} from {connector.name}: the connector is missing "
            f"at {connector.executable}. Run {BOOTSTRAP} to create the isolated Airbyte "
            "environments."
        )
    remove_abandoned_temp_dirs()
    started = dt.datetime.now(dt.UTC)
    out = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    try:
        log_path = _log_path(connector, out, started)
        command = _command(streams, states, connector, out)
        with log_path.open("w", encoding="utf-8", errors="backslashreplace") as log:
            reader = SyncReader(streams, started_at=started, log=lambda line: print(line, file=log))
            returncode, timed_out = _run(command, connector, out, reader, log, timeout_seconds)
        if timed_out or returncode != 0:
            what = f"timed out after {timeout_seconds:g} s" if timed_out else f"exited {returncode}"
            raise ExtractionError(_failure(connector, names, what, reader, log_path))
        return assemble_sync(
            reader,
            names,
            connector=connector.name,
            started=started,
            log=log_path if connector.log_dir else None,
            log_path=log_path,
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _log_path(connector: Connector, out: Path, started: dt.datetime) -> Path:
    if connector.log_dir is None:
        return out / "connector.log"
    connector.log_dir.mkdir(parents=True, exist_ok=True)
    return connector.log_dir / f"{connector.name}-{started:%Y%m%dT%H%M%S%fZ}.log"


def _command(
    streams: Sequence[RawStream],
    states: Mapping[str, Mapping[str, Any]],
    connector: Connector,
    out: Path,
) -> list[str]:
    catalog = {
        "streams": [
            {
                "stream": {
                    "name": stream.name,
                    "json_schema": {},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                },
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
                "cursor_field": [stream.cursor_field],
                "primary_key": [[key] for key in stream.primary_key],
            }
            for stream in streams
        ]
    }
    files: dict[str, Any] = {"config.json": dict(connector.config), "catalog.json": catalog}
    chosen = [dict(states[s.name]) for s in streams if s.name in states]
    if chosen:
        files["state.json"] = chosen
    for name, content in files.items():
        path = out / name
        path.write_text(json.dumps(content))
        path.chmod(0o600)  # the config may hold a source's credentials
    executable = str(connector.executable)
    if connector.clock is not None:
        executable = _launcher_at(executable, _utc(connector.clock).isoformat(), out)
    command = [executable, "read", "--config", str(out / "config.json")]
    command += ["--catalog", str(out / "catalog.json")]
    return command + (["--state", str(out / "state.json")] if chosen else [])


def _utc(instant: dt.datetime) -> dt.datetime:
    """A naive instant is read as UTC, so the connector's clock never depends on the host's zone."""
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def _launcher_at(executable: str, clock: str, out: Path) -> str:
    """A launcher running the connector's console script with its clock set to ``clock``.

    time-machine (installed in the connector's env) moves ``datetime.now`` and ``time.time``
    before the connector is imported, so source-faker's dates, which run from 2000 to "now",
    are the same on any day; the clock then ticks from there.
    """
    python = Path(executable).with_name("python")
    code = (
        "import runpy, sys, time_machine\n"
        f"time_machine.travel({clock!r}, tick=True).start()\n"
        f"sys.argv[0] = {executable!r}\n"
        f"runpy.run_path({executable!r}, run_name='__main__')\n"
    )
    launcher = out / "connector-at-clock"
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(str(python))} -c {shlex.quote(code)} "$@"\n')
    launcher.chmod(0o700)
    return str(launcher)


def _env(out: Path) -> dict[str, str]:
    """The connector's environment: no lakehouse settings or secrets, its own temp dir."""
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith(PREFIX)}
    return env | {"DO_NOT_TRACK": "1", "TMPDIR": str(out)}


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _run(
    command: list[str],
    connector: Connector,
    out: Path,
    reader: SyncReader,
    log: Any,
    timeout_seconds: float,
) -> tuple[int, bool]:
    timed_out = threading.Event()
    with subprocess.Popen(
        command,
        cwd=out,
        env=_env(out),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        preexec_fn=_die_with_parent,  # only a prctl: safe in a threaded parent
    ) as process:

        def stop() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                process.kill()

        timer = threading.Timer(timeout_seconds, stop)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                reader.feed(line)
            returncode = process.wait()
        except BaseException:
            process.kill()
            raise
        finally:
            timer.cancel()
    return returncode, timed_out.is_set()


def _failure(
    connector: Connector, names: Sequence[str], what: str, reader: SyncReader, log_path: Path
) -> str:
    """The connector's own error first (its TRACE or ERROR log), else the log's last error line."""
    cause = reader.connector_errors[0] if reader.connector_errors else _last_error(log_path)
    return (
        f"{connector.name} sync of {', '.join(names)} failed: {cause or 'no error message'} "
        f"(the connector {what}; full log: {log_path}). Check the connector's config (keys: "
        f"{', '.join(sorted(connector.config))}); if its environment is stale, run {BOOTSTRAP}."
    )


def _last_error(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line.strip()
    return lines[-1].strip() if lines else ""


def remove_abandoned_temp_dirs() -> None:
    """Temporary directories of syncs whose process is gone (killed mid-sync)."""
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        pid = path.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether a process of this id exists on this host (of any user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
