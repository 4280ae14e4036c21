"""Validate OpenLineage events against the published JSON schema (tests/fixtures/openlineage/).

The whole event against ``OpenLineage.json#/$defs/RunEvent``, then every facet against the
schema its ``_schemaURL`` names, which must be one of the committed files (or the lakehouse's
own facet schema): a facet pointing nowhere known fails.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from openlineage.client.serde import Serde
from referencing import Registry, Resource

from lakehouse.governance.lineage.facets import SCHEMA_DIR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openlineage"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


@functools.cache
def registry() -> Registry:
    files = [FIXTURES / "OpenLineage.json", *sorted((FIXTURES / "facets").glob("*.json"))]
    files += sorted(SCHEMA_DIR.glob("*.json"))
    resources = []
    for path in files:
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": ref}, registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _facets(event: dict[str, Any]) -> list[dict[str, Any]]:
    groups = [event["run"].get("facets"), event["job"].get("facets")]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        groups += [dataset.get("facets"), dataset.get("inputFacets"), dataset.get("outputFacets")]
    return [facet for group in groups if group for facet in group.values()]


def validate_event(event: Any) -> dict[str, Any]:
    """The event as JSON, after it validated; raises ``jsonschema.ValidationError`` otherwise."""
    data = event if isinstance(event, dict) else json.loads(Serde.to_json(event))
    _validator(RUN_EVENT).validate(data)
    known = set(registry().keys())
    for facet in _facets(data):
        url = facet["_schemaURL"]
        assert url.split("#", 1)[0] in known, f"facet schema {url} is not a committed schema"
        _validator(url).validate(facet)
    return data
