"""Rules attached to an Experiment's Models/Ensembles, including a store-published metric."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from insitu import Experiment
from insitu.errors import RuleSyntaxError, UnsupportedOptionError
from insitu.jobs.status import JobState
from insitu.rules import attach_rules, publish_metric
from insitu.store.readiness import find_free_port_block

DEADLINE = 60.0


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("rules", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


def _exe(name: str) -> str:
    found = shutil.which(name)
    assert found is not None
    return found


def test_three_successes_of_sim_start_train(exp: Experiment) -> None:
    sim = exp.create_ensemble("sim", run_settings=exp.create_run_settings(_exe("true")), replicas=4)
    train = exp.create_model("train", exp.create_run_settings(_exe("true")))
    other = exp.create_model("other", exp.create_run_settings(_exe("true")))
    rules = [
        {
            "trigger": "metric",
            "name": "count.sim.success",
            "when": ">= 3",
            "action": {"name": "submit", "label": "train"},
        }
    ]
    with attach_rules(exp, rules, entities=[sim, train]) as session:
        exp.start(other, sim, block=False)
        assert session.wait(DEADLINE)
        result = session.result()
    assert result.metrics.counts["sim"]["success"] == 4
    assert result.metrics.counts["train"]["success"] == 1
    assert "other" not in result.metrics.counts  # not attached: never counted
    assert exp.get_status(train) == [JobState.STATUS_COMPLETED]


def test_published_loss_cancels_sim(exp: Experiment) -> None:
    store = exp.create_database(port=find_free_port_block(1), db_nodes=1)
    exp.start(store)
    sim = exp.create_model("sim", exp.create_run_settings(_exe("sleep"), "60"))
    rules = {
        "rules": [
            {
                "trigger": "metric",
                "name": "store.loss",
                "when": "< 0.01",
                "action": {"name": "cancel", "label": "sim"},
            }
        ],
        "executor": {"metric_interval": 0.05},
    }
    host, _, port = store.get_address()[0].rpartition(":")
    client = redis.Redis(host=host, port=int(port), password=store.password)
    with attach_rules(exp, rules, entities=[sim], store=store) as session:
        exp.start(sim, block=False)
        publish_metric(client, "loss", 0.5)
        deadline = time.monotonic() + DEADLINE
        while session.result().metrics.store.get("loss") != 0.5:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert exp.get_status(sim) == [JobState.STATUS_RUNNING]
        publish_metric(client, "loss", 0.005)
        assert session.wait(DEADLINE)
        result = session.result()
    client.close()
    assert result.metrics.counts["sim"]["cancelled"] == 1
    assert exp.get_status(sim) == [JobState.STATUS_CANCELLED]
    exp.stop(store)


def test_attach_errors(exp: Experiment) -> None:
    sim = exp.create_model("sim", exp.create_run_settings(_exe("true")))
    with pytest.raises(RuleSyntaxError) as info:
        attach_rules(exp, [{"trigger": "start", "action": {"name": "submit", "label": "x"}}], [sim])
    assert info.value.path == "rules[0].action.label"
    with pytest.raises(UnsupportedOptionError):
        attach_rules(exp, [{"trigger": "start", "action": {"name": "grow"}}], [sim])


def test_a_rules_session_samples_its_metrics_into_the_telemetry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from insitu.runtime.telemetry_reader import read_telemetry
    from insitu.wire.telemetry import RulesSample

    monkeypatch.setenv("INSITU_TELEMETRY_PERIOD", "0.05")
    with Experiment("rules-tele", exp_path=str(tmp_path)) as exp:
        sim = exp.create_ensemble(
            "sim", run_settings=exp.create_run_settings(_exe("true")), replicas=3
        )
        rules = [{"trigger": "metric", "name": "count.sim.success", "when": ">= 99",
                  "action": {"name": "submit", "label": "sim"}}]  # fmt: skip
        with attach_rules(exp, rules, entities=[sim]) as session:
            exp.start(sim, block=False)
            assert session.wait(DEADLINE)
            deadline = time.monotonic() + DEADLINE
            while not any(s.counts.get("sim", {}).get("success") == 3
                          for s in read_telemetry(tmp_path).rules):  # fmt: skip
                assert time.monotonic() < deadline, "no rules sample with the three successes"
                time.sleep(0.05)
        # Closed, the session is no longer sampled.
        lines = exp._sampler.sample_once()
        assert not [line for line in lines if isinstance(line, RulesSample)]
    assert {s.session for s in read_telemetry(tmp_path).rules} == {"sim"}
