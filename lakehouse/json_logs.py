"""One JSON object per log line for the platform's log pipeline (deploy/helm/alloy-values.yaml).

The instance's ``python_logs`` handler (deploy/helm/dagster-values.yaml) uses it: Dagster's own
JSON formatter, the one ``dg.json_console_logger`` writes with, so every line carries Dagster's
``dagster_meta`` (run id, job, step, event and its asset key) as Dagster serialises it.
"""

from __future__ import annotations

import copy
import logging

from dagster._loggers import JsonLogFormatter as DagsterJsonLogFormatter


class JsonLogFormatter(DagsterJsonLogFormatter):
    """Dagster's JSON lines, keeping those that carry an exception.

    Dagster's formatter dumps the record's ``exc_info`` tuple as it is, which JSON cannot hold:
    a ``log.exception(...)`` line would be lost to a TypeError. Here the traceback goes to
    ``exc_text`` as text, on a copy, so the other handlers still see the exception itself.
    """

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info:
            text = record.exc_text or self.formatException(record.exc_info)
            record = copy.copy(record)
            record.exc_text, record.exc_info = text, None
        return super().format(record)
