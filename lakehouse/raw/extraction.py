"""Run ``extract_worker.py`` in the isolated PyAirbyte env and read back its Arrow files and state.

The code location never imports ``airbyte``: PyAirbyte pins duckdb, pandas and pyarrow versions
the main env cannot share, and the connector needs an airbyte-cdk PyAirbyte cannot share.
Each runs in its own venv (``scripts/bootstrap-connectors.sh``); this module is the boundary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakehouse.raw.normalise import normalise
from lakehouse.raw.streams import CONNECTOR, RawStream
from lakehouse.settings import PREFIX, Settings

WORKER = Path(__file__).with_name("extract_worker.py")
BOOTSTRAP = "scripts/bootstrap-connectors.sh"
WORKER_TIMEOUT_SECONDS = 30 * 60
TAIL_LINES = 40


class ExtractionError(RuntimeError):
    """The worker failed; the message names the streams, the connector and how to fix it."""


@dataclass(frozen=True)
class StreamBatch:
    """New records of one stream since the given state, and the state after them."""

    stream: RawStream
    table: pa.Table
    state: dict[str, Any] | None
    unexpected_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Connector:
    """Where the isolated envs are and how the connector is configured."""

    python: Path
    executable: Path
    config: Mapping[str, Any]
    name: str = CONNECTOR
    clock: dt.datetime | None = None  # the connector's "now"; None is the wall clock


def faker_connector(settings: Settings) -> Connector:
    """source-faker as the embedded runtime runs it.

    ``always_updated=False``: once a stream has state, faker emits nothing more (with ``True`` it
    would re-emit every record with a new ``updated_at``). One process keeps ``seed`` reproducible:
    faker offsets the seed by worker-process number.
    """
    return Connector(
        python=settings.pyairbyte_python_path,
        executable=settings.faker_executable_path,
        config={
            "count": settings.faker_count,
            "seed": settings.faker_seed,
            "records_per_slice": 1000,
            "always_updated": False,
            "parallelism": 1,
        },
        clock=settings.faker_now,
    )


def extract_streams(
    streams: Sequence[RawStream],
    states: Mapping[str, Mapping[str, Any]],
    connector: Connector,
    *,
    timeout_seconds: float = WORKER_TIMEOUT_SECONDS,
) -> dict[str, StreamBatch]:
    """Read ``streams`` from ``states`` (stream name -> Airbyte state message) in one worker run."""
    names = [stream.name for stream in streams]
    _check_installed(connector, names)
    with tempfile.TemporaryDirectory(prefix="lakehouse-airbyte-") as tmp:
        out = Path(tmp)
        request = {
            "connector": connector.name,
            "executable": str(connector.executable),
            "config": dict(connector.config),
            "streams": names,
            "state": {name: dict(states[name]) for name in names if name in states},
            "output_dir": str(out),
            "clock": None if connector.clock is None else _utc(connector.clock).isoformat(),
        }
        (out / "request.json").write_text(json.dumps(request))
        result = _run_worker(connector, names, out, timeout_seconds)
        return {
            stream.name: _batch(stream, result["streams"][stream.name], out) for stream in streams
        }


def _utc(instant: dt.datetime) -> dt.datetime:
    """A naive instant is read as UTC, so the connector's clock never depends on the host's zone."""
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def _check_installed(connector: Connector, names: Sequence[str]) -> None:
    for what, path in (
        ("PyAirbyte python", connector.python),
        (connector.name, connector.executable),
    ):
        if not path.exists():
            raise ExtractionError(
                f"cannot extract {', '.join(names)} from {connector.name}: the {what} is missing at "
                f"{path}. Run {BOOTSTRAP} to create the isolated Airbyte environments."
            )


def _worker_env(connector: Connector, out: Path) -> dict[str, str]:
    """The worker's environment: offline PyAirbyte, logs in the run's temp dir, no lakehouse secrets."""
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith(PREFIX)}
    return env | {
        "AIRBYTE_OFFLINE_MODE": "1",  # no registry look-ups, no telemetry
        "DO_NOT_TRACK": "1",
        "NO_LIVE_PROGRESS": "1",
        "AIRBYTE_PRINT_FULL_ERROR_LOGS": "1",  # connector errors reach the stderr we capture
        "AIRBYTE_LOGGING_ROOT": str(out / "logs"),
        "AIRBYTE_PROJECT_DIR": str(out),
        # PyAirbyte shells out to `uv`; its env ships one next to its python.
        "PATH": os.pathsep.join([str(connector.python.parent), env.get("PATH", "")]),
    }


def _run_worker(
    connector: Connector, names: Sequence[str], out: Path, timeout_seconds: float
) -> dict[str, Any]:
    log_path = out / "worker.log"
    command = [str(connector.python), "-I", str(WORKER), str(out / "request.json")]
    # Own session, so a timeout or a cancelled run stops the connector processes too.
    with (
        log_path.open("wb") as log,
        subprocess.Popen(
            command,
            cwd=out,
            env=_worker_env(connector, out),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ) as process,
    ):
        try:
            returncode = process.wait(timeout=timeout_seconds)
        except BaseException as error:
            with contextlib.suppress(ProcessLookupError):  # it may have just ended
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if isinstance(error, subprocess.TimeoutExpired):
                what = f"timed out after {timeout_seconds:g} s"
                raise ExtractionError(_failure(connector, names, what, log_path)) from None
            raise
    result_path = out / "result.json"
    if returncode != 0 or not result_path.exists():
        raise ExtractionError(
            _failure(connector, names, f"exited with code {returncode}", log_path)
        )
    return json.loads(result_path.read_text())


def _failure(connector: Connector, names: Sequence[str], what: str, log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    tail = "\n".join(lines[-TAIL_LINES:]) or "(no output)"
    return (
        f"extracting stream(s) {', '.join(names)} from {connector.name} failed: the PyAirbyte "
        f"worker {what}. If the environments are missing or stale, run {BOOTSTRAP}; otherwise "
        f"the connector or its config (keys: {', '.join(sorted(connector.config))}) is at "
        "fault; its own log is in the output below.\n"
        f"--- worker output (last {TAIL_LINES} lines) ---\n{tail}"
    )


def _batch(stream: RawStream, item: Mapping[str, Any], out: Path) -> StreamBatch:
    if item["file"] is None:
        table = stream.schema.empty_table()
        return StreamBatch(stream, table, item["state"])
    with pa.OSFile(str(out / item["file"]), "rb") as source:  # read into memory, not mapped:
        raw = pa.ipc.open_file(source).read_all()  # the table outlives the temp dir
    normalised = normalise(raw, stream.schema, stream=stream.name)
    return StreamBatch(stream, normalised.table, item["state"], normalised.unexpected_columns)
