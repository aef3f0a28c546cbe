"""Loading rules files: ensemble-python files as they are, and every error naming its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from insitu.errors import ConfigurationError, RuleSyntaxError
from insitu.rules.model import Condition
from insitu.rules.parse import load_file, parse_document, parse_when

HELLO = """
jobs:
  - name: echo
    command: echo hello world
    count: 5
    nodes: 1
  - name: sleep
    command: sleep 10
    count: 2
    nodes: 1
rules:
  - trigger: start
    action:
      name: submit
      label: sleep
"""

BACKOFF = """
logging:
  debug: false
jobs:
  - {name: echo-repetition, command: echo hello repetition, count: 2, nodes: 1}
  - {name: echo-backoff, command: echo hello backoff, count: 1, nodes: 1}
  - {name: sleep, command: sleep 10, count: 5, nodes: 1}
rules:
  - trigger: start
    action: {name: submit, label: sleep}
  - trigger: job-finish
    name: sleep
    action: {repetitions: 3, name: submit, label: echo-repetition}
  - trigger: job-finish
    name: sleep
    action: {repetitions: 3, backoff: 2, name: submit, label: echo-backoff}
"""

TERMINATE = """
logging: {debug: false, heartbeat: 3}
jobs:
  - {name: echo, command: echo hello world, count: 5, nodes: 1}
  - {name: sleep, command: sleep 10, count: 5, nodes: 1}
rules:
  - trigger: start
    action: {name: submit, label: sleep}
  - trigger: metric
    name: count.sleep.success
    when: 3
    action: {name: submit, label: echo}
  - trigger: metric
    name: count.echo.success
    when: 5
    action: {name: terminate}
"""


def _base() -> dict[str, Any]:
    return {
        "jobs": [{"name": "sim", "command": "true", "count": 2}],
        "rules": [{"trigger": "start", "action": {"name": "submit", "label": "sim"}}],
    }


@pytest.mark.parametrize("text", [HELLO, BACKOFF, TERMINATE])
def test_ensemble_python_examples_load_unchanged(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ensemble.yaml"
    path.write_text(text)
    spec = load_file(path)
    assert spec.rules[0].trigger == "start"
    assert all(Path(t.argv[0]).is_absolute() for t in spec.jobs)
    assert spec.source == str(path)


def test_groups_merge_entries_with_the_same_name() -> None:
    doc = _base()
    doc["jobs"].append({"name": "sim", "command": "echo two", "count": 3})
    spec = parse_document(doc)
    assert spec.groups == ("sim",)
    assert [t.count for t in spec.templates("sim")] == [2, 3]


def test_heartbeat_defaults_to_sixty_seconds_when_rules_need_one() -> None:
    doc = _base()
    doc["rules"].append({"trigger": "heartbeat", "action": {"name": "submit", "label": "sim"}})
    assert parse_document(doc).heartbeat == 60.0
    assert parse_document(_base()).heartbeat is None


def test_params_and_env_extensions() -> None:
    doc = _base()
    doc["jobs"][0].update(command="echo $alpha ${beta}x $HOME", params={"alpha": 1, "beta": "b"})
    doc["jobs"][0]["env"] = {"OMP": 4, "FLAG": True}
    template = parse_document(doc).jobs[0]
    assert template.argv[1:] == ("1", "bx", "$HOME")
    assert template.env == {"OMP": "4", "FLAG": "1"}


def _set(doc: dict[str, Any], path: tuple[object, ...], value: object) -> dict[str, Any]:
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


ERRORS = [
    (("surprise",), 1, "surprise"),
    (("jobs", 0, "cuont"), 2, "jobs[0].cuont"),
    (("jobs", 0, "count"), "many", "jobs[0].count"),
    (("jobs", 0, "count"), -1, "jobs[0].count"),
    (("jobs", 0, "command"), "no-such-program-xyz --flag", "jobs[0].command"),
    (("jobs", 0, "command"), "echo 'unbalanced", "jobs[0].command"),
    (("jobs", 0, "workdir"), "/no/such/dir", "jobs[0].workdir"),
    (("rules", 0, "trigger"), "job-teleport", "rules[0].trigger"),
    (("rules", 0, "action", "name"), "explode", "rules[0].action.name"),
    (("rules", 0, "action", "label"), "nosuchgroup", "rules[0].action.label"),
    (("rules", 0, "action", "repetitions"), 0, "rules[0].action.repetitions"),
    (("rules", 0, "action", "backoff"), "x", "rules[0].action.backoff"),
    (("rules", 0, "when"), 3, "rules[0].when"),
    (("rules", 0, "every"), 3, "rules[0].every"),
    (("logging", "verbose"), True, "logging.verbose"),
    (("executor",), {"size": 0}, "executor.size"),
]


@pytest.mark.parametrize(("path", "value", "where"), ERRORS)
def test_errors_name_their_path(path: tuple[object, ...], value: object, where: str) -> None:
    doc = (
        _set(_base(), path, value)
        if path != ("logging", "verbose")
        else {
            **_base(),
            "logging": {"verbose": True},
        }
    )
    with pytest.raises(RuleSyntaxError) as info:
        parse_document(doc)
    assert info.value.path == where
    assert isinstance(info.value, ConfigurationError)
    assert where in str(info.value)


RULE_ERRORS = [
    ({"trigger": "metric", "action": {"name": "terminate"}}, "rules[1].name"),
    (
        {"trigger": "metric", "name": "count.nope.success", "action": {"name": "terminate"}},
        "rules[1].name",
    ),
    (
        {"trigger": "metric", "name": "count.sim.exploded", "action": {"name": "terminate"}},
        "rules[1].name",
    ),
    (
        {"trigger": "metric", "name": "median.sim-duration", "action": {"name": "terminate"}},
        "rules[1].name",
    ),
    (
        {"trigger": "metric", "name": "mean.sim-walltime", "action": {"name": "terminate"}},
        "rules[1].name",
    ),
    (
        {
            "trigger": "metric",
            "name": "count.sim.success",
            "when": "~3",
            "action": {"name": "terminate"},
        },
        "rules[1].when",
    ),
    (
        {
            "trigger": "metric",
            "name": "count.sim.success",
            "when": ">= x",
            "action": {"name": "terminate"},
        },
        "rules[1].when",
    ),
    ({"trigger": "job-success", "name": "other", "action": {"name": "terminate"}}, "rules[1].name"),
    ({"trigger": "interval", "action": {"name": "terminate"}}, "rules[1].every"),
    (
        {"trigger": "start", "action": {"name": "custom", "label": "missing"}},
        "rules[1].action.label",
    ),
    (
        {"trigger": "start", "action": {"name": "resubmit", "label": "sim", "value": 0}},
        "rules[1].action.value",
    ),
    ({"trigger": "start", "action": {"name": "grow", "value": 1.5}}, "rules[1].action.value"),
    ({"trigger": "start", "action": {"name": "submit"}}, "rules[1].action.label"),
    (
        {"trigger": "start", "action": {"name": "submit", "label": "sim", "colour": 1}},
        "rules[1].action.colour",
    ),
    ({"trigger": "start"}, "rules[1].action"),
]


@pytest.mark.parametrize(("rule", "where"), RULE_ERRORS)
def test_rule_errors_name_their_path(rule: dict[str, Any], where: str) -> None:
    doc = _base()
    doc["rules"].append(rule)
    with pytest.raises(RuleSyntaxError) as info:
        parse_document(doc)
    assert info.value.path == where


def test_custom_code_errors_and_functions() -> None:
    doc = _base()
    doc["custom"] = "def broken(:\n  pass\n"
    with pytest.raises(RuleSyntaxError) as info:
        parse_document(doc)
    assert info.value.path == "custom"
    doc["custom"] = (
        "import os\n\ndef again(**kwargs):\n    return Action({'name': 'submit', 'label': 'sim'})\n"
    )
    doc["rules"].append({"trigger": "start", "action": {"name": "custom", "label": "again"}})
    spec = parse_document(doc)
    assert set(spec.custom) == {"again"}
    action = spec.custom["again"]()
    assert (action.name, action.label) == ("submit", "sim")  # type: ignore[attr-defined]


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n")
    with pytest.raises(RuleSyntaxError, match="not valid YAML"):
        load_file(bad)
    with pytest.raises(RuleSyntaxError, match="cannot read"):
        load_file(tmp_path / "missing.yaml")


def test_trigger_aliases_and_executor_events() -> None:
    doc = _base()
    doc["rules"].append({"trigger": "job-fail", "action": {"name": "terminate"}})
    assert parse_document(doc).rules[1].trigger == "job-failure"
    doc["rules"].append({"trigger": "job-alloc", "action": {"name": "terminate"}})
    with pytest.raises(RuleSyntaxError) as info:
        parse_document(doc)
    assert info.value.path == "rules[2].trigger"
    spec = parse_document(doc, job_events=("submit", "failure", "alloc"))
    assert spec.rules[2].job_event == "alloc"


def test_groups_from_entities_and_dotted_group_names() -> None:
    doc = {
        "rules": [
            {
                "trigger": "metric",
                "name": "count.sim.v2.success",
                "when": ">= 3",
                "action": {"name": "submit", "label": "train"},
            },
            {"trigger": "metric", "name": "mad.sim.v2-pending", "action": {"name": "terminate"}},
        ]
    }
    spec = parse_document(doc, groups=["sim.v2", "train"])
    assert spec.groups == ("sim.v2", "train")
    with pytest.raises(RuleSyntaxError, match="jobs"):
        parse_document({**doc, "jobs": _base()["jobs"]}, groups=["sim.v2", "train"])


WHEN = [
    (3, Condition("==", 3.0)),
    (2.5, Condition("==", 2.5)),
    ("3", Condition("==", 3.0)),
    ("= 3", Condition("==", 3.0)),
    ("==3", Condition("==", 3.0)),
    ("!= 0", Condition("!=", 0.0)),
    ("< -1.5", Condition("<", -1.5)),
    ("<= 2e-3", Condition("<=", 0.002)),
    (">= 10", Condition(">=", 10.0)),
    ("> .5", Condition(">", 0.5)),
    (" >  -7 ", Condition(">", -7.0)),
    (-4, Condition("==", -4.0)),
]


@pytest.mark.parametrize(("text", "expected"), WHEN)
def test_when_forms(text: object, expected: Condition) -> None:
    assert parse_when(text) == expected


@pytest.mark.parametrize("text", [True, "x", "=< 3", "3 >", ">= 1 2", "", float("nan")])
def test_bad_when(text: object) -> None:
    with pytest.raises(ValueError):
        parse_when(text)


@pytest.mark.parametrize(
    ("op", "operand", "value", "holds"),
    [
        ("==", 3, 3, True),
        ("==", 3, 3.5, False),
        ("!=", 3, 2, True),
        ("<", -1, -2, True),
        ("<", -1, -1, False),
        ("<=", -1, -1, True),
        (">", 0.01, 0.02, True),
        (">=", 0.01, 0.005, False),
    ],
)
def test_condition_holds(op: str, operand: float, value: float, holds: bool) -> None:
    assert Condition(op, operand).holds(value) is holds
