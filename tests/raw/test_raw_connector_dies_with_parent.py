"""The connector never outlives the process that runs the sync: a SIGKILLed Dagster run (or
``lakehouse demo``) takes it along, and its temporary directory goes at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lakehouse.raw.extraction import TEMP_PREFIX, remove_abandoned_temp_dirs

# A connector waiting on its source (it writes nothing, so no broken pipe would stop it).
SYNC = """
import sys, tempfile
from pathlib import Path
tempfile.tempdir = sys.argv[1]
from lakehouse.raw.extraction import Connector, extract_streams
from lakehouse.raw.streams import STREAMS
extract_streams(STREAMS, {}, Connector(Path(sys.argv[2]), {}))
"""
WAITING = "#!/bin/sh\nexec {python} -c 'import time; time.sleep(600)' \"$@\"\n"


def _connectors(marker: Path) -> list[int]:
    found = subprocess.run(["pgrep", "-f", str(marker)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_killed_sync_takes_its_connector_along_and_its_files_go_next_time(tmp_path):
    connector = tmp_path / "waiting-source"
    connector.write_text(WAITING.format(python=sys.executable))
    connector.chmod(0o700)
    sync = subprocess.Popen([sys.executable, "-c", SYNC, str(tmp_path), str(connector)])
    deadline = time.monotonic() + 120
    while not _connectors(tmp_path / TEMP_PREFIX) and time.monotonic() < deadline:
        time.sleep(0.5)  # wait until the connector reads (its config is in the temp dir)
    assert _connectors(tmp_path / TEMP_PREFIX), "the connector never started"
    os.kill(sync.pid, signal.SIGKILL)
    sync.wait()
    deadline = time.monotonic() + 30
    while _connectors(tmp_path / TEMP_PREFIX) and time.monotonic() < deadline:
        time.sleep(0.2)
    survivors = _connectors(tmp_path / TEMP_PREFIX)
    for pid in survivors:  # never leave this test's own connector behind
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    left = list(tmp_path.glob(f"{TEMP_PREFIX}*"))
    assert len(left) == 1  # SIGKILL leaves no chance to clean up...
    original, tempfile.tempdir = tempfile.tempdir, str(tmp_path)
    try:
        remove_abandoned_temp_dirs()  # ...the next sync's start does
    finally:
        tempfile.tempdir = original
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*")) == []
