"""The ``dagster dev`` the UI tests drive: its GraphQL, its start-up wait, its stop.

Apart from conftest.py, which holds the fixtures, so each file is about one thing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The code location imports dagster-dbt, pyiceberg and the raw layer: about a minute on a loaded
# 2-core machine before the webserver serves its assets.
STARTUP_TIMEOUT_SECONDS = 300
STOP_TIMEOUT_SECONDS = 30
LOCATION_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


@dataclass(frozen=True)
class Webserver:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def graphql(self, query: str, timeout: float = 30) -> dict[str, Any]:
        """POST ``query`` to ``/graphql``; the ``data`` of a response without errors."""
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.load(response)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes of the group, as ``pid command`` lines."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        # comm is in parentheses and may hold spaces: the fields after the last ")" are fixed.
        state, _ppid, group = text.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append(f"{stat.parent.name} {text.split('(', 1)[1].rsplit(')', 1)[0]}")
    return members


def _wait_for_group_exit(pgid: int, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while (members := _group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return members


def stop(process: subprocess.Popen[bytes]) -> None:
    """TERM the whole group (webserver, daemon, code server), KILL what outlives the grace time."""
    pgid = process.pid  # start_new_session: the leader's pid is the group id
    if process.poll() is None:
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    if _wait_for_group_exit(pgid, STOP_TIMEOUT_SECONDS):
        print(f"dagster dev outlived TERM by {STOP_TIMEOUT_SECONDS} s: KILL")
        os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    left = _wait_for_group_exit(pgid, 10)
    assert not left, f"dagster dev left processes running: {left}"


def wait_until_served(server: Webserver) -> None:
    """Poll ``/server_info``, then GraphQL until the code location has loaded."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"dagster dev exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            urllib.request.urlopen(f"{server.url}/server_info", timeout=5).close()
            entries = server.graphql(LOCATION_QUERY, timeout=10)["workspaceOrError"]
            entries = entries.get("locationEntries", [])
        except (OSError, urllib.error.URLError) as error:
            last = str(error)
        else:
            loaded = [entry for entry in entries if entry["loadStatus"] == "LOADED"]
            if loaded:
                location = loaded[0]["locationOrLoadError"]
                if location["__typename"] == "PythonError":
                    pytest.fail(f"the code location failed to load: {location['message']}")
                return
            last = f"locations: {entries}"
        time.sleep(2)
    pytest.fail(
        f"dagster dev not serving after {STARTUP_TIMEOUT_SECONDS} s ({last}):\n{server.log_tail()}"
    )
