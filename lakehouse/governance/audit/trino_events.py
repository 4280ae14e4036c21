"""Who read personal data through Trino (seed §5.1): audit rows from Trino's query events.

Trino's HTTP event listener POSTs each ``QueryCompletedEvent`` as JSON to this receiver, which
records one row per query and PII table touched (read, or written when it is the output). The
listener was chosen over a query log because Trino keeps no durable query log of its own
(``system.runtime.queries`` is in memory and short-lived), and a log table would need a
database for Trino to write into and a job to sweep it; the listener pushes each query as it
ends, with the user, the tables and columns, and the outcome. Trino is configured with
``event-listener.name=http``, ``http-event-listener.log-completed=true``,
``http-event-listener.connect-ingest-uri=<this receiver>/trino/events`` and
``http-event-listener.connect-http-headers=Authorization: Bearer <token>``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from lakehouse.governance.audit.chain import AuditRecord
from lakehouse.governance.audit.store import AuditStore

if TYPE_CHECKING:
    from lakehouse.settings import Settings

MAX_QUERY_CHARS = 4000


class TrinoEventError(ValueError):
    """The body is not a QueryCompletedEvent; the message says what is missing."""


def _time(value: Any) -> dt.datetime:
    """Trino's instants: ISO 8601 strings (``2026-01-05T10:00:00.123Z``) or epoch seconds."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    instant = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def _columns(entry: Mapping[str, Any]) -> list[str]:
    """Column names of an input or a ``TableInfo`` (plain names, or objects by version)."""
    names = []
    for column in entry.get("columns") or []:
        if isinstance(column, str):
            names.append(column)
        elif isinstance(column, Mapping):
            names.append(
                str(column.get("column") or column.get("name") or column.get("columnName"))
            )
    return names


def _touched(event: Mapping[str, Any], catalogs: Collection[str]) -> dict[str, dict[str, Any]]:
    """``schema.table`` -> how the query touched it: read columns, masks, written."""
    touched: dict[str, dict[str, Any]] = {}

    def entry(catalog: str | None, schema: str | None, table: str | None) -> dict | None:
        if catalog not in catalogs or not schema or not table:
            return None
        return touched.setdefault(
            f"{schema}.{table}",
            {"read": False, "written": False, "columns": set(), "masked": set()},
        )

    io = event.get("ioMetadata") or {}
    for source in io.get("inputs") or []:
        if (
            found := entry(source.get("catalogName"), source.get("schema"), source.get("table"))
        ) is not None:
            found["read"] = True
            found["columns"].update(_columns(source))
    for info in (event.get("metadata") or {}).get("tables") or []:
        if (found := entry(info.get("catalog"), info.get("schema"), info.get("table"))) is not None:
            found["read"] = True
            found["columns"].update(_columns(info))
            found["masked"].update(
                str(c.get("column"))
                for c in info.get("columns") or []
                if isinstance(c, Mapping) and c.get("mask")
            )
    output = io.get("output") or {}
    if (
        found := entry(output.get("catalogName"), output.get("schema"), output.get("table"))
    ) is not None:
        found["written"] = True
    return touched


def pii_access_records(
    event: Mapping[str, Any],
    pii_tables: Collection[str],
    *,
    catalogs: Collection[str] = ("iceberg",),
) -> list[AuditRecord]:
    """One row per PII table the query touched (none for a query that touched none)."""
    metadata, context = event.get("metadata"), event.get("context")
    if (
        not isinstance(metadata, Mapping)
        or not isinstance(context, Mapping)
        or "queryId" not in metadata
    ):
        raise TrinoEventError(
            "not a Trino QueryCompletedEvent: metadata.queryId and context are required"
        )
    query_id = str(metadata["queryId"])
    user = context.get("principal") or context.get("user") or "unknown"
    failure = event.get("failureInfo") or {}
    records = []
    for table, how in sorted(_touched(event, catalogs).items()):
        if table not in pii_tables:
            continue
        details = {
            "query_id": query_id,
            "state": metadata.get("queryState"),
            "query": str(metadata.get("query", ""))[:MAX_QUERY_CHARS],
            "columns": sorted(how["columns"]),
            "masked_columns": sorted(how["masked"]),
            "source": context.get("source"),
            "client_address": context.get("remoteClientAddress"),
            "user_agent": context.get("userAgent"),
            "groups": sorted(context.get("groups") or []),
            "server": context.get("serverAddress"),
        }
        if failure:
            details["error"] = (failure.get("errorCode") or {}).get("name") or failure.get(
                "failureType"
            )
        records.append(
            AuditRecord(
                action="trino.query.write_pii" if how["written"] else "trino.query.read_pii",
                object=table,
                actor=f"user:{user}",
                at=_time(event.get("endTime") or event.get("createTime")),
                details=details,
                key=f"trino:{query_id}:{table}",
            )
        )
    return records


def trino_events_app(
    store: Callable[[], AuditStore],
    pii_tables: Callable[[], Collection[str]],
    *,
    token: str | None = None,
    catalogs: Collection[str] = ("iceberg",),
):
    """The receiver (a Starlette app): ``POST /trino/events`` records, ``GET /healthz`` answers."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def receive(request: Request) -> JSONResponse:
        sent = request.headers.get("authorization", "")
        if token is not None and not hmac.compare_digest(sent, f"Bearer {token}"):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        try:
            event = json.loads(await request.body())
            records = pii_access_records(event, pii_tables(), catalogs=catalogs)
        except (json.JSONDecodeError, TrinoEventError, ValueError, AttributeError) as error:
            return JSONResponse({"error": f"bad Trino event: {error}"}, status_code=400)
        audit = store()
        try:
            written = audit.append(records)
        finally:
            audit.close()
        return JSONResponse({"recorded": written})

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/trino/events", receive, methods=["POST"]), Route("/healthz", health)]
    )


def refreshed_every(
    fetch: Callable[[], Collection[str]], seconds: float
) -> Callable[[], Collection[str]]:
    """``fetch()``, kept for ``seconds``: the PII tags live in the catalog and change rarely."""
    import time

    cached: dict[str, Any] = {"at": -float("inf"), "value": frozenset()}

    def current() -> Collection[str]:
        if time.monotonic() - cached["at"] >= seconds:
            cached["value"], cached["at"] = frozenset(fetch()), time.monotonic()
        return cached["value"]

    return current


def receiver_for(settings: Settings, *, refresh_seconds: float = 300.0):
    """The receiver as the platform runs it: the configured store, token and Trino catalog,
    and the tables the Iceberg catalog tags PII (``uvicorn.run(receiver_for(settings), ...)``)."""
    from lakehouse.catalog import shared_catalog
    from lakehouse.governance.audit.configured import audit_store
    from lakehouse.governance.pii import find_pii_tables

    token = settings.audit_trino_events_token
    return trino_events_app(
        lambda: audit_store(settings),
        refreshed_every(
            lambda: {".".join(i[-2:]) for i in find_pii_tables(shared_catalog(settings))},
            refresh_seconds,
        ),
        token=token.get_secret_value() if token else None,
        catalogs=(settings.audit_trino_catalog,),
    )
