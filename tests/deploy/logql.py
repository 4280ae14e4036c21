"""A LogQL evaluator for the subset the alert rules use, over sample log lines.

Loki's own parser is Go code under the AGPL (not used in this project) and no Python library
parses LogQL, so this reads exactly one shape and refuses anything else:

    sum by (<labels>) (count_over_time(<stream selector> <pipeline> [<range>])) > <number>

with a pipeline of line filters (|= != |~ !~), `| json` and label filters (= != =~ !~) after it.
Regexes are RE2 in Loki; the rules use only syntax Python's `re` reads the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_RULE = re.compile(
    r"^sum by \((?P<by>[\w, ]*)\) \(count_over_time\((?P<selector>\{[^}]*\})(?P<pipeline>.*)"
    r"\[(?P<range>\d+)(?P<unit>[smh])\]\)\) (?P<op>>|>=) (?P<threshold>[\d.]+)$"
)
_MATCHER = re.compile(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_STAGE = re.compile(
    r'\s*(?:(?P<filter>\|=|!=|\|~|!~)\s*"(?P<text>(?:[^"\\]|\\.)*)"'
    r"|\|\s*(?P<json>json)\b"
    r'|\|\s*(?P<label>\w+)\s*(?P<lop>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)")'
)
_UNITS = {"s": 1, "m": 60, "h": 3600}


class LogQLError(ValueError):
    """An expression outside the subset this evaluator reads."""


@dataclass(frozen=True)
class Entry:
    labels: dict[str, str]
    line: str
    at: float = 0.0  # seconds


@dataclass
class Rule:
    by: tuple[str, ...]
    selector: list[tuple[str, str, str]]
    stages: list[tuple[str, ...]]
    range_seconds: int
    op: str
    threshold: float
    extracted: set[str] = field(default_factory=set)


def _unquote(text: str) -> str:
    return text.encode().decode("unicode_escape")


def _match(op: str, actual: str | None, wanted: str) -> bool:
    actual = actual or ""
    if op == "=":
        return actual == wanted
    if op == "!=":
        return actual != wanted
    full = re.fullmatch(wanted, actual) is not None
    return full if op == "=~" else not full


def _matchers(text: str) -> list[tuple[str, str, str]]:
    body = text.strip()[1:-1]
    found, position = [], 0
    while position < len(body):
        m = _MATCHER.match(body, position)
        if not m:
            raise LogQLError(f"bad stream selector {text!r}")
        found.append((m.group(1), m.group(2), _unquote(m.group(3))))
        position = m.end()
    if not found:
        raise LogQLError("a stream selector needs at least one matcher")
    return found


def parse(expr: str) -> Rule:
    text = " ".join(expr.split())
    m = _RULE.match(text)
    if not m:
        raise LogQLError(f"not the supported shape: {text!r}")
    stages, position, pipeline = [], 0, m.group("pipeline").rstrip()
    while position < len(pipeline):
        s = _STAGE.match(pipeline, position)
        if not s:
            raise LogQLError(f"bad pipeline stage at {pipeline[position:]!r}")
        if s.group("filter"):
            stages.append(("line", s.group("filter"), _unquote(s.group("text"))))
        elif s.group("json"):
            stages.append(("json",))
        else:
            stages.append(("label", s.group("label"), s.group("lop"), _unquote(s.group("value"))))
        position = s.end()
    for stage in stages:
        if stage[0] == "line" and stage[1] in ("|~", "!~"):
            re.compile(stage[2])
    return Rule(
        by=tuple(b.strip() for b in m.group("by").split(",") if b.strip()),
        selector=_matchers(m.group("selector")),
        stages=stages,
        range_seconds=int(m.group("range")) * _UNITS[m.group("unit")],
        op=m.group("op"),
        threshold=float(m.group("threshold")),
    )


def _passes(rule: Rule, entry: Entry) -> dict[str, str] | None:
    """The entry's labels after the pipeline, or None when a stage drops it."""
    if not all(_match(op, entry.labels.get(k), v) for k, op, v in rule.selector):
        return None
    labels = dict(entry.labels)
    for stage in rule.stages:
        if stage[0] == "line":
            _, op, text = stage
            hit = text in entry.line if op in ("|=", "!=") else re.search(text, entry.line)
            if bool(hit) != (op in ("|=", "|~")):
                return None
        elif stage[0] == "json":
            try:
                fields = json.loads(entry.line)
            except ValueError:
                labels["__error__"] = "JSONParserErr"
                continue
            # Loki renames an extracted field that clashes with a stream label: <name>_extracted.
            for key, value in (fields if isinstance(fields, dict) else {}).items():
                if not isinstance(value, dict | list):
                    labels[f"{key}_extracted" if key in entry.labels else key] = str(value)
        elif not _match(stage[2], labels.get(stage[1]), stage[3]):
            return None
    return labels


def evaluate(expr: str, entries: list[Entry], at: float) -> dict[tuple[str, ...], float]:
    """Group -> value for the series above the threshold at time ``at`` (what would fire)."""
    rule = parse(expr)
    counts: dict[tuple[str, ...], float] = {}
    for entry in entries:
        if not at - rule.range_seconds < entry.at <= at:
            continue
        labels = _passes(rule, entry)
        if labels is None:
            continue
        key = tuple(labels.get(name, "") for name in rule.by)
        counts[key] = counts.get(key, 0) + 1
    above = (lambda v: v > rule.threshold) if rule.op == ">" else (lambda v: v >= rule.threshold)
    return {k: v for k, v in counts.items() if above(v)}
