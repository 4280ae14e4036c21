"""``lakehouse doctor``: check each thing a run needs and say what to fix, one line each."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from lakehouse.cli.failures import known_line
from lakehouse.settings import Settings, SettingsError, load_settings

Check = tuple[str, Callable[[Settings], str]]


def _settings_summary(settings: Settings) -> str:
    return f"runtime {settings.runtime}, {settings.catalog_type} catalog"


def _catalog(settings: Settings) -> str:
    from lakehouse.catalog import build_catalog, describe_catalog

    catalog = build_catalog(settings)
    namespaces = sorted(".".join(ns) for ns in catalog.list_namespaces())
    return f"{describe_catalog(settings)}: namespaces {', '.join(namespaces)}"


def writable_local_warehouse(settings: Settings) -> Path | None:
    """The local warehouse directory, created and written to once (an ``OSError`` naming the
    path otherwise); None for a warehouse in object storage or behind a REST catalog."""
    location = settings.warehouse_location
    if not location.startswith("file://"):
        return None
    path = Path(location.removeprefix("file://"))
    path.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as error:  # name the warehouse, not the probe file
        raise OSError(error.errno, error.strerror, str(path)) from error
    return path


def _warehouse(settings: Settings) -> str:
    path = writable_local_warehouse(settings)
    if path is not None:
        return f"{path} is writable"
    location = settings.warehouse_location
    if location.startswith("s3"):
        from pyarrow import fs

        from lakehouse.catalog import catalog_properties

        props = catalog_properties(settings)
        s3 = fs.S3FileSystem(
            endpoint_override=props.get("s3.endpoint"),
            access_key=props.get("s3.access-key-id"),
            secret_key=props.get("s3.secret-access-key"),
            region=settings.s3_region,
            force_virtual_addressing=not settings.s3_path_style,
        )
        bucket = location.split("://", 1)[1].split("/", 1)[0]
        s3.get_file_info(fs.FileSelector(bucket, allow_not_found=False))
        return f"bucket {bucket} is reachable at {settings.s3_endpoint}"
    return f"{location} is managed by the REST catalog"


def _java(_: Settings) -> str:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java not found on PATH: install Java 17 (Spark needs it)")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=True)
    return result.stderr.splitlines()[0]


def _connectors(settings: Settings) -> str:
    if settings.runtime == "platform":
        return f"Airbyte server at {settings.airbyte_api_url} (workspace {settings.airbyte_workspace_id})"
    if not settings.faker_executable_path.exists():
        raise RuntimeError(
            f"missing {settings.faker_executable_path}: run scripts/bootstrap-connectors.sh"
        )
    return "the source-faker environment is installed"


CHECKS: list[Check] = [
    ("catalog", _catalog),
    ("warehouse", _warehouse),
    ("java", _java),
    ("connectors", _connectors),
]


def run_doctor(environ: dict[str, str] | None = None) -> int:
    """Print one OK/FAIL line per check; exit status 1 when any check fails."""
    try:
        settings = load_settings(environ)
    except SettingsError as error:
        print(f"FAIL settings: {error}")
        return 1
    print(f"OK   settings: {_settings_summary(settings)}")
    failed = 0
    for name, check in CHECKS:
        try:
            print(f"OK   {name}: {check(settings)}")
        except Exception as error:  # report every failing check, not just the first
            failed += 1
            known = known_line(error)  # the setting to fix, when the failure is a known one
            print(f"FAIL {name}: {known or f'{type(error).__name__}: {error}'}")
    return 1 if failed else 0
