"""Read Airbyte streams with PyAirbyte and hand them back as Arrow IPC files plus state JSON.

Runs inside the isolated ``.venvs/pyairbyte`` environment as a subprocess of the raw asset,
never in the code location (PyAirbyte's pins clash with the main env, and ``import airbyte``
takes seconds). It imports nothing from ``lakehouse``: its only contract is two JSON files.

    python extract_worker.py REQUEST.json

REQUEST.json: {"connector": "source-faker", "executable": "/path/to/source-faker",
"config": {...}, "streams": ["users", ...], "state": {"users": <Airbyte state message>, ...},
"output_dir": "/tmp/...", "clock": "2026-06-15T12:00:00+00:00" or null}. It writes, in output_dir, ``<stream>.arrow`` per stream that has
records and ``result.json``: {"streams": {"users": {"records": 50, "file": "users.arrow" or
null, "state": <new state message> or null}}}. Columns are as PyAirbyte's DuckDB cache types
them (including ``_airbyte_raw_id``, ``_airbyte_extracted_at``, ``_airbyte_meta``); JSON
columns are written as text. The caller casts to its declared schema.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any


def extract(request: dict[str, Any]) -> dict[str, Any]:
    """Read the requested streams incrementally from the given state into Arrow files."""
    # Imported here so `--help`-style failures and syntax checks do not pay ~10 s of imports.
    import airbyte as ab
    import duckdb
    import pyarrow as pa
    from airbyte.caches import DuckDBCache
    from airbyte_protocol.models import AirbyteStateMessage

    out = Path(request["output_dir"])
    streams: list[str] = list(request["streams"])
    # local_executable: the connector lives in its own venv (airbyte-cdk<7), so PyAirbyte
    # never installs anything at run time.
    executable = request["executable"]
    if request.get("clock"):
        executable = _launcher_at(executable, request["clock"], out)
    source = ab.get_source(
        request["connector"],
        config=request["config"],
        local_executable=executable,
        streams=streams,
    )
    # A fresh cache per run: the lakehouse, not this cache, is the system of record for state.
    cache = DuckDBCache(db_path=out / "cache.duckdb", cache_dir=out / "cache")
    writer = cache.get_state_writer(source_name=source.name)
    for message in request.get("state", {}).values():
        writer.write_state(AirbyteStateMessage.model_validate(message))
    # skip_validation: PyAirbyte's check costs one more connector start (spec, ~4 s), and the
    # connector validates its config against the same spec itself, failing with a clear message.
    source.read(cache=cache, write_strategy="append", skip_validation=True)

    provider = cache.get_state_provider(source_name=source.name)
    states = {name: provider.get_stream_state(name, not_found=None) for name in streams}
    tables = {name: cache.processor.get_sql_table_name(name) for name in streams}
    schema = cache.schema_name
    cache.close()  # releases the DuckDB file so we can read it with plain duckdb below

    result: dict[str, Any] = {"connector": request["connector"], "streams": {}}
    connection = duckdb.connect(str(out / "cache.duckdb"), read_only=True)
    try:
        existing = {
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables where table_schema = ?", [schema]
            ).fetchall()
        }
        for name in streams:
            file, records = None, 0
            if tables[name] in existing:
                table = _read_table(connection, schema, tables[name])
                records = table.num_rows
                if records:
                    file = f"{name}.arrow"
                    with (
                        pa.OSFile(str(out / file), "wb") as sink,
                        pa.ipc.new_file(sink, table.schema) as ipc,
                    ):
                        ipc.write_table(table)
            result["streams"][name] = {
                "records": records,
                "file": file,
                "state": _state_json(states[name]),
            }
    finally:
        connection.close()
    return result


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


def _state_json(state: Any) -> dict[str, Any] | None:
    """The state message as JSON, without the per-run record counts Airbyte attaches to it."""
    if state is None:
        return None
    message = json.loads(state.model_dump_json(exclude_none=True))
    for stats in ("sourceStats", "destinationStats"):
        message.pop(stats, None)
    return message


def _read_table(connection: Any, schema: str, table: str) -> Any:
    """The cache table as Arrow; JSON columns cast to text so any Arrow reader understands them."""
    described = connection.execute(f'describe "{schema}"."{table}"').fetchall()
    columns = ", ".join(
        f'CAST("{name}" AS VARCHAR) AS "{name}"' if kind == "JSON" else f'"{name}"'
        for name, kind, *_ in described
    )
    return connection.execute(f'select {columns} from "{schema}"."{table}"').fetch_arrow_table()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} REQUEST.json", file=sys.stderr)
        return 2
    # google-cloud libraries that PyAirbyte imports warn about Python 3.11 on every start.
    warnings.filterwarnings("ignore", category=FutureWarning)
    started = time.monotonic()
    request = json.loads(Path(argv[1]).read_text())
    result = extract(request)
    result["seconds"] = round(time.monotonic() - started, 1)
    Path(request["output_dir"], "result.json").write_text(json.dumps(result))
    counts = ", ".join(f"{name}={item['records']}" for name, item in result["streams"].items())
    print(
        f"extracted {counts} from {request['connector']} in {result['seconds']} s", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
