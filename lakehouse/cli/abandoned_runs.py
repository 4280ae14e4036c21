"""Runs left ``STARTED`` by a process that was killed: marked failed, naming the lost process.

Dagster's run monitoring cannot see these: the embedded runtime executes in process (``lakehouse
demo``, the default launcher), which has no worker health check. Each in-process run records its
pid in an engine event; a run still ``STARTED`` whose pid is gone on this host was killed.
"""

from __future__ import annotations

import dagster as dg

from lakehouse.raw.extraction import process_alive

LIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _pids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    pids = set()
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = data.metadata.get("pid") if data is not None else None
        text = getattr(pid, "text", None)
        if text is not None and text.isdigit():
            pids.add(int(text))
    return pids


def fail_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every live-looking run whose process is gone; return their ids."""
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=LIVE)):
        pids = _pids(instance, run.run_id)
        if pids and not any(process_alive(pid) for pid in pids):
            instance.report_run_failed(
                run,
                f"the process running it (pid {', '.join(map(str, sorted(pids)))}) is gone: "
                "it was killed mid-run; nothing it did not commit is visible",
            )
            failed.append(run.run_id)
    return failed
