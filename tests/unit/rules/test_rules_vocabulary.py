"""The rules file's typed words: the Literal types, their tuples, and unknown words refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, get_args

import pytest

from insitu.errors import InvalidArgumentError, RuleSyntaxError
from insitu.jobs.events import EVENT_KINDS, JobEvent
from insitu.jobs.status import JobState
from insitu.rules.actions import make_action, returned_actions
from insitu.rules.engine import Engine
from insitu.rules.events import JOB_KINDS, JobUpdate, Started
from insitu.rules.members.flux import FLUX_EVENTS
from insitu.rules.model import (
    ACTIONS,
    COMPARISONS,
    JOB_EVENT_NAMES,
    JOB_EVENTS,
    ON_TERMINATE,
    TRIGGERS,
    Action,
    Condition,
    EnsembleTrigger,
    JobTrigger,
    Rule,
    parse_trigger,
)
from insitu.rules.parse import parse_document
from insitu.rules.service.server import SERVICE_ACTIONS, parse_action


def test_the_file_format_words_are_ensemble_pythons() -> None:
    # These spell the rules file and the gRPC payloads: changing one breaks existing files.
    assert JOB_EVENTS == ("submit", "start", "finish", "success", "failure", "cancel", "exception")
    assert FLUX_EVENTS == ("validate", "depend", "priority", "alloc", "release", "free", "clean")
    assert ACTIONS == ("submit", "custom", "terminate", "cancel", "resubmit", "grow", "shrink")
    assert COMPARISONS == ("==", "!=", "<", "<=", ">", ">=")
    assert ON_TERMINATE == ("cancel", "leave")
    assert JOB_KINDS == ("submit", "start", "success", "failure", "cancel", "other")
    assert set(SERVICE_ACTIONS) < set(ACTIONS)


def test_job_triggers_are_job_dash_every_job_event() -> None:
    assert (*JOB_EVENTS, *FLUX_EVENTS) == JOB_EVENT_NAMES
    assert get_args(JobTrigger) == tuple(f"job-{e}" for e in JOB_EVENT_NAMES)
    assert (*get_args(EnsembleTrigger), *get_args(JobTrigger)) == TRIGGERS


def test_each_trigger_knows_its_job_event() -> None:
    for event in JOB_EVENT_NAMES:
        assert Rule(f"job-{event}", Action("terminate")).job_event == event  # type: ignore[arg-type]
    for trigger in get_args(EnsembleTrigger):
        assert Rule(trigger, Action("terminate")).job_event is None


def test_trigger_aliases_resolve_to_canonical_triggers() -> None:
    assert parse_trigger("job-fail") == "job-failure"
    assert parse_trigger("job-run") == "job-start"
    assert parse_trigger("metric") == "metric"


UNKNOWN_WORDS: list[tuple[Callable[[], object], str, Sequence[str]]] = [
    (lambda: Action("explode"), "explode", ACTIONS),  # type: ignore[arg-type]
    (lambda: make_action({"name": "explode"}), "explode", ACTIONS),
    (lambda: returned_actions([{"name": "explode"}]), "explode", ACTIONS),
    (lambda: Condition("=<", 1.0), "=<", COMPARISONS),  # type: ignore[arg-type]
    (lambda: Rule("job-teleport", Action("terminate")), "job-teleport", TRIGGERS),  # type: ignore[arg-type]
    (lambda: parse_trigger("job-teleport"), "job-teleport", TRIGGERS),
    (lambda: parse_action("custom", "{}"), "custom", SERVICE_ACTIONS),
]


@pytest.mark.parametrize(("build", "word", "allowed"), UNKNOWN_WORDS)
def test_an_unknown_word_is_named_with_the_allowed_ones(
    build: Callable[[], object], word: str, allowed: Sequence[str]
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        build()
    assert isinstance(info.value, ValueError)  # what callers of the parsers catch
    message = str(info.value)
    assert repr(word) in message
    assert all(choice in message for choice in allowed)


def test_an_action_without_a_name_says_so() -> None:
    with pytest.raises(ValueError, match="needs a name"):
        make_action({"label": "sim"})


def test_a_member_event_outside_the_vocabulary_is_refused_by_the_parser() -> None:
    doc: dict[str, Any] = {
        "jobs": [{"name": "sim", "command": "true"}],
        "rules": [{"trigger": "job-teleport", "action": {"name": "terminate"}}],
    }
    with pytest.raises(RuleSyntaxError) as info:
        parse_document(doc, job_events=(*JOB_EVENTS, "teleport"))
    assert info.value.path == "rules[0].trigger"
    assert "'job-teleport'" in info.value.detail and "job-alloc" in info.value.detail


def test_every_job_state_has_a_kind() -> None:
    def kind(state: JobState) -> str:
        return JobEvent("1", "m", "Model", JobState.NEW, state, 0.0).kind

    assert set(EVENT_KINDS.values()) < set(JOB_KINDS)
    assert {s: kind(s) for s in JobState if s not in EVENT_KINDS} == {
        JobState.NEW: "new",
        JobState.PAUSED: "paused",
    }
    assert kind(JobState.NEVER_STARTED) == "failure"


def test_job_states_are_reported_as_plain_strings() -> None:
    spec = parse_document(
        {
            "jobs": [{"name": "sim", "command": "true", "count": 4}],
            "rules": [{"trigger": "start", "action": {"name": "submit", "label": "sim"}}],
        }
    )
    eng = Engine(spec)
    eng.handle(Started(0.0))
    eng.handle(JobUpdate("sim-1", "submit", 1.0))
    eng.handle(JobUpdate("sim-2", "start", 1.0))
    eng.handle(JobUpdate("sim-3", "start", 1.0))
    eng.handle(JobUpdate("sim-3", "cancel", 2.0))
    states = eng.job_states()
    assert states == {"sim": {"requested": 1, "queued": 1, "running": 1, "done": 1}}
    assert all(type(state) is str for state in states["sim"])
    assert json.loads(json.dumps(states)) == states
