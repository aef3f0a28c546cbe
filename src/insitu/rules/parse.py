"""Load a rules file (YAML or a mapping) into a validated :class:`EnsembleSpec`.

Everything is checked here, before anything starts: the schema (unknown keys, wrong types),
triggers the executor cannot emit, metric paths, ``when`` expressions, action labels, custom
functions, and each job's executable. Any problem raises :class:`RuleSyntaxError` naming
its path (``rules[2].when``). This is the one place that reads the file and runs the
``custom`` code (once, at load).
"""

from __future__ import annotations

import inspect
import math
import os
import re
import shlex
import shutil
import string
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from insitu.errors import RuleSyntaxError
from insitu.rules import schema
from insitu.rules.actions import action_problem, make_action
from insitu.rules.metrics import parse_metric_path
from insitu.rules.model import (
    COMPARISONS,
    DEFAULT_HEARTBEAT,
    JOB_EVENTS,
    JOB_TRIGGER_PREFIX,
    RESIZE_ACTIONS,
    TRIGGER_ALIASES,
    TRIGGER_HEARTBEAT,
    TRIGGER_INTERVAL,
    TRIGGER_METRIC,
    TRIGGER_START,
    ComparisonOp,
    Condition,
    CustomFunction,
    EnsembleSpec,
    ExecutorOptions,
    JobTemplate,
    Rule,
    Trigger,
    job_event_of,
    parse_choice,
    parse_trigger,
)

_T = TypeVar("_T")

_WHEN = re.compile(
    r"^\s*(?P<op>==|=|!=|<=|>=|<|>)?\s*"
    r"(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


def triggers_for(job_events: Sequence[str]) -> tuple[str, ...]:
    """Every trigger name a file may use with a member emitting ``job_events``.

    Raw names, aliases included: this is what the schema accepts. A job event outside
    :data:`~insitu.rules.model.JobEventName` still fails later, in :func:`parse_trigger`.
    """
    jobs = [f"{JOB_TRIGGER_PREFIX}{e}" for e in job_events]
    aliases = [a for a, target in TRIGGER_ALIASES.items() if target in jobs]
    return (TRIGGER_START, TRIGGER_METRIC, TRIGGER_HEARTBEAT, TRIGGER_INTERVAL, *jobs, *aliases)


def parse_when(value: object) -> Condition:
    """``3`` / ``"3"`` (equality, as ensemble-python), ``"<= -1.5"``, ``"!= 0"`` … → Condition."""
    if isinstance(value, bool):
        raise ValueError("when must be a number or a comparison like '>= 3', not a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"when {value!r} is not a finite number")
        return Condition("==", float(value))
    if isinstance(value, str):
        match = _WHEN.match(value)
        if match is not None:
            return Condition(_comparison(match["op"]), float(match["num"]))
    raise ValueError(
        f"cannot parse when {value!r}: use a number (equality) or "
        "'<op> <number>' with op one of == != < <= > >="
    )


def _comparison(spelling: str | None) -> ComparisonOp:
    """``=`` and a missing operator are equality, as in ensemble-python."""
    return parse_choice("==" if spelling in (None, "=") else spelling, COMPARISONS, "comparison")


def load_file(path: str | os.PathLike[str], job_events: Sequence[str] = JOB_EVENTS) -> EnsembleSpec:
    """Read and validate the rules file at ``path`` (RuleSyntaxError on any problem)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise RuleSyntaxError("", f"cannot read {file}: {err}") from err
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RuleSyntaxError("", f"{file} is not valid YAML: {err}") from err
    return parse_document(document, job_events=job_events, source=str(file))


def parse_document(
    document: object,
    job_events: Sequence[str] = JOB_EVENTS,
    groups: Sequence[str] | None = None,
    source: str | None = None,
) -> EnsembleSpec:
    """Validate a loaded document.

    ``groups`` given: the job groups are these names (an Experiment's entities) and the
    document has no ``jobs``; otherwise the groups are those of its ``jobs`` section.
    """
    schema.validate(document, schema.ensemble_schema(triggers_for(job_events), groups is None))
    assert isinstance(document, dict)
    custom = _compile_custom(document.get("custom"))
    jobs = tuple(_job(entry, i) for i, entry in enumerate(document.get("jobs", [])))
    if groups is not None and jobs:
        raise RuleSyntaxError("jobs", "jobs come from the attached entities here; remove 'jobs'")
    names = tuple(dict.fromkeys(t.group for t in jobs)) if groups is None else tuple(groups)
    rules = tuple(_rule(entry, i, names, custom) for i, entry in enumerate(document["rules"]))
    logging = document.get("logging", {})
    heartbeat = float(logging.get("heartbeat") or 0) or None
    needs_beat = any(
        r.trigger == TRIGGER_HEARTBEAT or r.action.name in RESIZE_ACTIONS for r in rules
    )
    if heartbeat is None and needs_beat:
        heartbeat = DEFAULT_HEARTBEAT
    return EnsembleSpec(
        jobs=jobs,
        rules=rules,
        groups=names,
        custom=custom,
        debug=bool(logging.get("debug", False)),
        heartbeat=heartbeat,
        executor=ExecutorOptions(**document.get("executor", {})),
        source=source,
    )


def _compile_custom(source: object) -> dict[str, CustomFunction]:
    if not isinstance(source, str):
        return {}
    namespace: dict[str, Any] = {"Action": make_action, "__name__": "insitu_rules_custom"}
    try:
        code = compile(source, "<rules file: custom>", "exec")
        exec(code, namespace)  # the user's own code, run once at load as ensemble-python does
    except SyntaxError as err:
        raise RuleSyntaxError("custom", f"line {err.lineno}: {err.msg}") from err
    except Exception as err:
        raise RuleSyntaxError("custom", f"running the custom code failed: {err!r}") from err
    return {
        name: value
        for name, value in namespace.items()
        if inspect.isfunction(value) and value.__globals__ is namespace
    }


def _job(entry: Mapping[str, Any], index: int) -> JobTemplate:
    path = f"jobs[{index}]"
    params = {k: str(v) for k, v in entry.get("params", {}).items()}
    command = string.Template(entry["command"]).safe_substitute(params)
    try:
        argv = shlex.split(command)
    except ValueError as err:
        raise RuleSyntaxError(f"{path}.command", f"cannot split {command!r}: {err}") from err
    if not argv:
        raise RuleSyntaxError(f"{path}.command", "the command is empty")
    workdir = entry.get("workdir")
    if workdir is not None and not Path(workdir).is_dir():
        raise RuleSyntaxError(f"{path}.workdir", f"directory {workdir!r} does not exist")
    exe = _resolve_exe(argv[0], workdir)
    if exe is None:
        raise RuleSyntaxError(f"{path}.command", f"executable {argv[0]!r} not found")
    duration = float(entry.get("duration") or 0)
    return JobTemplate(
        group=entry["name"],
        argv=(exe, *argv[1:]),
        count=int(entry.get("count", 1)),
        nodes=entry.get("nodes"),
        tasks=entry.get("tasks"),
        duration=duration or None,
        workdir=workdir,
        env={k: _env_value(v) for k, v in entry.get("env", {}).items()},
        index=index,
    )


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _resolve_exe(name: str, workdir: str | None) -> str | None:
    if "/" in name:
        candidate = Path(workdir or ".", name).resolve()
        return str(candidate) if os.access(candidate, os.X_OK) and candidate.is_file() else None
    found = shutil.which(name)
    return str(Path(found).resolve()) if found else None


def _rule(
    entry: Mapping[str, Any], index: int, groups: Sequence[str], custom: Mapping[str, Any]
) -> Rule:
    path = f"rules[{index}]"
    trigger = _checked(f"{path}.trigger", lambda: parse_trigger(entry["trigger"]))
    name: str | None = entry.get("name")
    _check_trigger_fields(entry, trigger, path)
    if trigger == TRIGGER_METRIC:
        if name is None:
            raise RuleSyntaxError(f"{path}.name", "a metric rule needs the metric path as name")
        _checked(f"{path}.name", lambda: parse_metric_path(name, groups))
    elif job_event_of(trigger) is not None and name is not None and name not in groups:
        known = ", ".join(groups) or "(none)"
        raise RuleSyntaxError(f"{path}.name", f"unknown job group {name!r}; known: {known}")
    when = None
    if "when" in entry:
        when = _checked(f"{path}.when", lambda: parse_when(entry["when"]))
    action = _checked(f"{path}.action", lambda: make_action(entry["action"]))
    problem = action_problem(action, groups, custom)
    if problem is not None:
        raise RuleSyntaxError(f"{path}.action.{problem[0]}", problem[1])
    return Rule(trigger, action, name, when, entry.get("every"), index)


def _check_trigger_fields(entry: Mapping[str, Any], trigger: Trigger, path: str) -> None:
    if "when" in entry and trigger != TRIGGER_METRIC:
        raise RuleSyntaxError(f"{path}.when", "only metric rules take a 'when'")
    if trigger == TRIGGER_INTERVAL and "every" not in entry:
        raise RuleSyntaxError(f"{path}.every", "an interval rule needs 'every' (seconds)")
    if trigger != TRIGGER_INTERVAL and "every" in entry:
        raise RuleSyntaxError(f"{path}.every", "only interval rules take 'every'")


def _checked(path: str, build: Callable[[], _T]) -> _T:
    try:
        return build()
    except ValueError as err:
        raise RuleSyntaxError(path, str(err)) from err
