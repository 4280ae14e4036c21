"""Runs the log agent's configuration (deploy/helm/alloy-values.yaml) on sample log lines.

Grafana Alloy is a Go binary that no package registry here ships, so this reads the blocks the
configuration uses and refuses anything else: `discovery.relabel` rules copying one source
label to a target, and in `loki.process` the stages `match` (a stream selector), `drop`
(`expression`), `json` (JMESPath, with the `jmespath` library: the same language Alloy's
go-jmespath evaluates), `template` (`{{ ToLower .Value }}` only) and `labels`. Their semantics
follow Alloy's stages: a failing JMESPath expression extracts nothing, a null extracts "", and a
label set to "" is no label at all in Loki.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jmespath
from logql import _match, _matchers

_STAGE = re.compile(r"stage\.(\w+)\s*\{")
_ATTRIBUTE = re.compile(r'\s*(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|\{)')
_FIELD = re.compile(r'\s*(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_RULE = re.compile(r'rule\s*\{\s*source_labels\s*=\s*\["(\w+)"\]\s*target_label\s*=\s*"(\w+)"\s*\}')
_LOWER = "{{ ToLower .Value }}"


class AlloyConfigError(ValueError):
    """A construct outside what this reader runs."""


@dataclass
class Stage:
    kind: str
    attributes: dict[str, Any]
    stages: list[Stage]


def _closing(text: str, opening: int) -> int:
    """The index of the brace closing the one at ``opening``, skipping string literals."""
    depth, i, quoted = 0, opening, False
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        elif text.startswith("//", i):
            i = text.index("\n", i)
        i += 1
    raise AlloyConfigError("unbalanced braces")


def _string(raw: str) -> str:
    return json.loads(f'"{raw}"')  # Alloy strings use Go's escapes, which JSON's cover here


def block(config: str, header: str) -> str:
    """The body of the block that starts with ``header`` (for example `loki.process "x"`)."""
    start = config.index(header)
    opening = config.index("{", start)
    return config[opening + 1 : _closing(config, opening)]


def _stages(body: str) -> list[Stage]:
    stages, position = [], 0
    while (m := _STAGE.search(body, position)) is not None:
        end = _closing(body, m.end() - 1)
        inner = body[m.end() : end]
        nested = _stages(inner) if m.group(1) == "match" else []
        if nested:
            inner = inner[: inner.index("stage.")]
        stages.append(Stage(m.group(1), _attributes(inner), nested))
        position = end + 1
    return stages


def _attributes(body: str) -> dict[str, Any]:
    body = re.sub(r"^\s*//.*$", "", body, flags=re.M)
    found: dict[str, Any] = {}
    position = 0
    while (m := _ATTRIBUTE.match(body, position)) is not None:
        if m.group(2) is not None:
            found[m.group(1)] = _string(m.group(2))
            position = m.end()
            continue
        end = _closing(body, m.end() - 1)
        found[m.group(1)] = {
            f.group(1): _string(f.group(2)) for f in _FIELD.finditer(body[m.end() : end])
        }
        position = end + 1
    if body[position:].strip():
        raise AlloyConfigError(f"cannot read {body[position:].strip()[:60]!r}")
    return found


def relabel(config: str, meta: dict[str, str]) -> dict[str, str]:
    """Stream labels from discovery meta labels, by the `discovery.relabel` rules."""
    rules = _RULE.findall(block(config, 'discovery.relabel "pods"'))
    return {target: meta[source] for source, target in rules if meta.get(source)}


def _run(stages: list[Stage], labels: dict[str, str], line: str, extracted: dict) -> bool:
    """Apply ``stages`` in place; False when the entry is dropped."""
    for stage in stages:
        a = stage.attributes
        if stage.kind == "match":
            selected = all(_match(op, labels.get(k), v) for k, op, v in _matchers(a["selector"]))
            if selected and not _run(stage.stages, labels, line, extracted):
                return False
        elif stage.kind == "drop":
            if re.search(a["expression"], line):
                return False
        elif stage.kind == "json":
            try:
                data = json.loads(line)
            except ValueError:
                continue
            for name, expression in a["expressions"].items():
                try:
                    value = jmespath.search(expression or name, data)
                except jmespath.exceptions.JMESPathError:
                    continue
                if isinstance(value, dict | list):
                    value = json.dumps(value, separators=(",", ":"), sort_keys=True)
                extracted[name] = value
        elif stage.kind == "template":
            if a["template"] != _LOWER:
                raise AlloyConfigError(f"template {a['template']!r}")
            value = extracted.get(a["source"])
            extracted[a["source"]] = "" if value is None else str(value).lower()
        elif stage.kind == "labels":
            for name, source in a["values"].items():
                if (source or name) in extracted:
                    value = extracted[source or name]
                    labels[name] = "" if value is None else str(value)
        else:
            raise AlloyConfigError(f"stage.{stage.kind}")
    return True


def process(config: str, name: str, labels: dict[str, str], line: str) -> dict[str, str] | None:
    """The labels Loki stores ``line`` under after `loki.process "<name>"`, or None if dropped."""
    stages = _stages(block(config, f'loki.process "{name}"'))
    result = dict(labels)
    if not _run(stages, result, line, {}):
        return None
    return {k: v for k, v in result.items() if v != ""}
