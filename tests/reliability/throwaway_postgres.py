"""A PostgreSQL server for one test: initdb into a temporary directory, pg_ctl on a free port.

The reliability tests stop it and cut its connections mid-run, which they must never do to the
shared server on 5432. Debian's binaries live in /usr/lib/postgresql/<version>/bin. initdb
refuses to run as root, so as root the server runs as the ``postgres`` system user (runuser);
without binaries or that user the test is skipped with the reason (failed under CI=true).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_USER = "postgres"


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"throw-away PostgreSQL unavailable on CI: {reason}")
    pytest.skip(f"throw-away PostgreSQL unavailable: {reason}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ThrowawayPostgres:
    bin_dir: Path
    root: Path
    port: int
    as_user: list[str]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database} connect_timeout=3"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{tool} failed: {result.stderr or result.stdout}\n{log}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: like a crash or a network cut, no goodbye to the clients."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def terminate_connections(self) -> int:
        """Cut every other client's connection (pg_terminate_backend); return how many."""
        import psycopg2

        connection = psycopg2.connect(self.dsn())
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                    "where pid <> pg_backend_pid() and backend_type = 'client backend'"
                )
                return int(cursor.fetchone()[0])
        finally:
            connection.close()

    def create_database(self, name: str) -> str:
        import psycopg2

        connection = psycopg2.connect(self.dsn())
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)


@contextlib.contextmanager
def start_throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bin_dir = _binaries()
    if bin_dir is None:
        _unavailable("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres system user
        if shutil.which("runuser") is None:
            _unavailable("running as root and runuser is missing")
        try:
            import pwd

            server_uid = pwd.getpwnam(SERVER_USER).pw_uid
        except KeyError:
            _unavailable(f"running as root and there is no '{SERVER_USER}' user to run it as")
        as_user = ["runuser", "-u", SERVER_USER, "--"]
    # Not under pytest's tmp_path: its parents are private to this user, the server's is another.
    root = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    if as_user:
        os.chown(root, server_uid, -1)
    server = ThrowawayPostgres(bin_dir, root, _free_port(), as_user)
    try:
        server._run(
            "initdb",
            "-D",
            str(server.data_dir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        server.start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
