"""A run whose process was SIGKILLed does not stay STARTED: the next demo marks it failed."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from lakehouse.cli.abandoned_runs import fail_abandoned_runs

KILLED_MID_RUN = """
import os, signal, sys
import dagster as dg

@dg.asset
def killed():
    os.kill(os.getpid(), signal.SIGKILL)

dg.materialize([killed], instance=dg.DagsterInstance.local_temp(sys.argv[1]))
"""


def test_a_run_killed_mid_flight_is_marked_failed_once(tmp_path):
    done = subprocess.run([sys.executable, "-c", KILLED_MID_RUN, str(tmp_path)], check=False)
    assert done.returncode < 0  # killed by its signal
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.STARTED
    assert fail_abandoned_runs(instance) == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert fail_abandoned_runs(instance) == []
