"""Prometheus text format for the upkeep figures, written the textfile-collector way.

Each job writes its own ``<dir>/lakehouse_<job>.prom`` atomically (a temporary name, then a
rename), so node-exporter never reads half a file and jobs never overwrite each other's
metrics. With a Pushgateway URL set the same text is also pushed: run pods are short-lived
and not scraped. Metric names are those deploy/README.md documents for the alerts.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lakehouse.settings import Settings

HELP = {
    "lakehouse_table_data_files": "data files in the table's current snapshot",
    "lakehouse_table_small_file_ratio": "share of those files below the target file size (0-1)",
    "lakehouse_table_snapshots": "snapshots kept in the table's metadata",
    "lakehouse_table_bytes": "bytes of the current snapshot's data files",
    "lakehouse_table_last_compaction_age_seconds": "seconds since the last compaction",
    "lakehouse_table_last_backup_age_seconds": "seconds since the last successful backup",
    "lakehouse_backup_success": "1 if the last backup succeeded, else 0",
    "lakehouse_restore_check_success": "1 if the last restore check succeeded, else 0",
    "lakehouse_restore_check_rpo_seconds": "age of the backup the last restore check restored",
    "lakehouse_restore_check_rto_seconds": "seconds the last restore check took to restore",
}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(samples: Iterable[Sample]) -> str:
    """Exposition format: one HELP/TYPE block per metric, samples grouped under it."""
    by_name: dict[str, list[Sample]] = {}
    for sample in samples:
        by_name.setdefault(sample.name, []).append(sample)
    lines = []
    for name, group in by_name.items():
        lines += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} gauge"]
        for sample in group:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
            lines.append(
                f"{name}{{{labels}}} {sample.value:g}" if labels else f"{name} {sample.value:g}"
            )
    return "\n".join(lines) + "\n"


def metrics_dir(settings: Settings) -> Path:
    return (settings.upkeep_metrics_dir or settings.home_dir / "metrics").expanduser()


def write_textfile(directory: Path, job: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"lakehouse_{job}.prom"
    temporary = path.with_suffix(f".prom.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return path


def push(url: str, job: str, text: str, timeout: float = 10.0) -> None:
    """PUT to the Pushgateway: replaces the group ``job=lakehouse_upkeep, instance=<job>``."""
    target = f"{url.rstrip('/')}/metrics/job/lakehouse_upkeep/instance/{job}"
    request = urllib.request.Request(target, data=text.encode(), method="PUT")
    request.add_header("Content-Type", "text/plain; version=0.0.4")
    with urllib.request.urlopen(request, timeout=timeout):
        pass


def publish(settings: Settings, job: str, samples: Iterable[Sample]) -> Path:
    text = render(samples)
    path = write_textfile(settings.metrics_path, job, text)
    if settings.upkeep_pushgateway_url:
        push(settings.upkeep_pushgateway_url, job, text)
    return path
