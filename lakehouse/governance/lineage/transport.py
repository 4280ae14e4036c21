"""Where OpenLineage events go, from settings: HTTP to the data catalog, a file, the console,
or nowhere. Embedded, the default is a JSON Lines file under ``<home>/openlineage/``: nothing
leaves the laptop, and a user can read what the catalog would receive."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from openlineage.client.transport.transport import Transport

if TYPE_CHECKING:
    from lakehouse.settings import Settings


class LineageSettingsError(ValueError):
    """The OpenLineage settings do not make a transport; the message names the variable."""


def lineage_transport(settings: Settings) -> Transport | None:
    kind = settings.lineage_transport
    if kind == "off":
        return None
    if kind == "console":
        return ConsoleTransport(ConsoleConfig())
    if kind == "file":
        settings.lineage_file.parent.mkdir(parents=True, exist_ok=True)
        return FileTransport(FileConfig(log_file_path=str(settings.lineage_file), append=True))
    if not settings.openlineage_url:
        raise LineageSettingsError(
            "LAKEHOUSE_OPENLINEAGE_URL: the http transport needs the catalog's OpenLineage URL"
        )
    auth = (
        ApiKeyTokenProvider({"api_key": settings.openlineage_api_key.get_secret_value()})
        if settings.openlineage_api_key is not None
        else TokenProvider({})
    )
    config = HttpConfig(
        url=settings.openlineage_url,
        endpoint=settings.openlineage_endpoint,
        timeout=10.0,
        auth=auth,
    )
    return HttpTransport(config)


def lineage_client(settings: Settings) -> OpenLineageClient | None:
    """The configured client, or None when lineage export is off."""
    transport = lineage_transport(settings)
    return OpenLineageClient(transport=transport) if transport is not None else None


def emit(client: OpenLineageClient | None, events: Iterable[RunEvent]) -> int:
    """Send ``events`` in order; how many were sent (none when export is off)."""
    if client is None:
        return 0
    sent = 0
    for event in events:
        client.emit(event)
        sent += 1
    return sent
