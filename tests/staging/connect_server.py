"""A Spark Connect server for tests: pyspark's own jars and sbin scripts, bound to loopback."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pyspark

from lakehouse.staging.resources import DRIVER_JAVA_OPTIONS

SPARK_HOME = Path(pyspark.__file__).parent
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ConnectServer:
    """``start-connect-server.sh`` on a free port; its pid file (in ``work``) stops exactly it."""

    def __init__(self, work: Path) -> None:
        self.port, self.work = free_port(), work
        self.env = {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOG_DIR": str(work),
            "SPARK_PID_DIR": str(work),
            "SPARK_IDENT_STRING": f"lakehouse-test-{self.port}",
        }

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Returns at once: the script daemonises the server, which opens its port ~25 s later."""
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.session.timeZone": "UTC",
        }
        options = ["--master", "local[1]", "--driver-java-options", DRIVER_JAVA_OPTIONS]
        options += [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]
        # What sbin/start-connect-server.sh runs; pyspark 4.1's wheel ships spark-daemon.sh and the
        # Connect jar but not that script.
        self._sbin(
            "spark-daemon.sh",
            "submit",
            SERVER_CLASS,
            "1",
            "--name",
            "Spark Connect server",
            *options,
        )

    def stop(self) -> None:
        self._sbin("spark-daemon.sh", "stop", SERVER_CLASS, "1")

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(log.read_text()[-chars:] for log in self.work.glob("*.out"))

    def _sbin(self, script: str, *args: str) -> None:
        command = ["bash", str(SPARK_HOME / "sbin" / script), *args]
        subprocess.run(command, env=self.env, check=True, capture_output=True, timeout=60)
