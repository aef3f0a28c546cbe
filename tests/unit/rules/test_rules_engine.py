"""The pure engine: every trigger, action, repetition/backoff sequence and metric path."""

from __future__ import annotations

from typing import Any

import pytest

from insitu.rules.actions import ActionBudget, make_action, returned_actions
from insitu.rules.engine import Engine
from insitu.rules.events import (
    ActionRequest,
    CancelJobs,
    Effect,
    Fired,
    JobUpdate,
    MetricSample,
    Rejected,
    Resize,
    ResubmitJobs,
    RunCustom,
    Started,
    SubmitJobs,
    Terminate,
    Tick,
)
from insitu.rules.model import Action
from insitu.rules.parse import parse_document


def engine(
    rules: list[dict[str, Any]],
    jobs: list[dict[str, Any]] | None = None,
    adopt_groups: list[str] | None = None,
    **extra: Any,
) -> Engine:
    doc: dict[str, Any] = {"rules": rules, **extra}
    if adopt_groups is None:
        doc["jobs"] = jobs or [
            {"name": "sim", "command": "true", "count": 2},
            {"name": "post.v2", "command": "true"},
        ]
    spec = parse_document(doc, groups=adopt_groups)
    return Engine(spec, adopt=adopt_groups is not None)


def of(effects: list[Effect], kind: type) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def submit(group: str, **action: Any) -> dict[str, Any]:
    return {"name": "submit", "label": group, **action}


def run_jobs(eng: Engine, keys: list[str], kind: str, t0: float = 10.0) -> list[Effect]:
    out: list[Effect] = []
    for i, key in enumerate(keys):
        out += eng.handle(JobUpdate(key, kind, t0 + i))
    return out


def test_start_submits_every_template_copy() -> None:
    eng = engine([{"trigger": "start", "action": submit("sim")}])
    effects = eng.handle(Started(0.0))
    fired = of(effects, Fired)
    assert [f.trigger for f in fired] == ["start"]
    (sub,) = of(effects, SubmitJobs)
    assert [t.key for t in sub.tickets] == ["sim-0", "sim-1"]
    assert eng.active_jobs() == 2
    assert eng.handle(Started(1.0)) == []  # start happens once


def test_job_event_rules_are_scoped_to_their_group() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": submit("sim")},
            {"trigger": "start", "action": submit("post.v2")},
            {"trigger": "job-success", "name": "post.v2", "action": {"name": "terminate"}},
        ]
    )
    eng.handle(Started(0.0))
    effects = run_jobs(eng, ["sim-0", "sim-1"], "success")
    assert of(effects, Terminate) == []  # sim's successes do not fire post.v2's rule
    effects = eng.handle(JobUpdate("post.v2-0", "success", 20.0))
    assert of(effects, Terminate) == [Terminate(cancel_running=True)]


def test_unscoped_job_rule_fires_for_any_group_but_never_for_foreign_jobs() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": submit("sim")},
            {"trigger": "job-start", "action": submit("post.v2", repetitions=9)},
        ]
    )
    eng.handle(Started(0.0))
    assert eng.handle(JobUpdate("someone-else", "start", 1.0)) == []
    assert eng.handle(JobUpdate("sim-9", "start", 1.0, group="sim")) == []  # not adopting
    assert len(of(eng.handle(JobUpdate("sim-0", "start", 1.0)), SubmitJobs)) == 1


JOB_EVENT_CASES = [
    ("submit", None, ["submit"]),
    ("start", None, ["start"]),
    ("success", 0, ["finish", "success"]),
    ("failure", 3, ["finish", "failure"]),
    ("failure", -9, ["finish", "failure", "exception"]),
    ("cancel", -15, ["finish", "cancel"]),
]


@pytest.mark.parametrize(("kind", "code", "events"), JOB_EVENT_CASES)
def test_each_job_event_triggers_its_rules(kind: str, code: int | None, events: list[str]) -> None:
    names = ["submit", "start", "finish", "success", "failure", "cancel", "exception"]
    rules = [{"trigger": "start", "action": submit("sim")}]
    rules += [{"trigger": f"job-{n}", "name": "sim", "action": {"name": "grow"}} for n in names]
    eng = engine(rules, executor={"size": 2})
    eng.handle(Started(0.0))
    if kind not in ("submit", "start"):
        eng.handle(JobUpdate("sim-0", "start", 1.0))
    effects = eng.handle(JobUpdate("sim-0", kind, 2.0, code))
    assert [f.rule.trigger for f in of(effects, Fired)] == [f"job-{e}" for e in events]
    assert all(f.trigger.endswith(" sim") for f in of(effects, Fired))


def test_failure_before_start_is_an_exception_and_counts_as_failed() -> None:
    eng = engine([{"trigger": "start", "action": submit("sim")}])
    eng.handle(Started(0.0))
    eng.handle(JobUpdate("sim-0", "failure", 1.0))
    counts = eng.metrics.snapshot().counts["sim"]
    assert counts == {"finished": 1, "success": 0, "failed": 1, "cancelled": 0}
    assert "sim-duration" not in eng.metrics.snapshot().series


def test_metric_rule_when_and_counting() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": submit("sim")},
            {
                "trigger": "metric",
                "name": "count.sim.success",
                "when": 2,
                "action": submit("post.v2"),
            },
        ]
    )
    eng.handle(Started(0.0))
    assert of(eng.handle(JobUpdate("sim-0", "success", 1.0)), SubmitJobs) == []
    assert len(of(eng.handle(JobUpdate("sim-1", "success", 2.0)), SubmitJobs)) == 1


@pytest.mark.parametrize(
    ("repetitions", "backoff", "pattern"),
    [
        (1, None, "X......."),
        (3, None, "XXX....."),
        (3, 0, "XXX....."),
        (3, 2, "X..X..X."),
        (2, 1, "X.X....."),
        (4, 3, "X...X..."),
    ],
)
def test_repetitions_and_backoff_follow_ensemble_python(
    repetitions: int, backoff: int | None, pattern: str
) -> None:
    budget = ActionBudget(Action("submit", "x", repetitions, backoff))
    assert "".join("X" if budget.perform() else "." for _ in pattern) == pattern
    rules = [
        {"trigger": "start", "action": submit("sim")},
        {
            "trigger": "job-finish",
            "name": "sim",
            "action": submit("post.v2", repetitions=repetitions)
            | ({} if backoff is None else {"backoff": backoff}),
        },
    ]
    jobs = [
        {"name": "sim", "command": "true", "count": len(pattern)},
        {"name": "post.v2", "command": "true"},
    ]
    eng = engine(rules, jobs)
    eng.handle(Started(0.0))
    runs = ""
    for i in range(len(pattern)):
        effects = eng.handle(JobUpdate(f"sim-{i}", "success", 1.0 + i))
        runs += "X" if of(effects, SubmitJobs) else "."
    assert runs == pattern


def test_cancel_targets_the_groups_live_jobs() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": submit("sim")},
            {
                "trigger": "job-success",
                "name": "post.v2",
                "action": {"name": "cancel", "label": "sim"},
            },
            {"trigger": "start", "action": submit("post.v2")},
        ]
    )
    eng.handle(Started(0.0))
    eng.handle(JobUpdate("sim-0", "success", 1.0))
    (cancel,) = of(eng.handle(JobUpdate("post.v2-0", "success", 2.0)), CancelJobs)
    assert cancel == CancelJobs("sim", ("sim-1",))


def test_resubmit_is_bounded_per_job() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": submit("sim")},
            {
                "trigger": "job-failure",
                "name": "sim",
                "action": {"name": "resubmit", "label": "sim", "value": 2, "repetitions": 10},
            },
        ],
        [{"name": "sim", "command": "true", "count": 1}],
    )
    eng.handle(Started(0.0))
    keys = ["sim-0"]
    for _ in range(3):
        effects = eng.handle(JobUpdate(keys[-1], "failure", 1.0, 1))
        resubmits = of(effects, ResubmitJobs)
        if not resubmits or not resubmits[0].tickets:
            break
        (ticket,) = resubmits[0].tickets
        assert ticket.retry_of == keys[-1]
        keys.append(ticket.key)
    assert keys == ["sim-0", "sim-1", "sim-2"]  # two retries, then no more
    assert eng.active_jobs() == 0


def test_terminate_stops_every_rule_but_metrics_continue() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": submit("sim")},
            {"trigger": "job-start", "action": {"name": "terminate"}},
            {"trigger": "job-finish", "action": submit("post.v2")},
        ],
        executor={"on_terminate": "leave"},
    )
    eng.handle(Started(0.0))
    assert of(eng.handle(JobUpdate("sim-0", "start", 1.0)), Terminate) == [Terminate(False)]
    assert eng.handle(JobUpdate("sim-0", "success", 2.0)) == []
    assert eng.metrics.snapshot().counts["sim"]["success"] == 1
    assert eng.next_deadline() is None
    (rejected,) = of(eng.handle(ActionRequest(Action("submit", "sim"), 3.0)), Rejected)
    assert "terminated" in rejected.reason


def test_custom_grow_shrink_effects() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": {"name": "custom", "label": "decide"}},
            {"trigger": "start", "action": {"name": "grow", "value": 3}},
            {"trigger": "start", "action": {"name": "shrink", "label": "sim"}},
        ],
        custom="def decide(**kwargs):\n    return None\n",
        executor={"size": 1},
    )
    effects = eng.handle(Started(5.0))
    (custom,) = of(effects, RunCustom)
    assert custom.function == "decide" and custom.rule is not None
    assert custom.metrics.counts == {}
    assert of(effects, Resize) == [Resize(3, None), Resize(-1, "sim")]


def test_action_requests_run_once_and_are_checked() -> None:
    eng = engine([{"trigger": "start", "action": {"name": "terminate"}}])
    request = eng.handle(ActionRequest(Action("submit", "sim"), 1.0, "custom f"))
    assert [f.trigger for f in of(request, Fired)] == ["request from custom f"]
    assert len(of(request, SubmitJobs)[0].tickets) == 2
    (bad,) = of(eng.handle(ActionRequest(Action("submit", "ghost"), 1.0)), Rejected)
    assert "ghost" in bad.reason


def test_heartbeat_counts_waiting_jobs_once_then_replaces_them() -> None:
    eng = engine(
        [
            {"trigger": "start", "action": submit("sim")},
            {
                "trigger": "metric",
                "name": "max.sim-pending",
                "when": ">= 5",
                "action": {"name": "terminate"},
            },
            {"trigger": "heartbeat", "action": submit("post.v2", repetitions=2)},
        ],
        logging={"heartbeat": 2},
    )
    eng.handle(Started(0.0))
    eng.handle(JobUpdate("sim-0", "submit", 0.0))
    eng.handle(JobUpdate("sim-1", "submit", 0.0))
    assert eng.next_deadline() == 2.0
    assert eng.handle(Tick(1.0)) == []  # not due
    effects = eng.handle(Tick(2.0))
    assert len(of(effects, SubmitJobs)) == 1  # the heartbeat rule
    series = eng.metrics.snapshot().series["sim-pending"]
    assert series["mean"] == pytest.approx(2.0) and series["max"] == 2.0
    eng.handle(JobUpdate("sim-0", "start", 3.0))
    series = eng.metrics.snapshot().series["sim-pending"]
    assert series["mean"] == pytest.approx(2.5)  # sim-0 final 3 s, sim-1 provisional 2 s
    effects = eng.handle(Tick(6.0))  # sim-1 has now waited 6 s: max >= 5
    assert of(effects, Terminate)
    assert not eng.has_live_periodic()


def test_interval_rules_fire_every_period_until_exhausted() -> None:
    eng = engine([{"trigger": "interval", "every": 0.5, "action": submit("sim", repetitions=2)}])
    eng.handle(Started(100.0))
    assert eng.has_live_periodic() and eng.next_deadline() == 100.5
    fired = [bool(of(eng.handle(Tick(100.0 + 0.5 * i)), SubmitJobs)) for i in range(1, 5)]
    assert fired == [True, True, False, False]
    assert not eng.has_live_periodic() and eng.next_deadline() is None


def test_store_metric_samples() -> None:
    eng = engine(
        [
            {
                "trigger": "metric",
                "name": "store.loss.train",
                "when": "< 0.01",
                "action": {"name": "cancel", "label": "sim"},
            }
        ]
    )
    eng.handle(Started(0.0))
    assert eng.handle(MetricSample("loss.train", 0.5, 1.0)) == []
    assert of(eng.handle(MetricSample("loss.train", 0.009, 2.0)), CancelJobs)


METRIC_PATHS = [
    ("count.sim.finished", 3.0),
    ("count.sim.success", 2.0),
    ("count.sim.failed", 1.0),
    ("count.sim.cancelled", 0.0),
    ("mean.sim-duration", 2.0),
    ("max.sim-duration", 3.0),
    ("min.sim-duration", 1.0),
    ("variance.sim-duration", 1.0),
    ("mean.sim-pending", 0.5),
    ("count.post.v2.success", None),
]


@pytest.mark.parametrize(("path", "value"), METRIC_PATHS)
def test_metric_paths(path: str, value: float | None) -> None:
    eng = engine(
        [{"trigger": "start", "action": submit("sim")}],
        [{"name": "sim", "command": "true", "count": 3}, {"name": "post.v2", "command": "true"}],
    )
    eng.handle(Started(0.0))
    for i, (kind, length) in enumerate([("success", 1.0), ("success", 2.0), ("failure", 3.0)]):
        eng.handle(JobUpdate(f"sim-{i}", "submit", 0.0))
        eng.handle(JobUpdate(f"sim-{i}", "start", 0.5))
        eng.handle(JobUpdate(f"sim-{i}", kind, 0.5 + length, 0 if kind == "success" else 1))
    assert eng.metrics.snapshot().get(path) == value


def test_adopted_jobs_of_watched_groups() -> None:
    eng = engine(
        [{"trigger": "metric", "name": "count.sim.success", "when": 2, "action": submit("train")}],
        adopt_groups=["sim", "train"],
    )
    eng.handle(Started(0.0))
    assert eng.handle(JobUpdate("x@1", "submit", 0.0, group="other")) == []
    eng.handle(JobUpdate("sim_0@11", "submit", 0.0, group="sim"))
    assert eng.active_jobs() == 1
    eng.handle(JobUpdate("sim_0@11", "success", 1.0, 0, group="sim"))
    effects = eng.handle(JobUpdate("sim_1@12", "success", 1.0, 0, group="sim"))
    assert of(effects, SubmitJobs) == [SubmitJobs("train", ())]
    assert eng.active_jobs() == 0


def test_returned_actions_and_compat_constructor() -> None:
    action = make_action({"name": "submit", "label": 7}, repetitions=2)
    assert action == Action("submit", "7", 2)
    assert returned_actions(None) == []
    assert returned_actions([action, {"name": "terminate"}]) == [action, Action("terminate")]
    with pytest.raises(ValueError):
        returned_actions(42)
    with pytest.raises(ValueError):
        make_action({"name": "submit", "bogus": 1})
