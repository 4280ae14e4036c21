"""Start, stop and report the loopback platform: each service a plain process on 127.0.0.1.

``up`` is idempotent: a service already running and healthy is left alone. A failed ``up``
leaves what it started running for inspection; ``down`` stops every service this platform
directory recorded, whatever state ``up`` ended in.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass

from lakehouse.loopback import dagster_instance, engines, keycloak, postgres, rest_catalog, storage
from lakehouse.loopback import secrets as secret_store
from lakehouse.loopback.layout import HOST, Layout, LoopbackError, server_java_home
from lakehouse.loopback.processes import (
    Launch,
    check_ports,
    running_pid,
    start,
    stop,
    wait_ready,
)
from lakehouse.loopback.tls import ensure_certificates

# Stopped in reverse: consumers of the catalog and storage first.
SERVICES = ("s3", "keycloak", "rest-catalog", "trino", "spark-connect")
# Services of earlier versions of this platform: stopped by `up` and `down` if still running.
RETIRED = ("nessie",)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    healthy: bool
    detail: str


def _ensure(layout: Layout, launch: Launch, say: Callable[[str], None]) -> None:
    """Start ``launch`` unless it runs already; wait until healthy either way."""
    pid = running_pid(layout, launch.name)
    if pid is None:
        check_ports(layout, launch)
        pid = start(layout, launch)
        say(f"{launch.name}: started (pid {pid}), waiting until ready")
    wait_ready(layout, launch, pid)
    say(f"{launch.name}: ready")


def up(layout: Layout, say: Callable[[str], None] = print) -> None:
    """Bring every service up, in dependency order, the slow JVMs started in parallel."""
    began = time.monotonic()
    layout.root.mkdir(parents=True, exist_ok=True)
    for name in RETIRED:
        if stop(layout, name):
            say(f"{name}: stopped (retired; rest-catalog serves the Iceberg REST API now)")
    java_home = server_java_home()
    secrets, fresh = secret_store.ensure(layout.secrets_file)
    storage_launch = storage.launch(layout)
    storage_fresh = running_pid(layout, "s3") is None
    # moto keeps objects in memory: a new S3 server means an empty warehouse, so the catalogs
    # that pointed into it start empty too (and everything starts afresh with new secrets).
    reset = postgres.ROLES if fresh else postgres.CATALOG_DATABASES if storage_fresh else ()
    stamps = {"loopback_keycloak": keycloak.realm_stamp(secrets)}
    if stale := postgres.stale_databases(stamps):
        # A new realm has new signing keys: Trino reads them only at start.
        for name in ("keycloak", "trino"):
            if stop(layout, name):
                say(f"{name}: stopped, its realm is made again ({', '.join(stale)} was stale)")
    postgres.ensure_databases(secrets, reset=(*reset, *stale), stamps=stamps)
    postgres.write_pgpass(layout.pgpass_file, secrets)
    dagster_instance.write_instance(layout)
    keystore = ensure_certificates(layout.tls_dir, ["localhost"], [HOST])
    _ensure(layout, storage_launch, say)
    if storage_fresh:
        secrets = secret_store.update(layout.secrets_file, **storage.set_up(layout))
        # Engines started before hold the old keys: restart them with the new ones.
        for name in ("rest-catalog", "trino", "spark-connect"):
            if stop(layout, name):
                say(f"{name}: stopped, to restart with the new storage keys")
    identity = keycloak.launch(layout, secrets, java_home)
    others = [
        rest_catalog.launch(layout, secrets, java_home),  # fetches the realm's keys on first use
        engines.spark_connect_launch(layout, secrets),
    ]
    trino = engines.trino_launch(layout, secrets, java_home, keystore)

    def trino_after_keycloak() -> None:
        # Trino reads the realm's keys once, at start: it fails if Keycloak is not ready.
        keycloak_started.result()
        _ensure(layout, trino, say)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        keycloak_started = pool.submit(_ensure, layout, identity, say)
        futures = [keycloak_started, *(pool.submit(_ensure, layout, x, say) for x in others)]
        futures.append(pool.submit(trino_after_keycloak))
        errors = [future.exception() for future in futures if future.exception()]
    if errors:
        raise LoopbackError("; ".join(str(error) for error in errors))
    say(f"loopback platform ready in {time.monotonic() - began:.0f} s (logs: {layout.root})")


def down(layout: Layout, say: Callable[[str], None] = print) -> None:
    """Stop every recorded service; nothing running is fine."""
    stopped = [name for name in (*reversed(SERVICES), *RETIRED) if stop(layout, name)]
    say(f"stopped: {', '.join(stopped)}" if stopped else "loopback platform: nothing running")


def status(layout: Layout) -> list[ServiceStatus]:
    """Each service: its pid and whether its health check passes now (nothing is started)."""
    secrets = secret_store.load(layout.secrets_file)
    checks: dict[str, Callable[[], bool]] = {
        "s3": storage.ready_check(layout),
        "keycloak": keycloak.ready_check(layout),
        "rest-catalog": rest_catalog.ready_check(layout),
        "trino": engines.trino_ready_check(layout, secrets),
        "spark-connect": engines.spark_connect_ready_check(layout),
    }
    report = []
    for name in SERVICES:
        pid = running_pid(layout, name)
        if pid is None:
            report.append(ServiceStatus(name, None, False, "stopped"))
            continue
        try:
            healthy = bool(checks[name]())
        except (OSError, ValueError, KeyError, LoopbackError) as error:
            healthy, detail = False, f"not ready ({type(error).__name__})"
        else:
            detail = "ready" if healthy else "starting"
        report.append(ServiceStatus(name, pid, healthy, detail))
    return report
