"""A loopback Airbyte API answering from recorded responses, recording every request it gets.

It serves the calls dagster-airbyte 0.29 makes (``dagster_airbyte/resources.py``): the OAuth
token, the workspace, its connections (public API), each connection's catalog (configuration
API), the destination, and a sync job that polls running -> succeeded. Anything else is a 404,
so a changed call sequence fails the test instead of passing silently.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airbyte_api"
PUBLIC = "/api/public/v1"
CONFIG = "/api/v1"
# The ids and credentials the recordings were made with.
WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FAKER_CONNECTION_ID = "9924bcd0-99be-453d-ba47-c2c9766f7da5"
DESTINATION_ID = "7b3e4c2a-8d1f-4e6b-a5c9-0f2d3e4b5a6c"
CLIENT_ID = "lakehouse-dagster"
CLIENT_SECRET = "s3cr3t-for-tests"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


@dataclass
class RecordedAirbyte:
    """Recorded responses plus the credentials and ids they belong to."""

    workspace_id: str
    client_id: str
    client_secret: str
    requests: list[Request] = field(default_factory=list)
    _polls: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fixture(self, name: str) -> Any:
        return json.loads((FIXTURES / name).read_text())

    @property
    def token(self) -> str:
        return self.fixture("token.json")["access_token"]

    def connection_ids(self) -> set[str]:
        return {item["connectionId"] for item in self.fixture("connections.json")["data"]}

    def calls(self) -> list[str]:
        """``METHOD path`` per request, without query strings, in arrival order."""
        return [f"{request.method} {request.path}" for request in self.requests]

    def answer(self, request: Request) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(request)
            return self._route(request)

    def _route(self, r: Request) -> tuple[int, Any]:
        if (r.method, r.path) == ("POST", f"{PUBLIC}/applications/token"):
            given = (r.body or {}).get("client_id"), (r.body or {}).get("client_secret")
            if given != (self.client_id, self.client_secret):
                return 401, {"message": "invalid client credentials"}
            return 200, self.fixture("token.json")
        if r.authorization != f"Bearer {self.token}":
            return 401, {"message": "missing or invalid bearer token"}
        if (r.method, r.path) == ("GET", f"{PUBLIC}/workspaces/{self.workspace_id}"):
            return 200, self.fixture("workspace.json")
        if (r.method, r.path) == ("GET", f"{PUBLIC}/connections"):
            if r.query.get("workspaceIds") != [self.workspace_id]:
                return 200, {"data": []}
            return 200, self.fixture("connections.json")
        if (r.method, r.path) == ("POST", f"{CONFIG}/connections/get"):
            connection_id = (r.body or {}).get("connectionId")
            if connection_id not in self.connection_ids():
                return 404, {"message": f"connection {connection_id} not found"}
            return 200, self.fixture(f"connection_{connection_id}.json")
        destination = self.fixture("destination.json")
        if (r.method, r.path) == ("GET", f"{PUBLIC}/destinations/{destination['destinationId']}"):
            return 200, destination
        if (r.method, r.path) == ("GET", f"{PUBLIC}/jobs"):
            listed = self.fixture("jobs_list.json")
            wanted = r.query.get("connectionId", [None])[0]
            return 200, listed | {
                "data": [job for job in listed["data"] if job["connectionId"] == wanted]
            }
        if (r.method, r.path) == ("POST", f"{PUBLIC}/jobs"):
            body = r.body or {}
            if (
                body.get("connectionId") not in self.connection_ids()
                or body.get("jobType") != "sync"
            ):
                return 400, {"message": "unknown connection or job type"}
            return 200, self.fixture("job_created.json") | {"connectionId": body["connectionId"]}
        if match := re.fullmatch(rf"{PUBLIC}/jobs/(\d+)", r.path):
            job_id = int(match.group(1))
            if r.method == "DELETE":
                return 200, self.fixture("job_running.json") | {"status": "cancelled"}
            polls = self._polls[job_id] = self._polls.get(job_id, 0) + 1
            return 200, self.fixture("job_running.json" if polls == 1 else "job_succeeded.json")
        return 404, {"message": f"no recorded response for {r.method} {r.path}"}


def _handler(api: RecordedAirbyte) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query),
                body=json.loads(raw) if raw else None,
                authorization=self.headers.get("Authorization"),
            )
            status, payload = api.answer(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output quiet
            pass

    return Handler


class AirbyteReplayServer:
    """``with AirbyteReplayServer(api) as url:`` serves ``api`` on a free loopback port."""

    def __init__(self, api: RecordedAirbyte) -> None:
        self.api = api
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
