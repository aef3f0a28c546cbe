"""The JSON Schema of a rules file, and schema errors as :class:`RuleSyntaxError` (pure).

It accepts every file ensemble-python 0.0.16 accepts and runs (``jobs``, ``rules``,
``logging``, ``custom``) plus insitu's documented extensions (``env``/``params`` per job,
``every`` on interval rules, the ``executor`` section), and rejects unknown keys and wrong
types everywhere — ensemble-python's own schema lets unknown top-level keys through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jsonschema

from insitu.errors import RuleSyntaxError
from insitu.launchers.registry import rules_executors
from insitu.rules.model import ACTIONS, ON_TERMINATE

_SCALAR = {"type": ["string", "number", "boolean"]}

_JOB: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "command"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "command": {"type": "string", "minLength": 1},
        "count": {"type": "integer", "minimum": 0},
        "nodes": {"type": "integer", "minimum": 1},
        "tasks": {"type": "integer", "minimum": 1},
        "duration": {"type": "number", "minimum": 0},
        "workdir": {"type": "string", "minLength": 1},
        "env": {"type": "object", "additionalProperties": _SCALAR},
        "params": {"type": "object", "additionalProperties": _SCALAR},
    },
}

_ACTION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"enum": list(ACTIONS)},
        "label": {"type": ["string", "number"]},
        "repetitions": {"type": "integer", "minimum": 1},
        "backoff": {"type": "integer", "minimum": 0},
        "value": {"type": ["number", "string"]},
    },
}

_LOGGING: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "debug": {"type": "boolean"},
        "heartbeat": {"type": "number", "minimum": 0},
    },
}

_EXECUTOR: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"enum": list(rules_executors())},
        "size": {"type": "integer", "minimum": 1},
        "on_terminate": {"enum": list(ON_TERMINATE)},
        "metric_interval": {"type": "number", "exclusiveMinimum": 0},
        "logs": {"type": "string", "minLength": 1},
    },
}


def ensemble_schema(triggers: Sequence[str], require_jobs: bool = True) -> dict[str, Any]:
    """The schema for files whose rules may use ``triggers`` (they depend on the executor)."""
    rule = {
        "type": "object",
        "additionalProperties": False,
        "required": ["trigger", "action"],
        "properties": {
            "trigger": {"enum": list(triggers)},
            "name": {"type": "string", "minLength": 1},
            "when": {"type": ["string", "number"]},
            "every": {"type": "number", "exclusiveMinimum": 0},
            "action": _ACTION,
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["rules", "jobs"] if require_jobs else ["rules"],
        "properties": {
            "jobs": {"type": "array", "items": _JOB},
            "rules": {"type": "array", "items": rule},
            "logging": _LOGGING,
            "custom": {"type": "string"},
            "executor": _EXECUTOR,
        },
    }


def validate(document: object, schema: dict[str, Any]) -> None:
    """Raise :class:`RuleSyntaxError` for the first schema violation, by position in the file."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(document))
    if not errors:
        return
    first = min(errors, key=lambda e: (_sort_key(e.absolute_path), -len(e.absolute_path)))
    raise RuleSyntaxError(*_describe(first))


def format_path(parts: Iterable[object]) -> str:
    """``["rules", 2, "when"]`` → ``rules[2].when``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _sort_key(path: Iterable[object]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path)


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    parts = list(error.absolute_path)
    instance = error.instance
    rule: Any = error.schema
    expected: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(rule.get("properties", {}) if isinstance(rule, dict) else ())
        extra = sorted(k for k in instance if k not in allowed)
        if extra:
            known = ", ".join(sorted(allowed))
            return format_path([*parts, extra[0]]), f"unknown key (allowed: {known})"
    if error.validator == "required" and isinstance(instance, dict):
        missing = [k for k in expected if k not in instance]
        if missing:
            return format_path([*parts, missing[0]]), "required key is missing"
    if error.validator == "enum":
        choices = ", ".join(str(c) for c in expected)
        return format_path(parts), f"{instance!r} is not one of: {choices}"
    return format_path(parts), error.message
