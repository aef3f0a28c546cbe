"""Pure pieces of the foundation: log levels, summary rows, manifests, job events."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from insitu import Ensemble, Model, RunSettings
from insitu.errors import EntityExistsError, ParameterTypeError
from insitu.experiment.selection import select_entities
from insitu.experiment.summary import HEADERS, render_summary, summary_rows
from insitu.jobs import JobEvent, JobSpec, JobState
from insitu.log import get_logger, level_from_env
from insitu.runtime.job_table import JobRecord


@pytest.mark.parametrize(
    ("insitu", "smartsim", "level"),
    [
        (None, None, logging.INFO),
        ("debug", None, logging.DEBUG),
        (None, "quiet", logging.WARNING),
        ("developer", "quiet", logging.DEBUG),
        ("ERROR", None, logging.ERROR),
        ("nonsense", None, logging.INFO),
    ],
)
def test_level_from_env(
    monkeypatch: pytest.MonkeyPatch, insitu: str | None, smartsim: str | None, level: int
) -> None:
    for var, value in (("INSITU_LOG_LEVEL", insitu), ("SMARTSIM_LOG_LEVEL", smartsim)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    assert level_from_env() == level
    assert get_logger("insitu.test.level").level == level


def test_get_logger_adds_one_handler() -> None:
    first = get_logger("insitu.test.once")
    second = get_logger("insitu.test.once")
    assert first is second
    assert len(first.handlers) == 1


def _record(name: str, run_id: int, state: JobState, rc: int | None, t: float) -> JobRecord:
    spec = JobSpec(name=name, exe="/bin/true")
    return JobRecord(
        "42", name, "Model", name, run_id, "local", spec, state, t, t + 0.5, t + 2.0, rc
    )


def test_summary_rows_in_submission_order() -> None:
    records = [
        _record("b", 0, JobState.STATUS_FAILED, 3, 20.0),
        _record("a", 0, JobState.STATUS_COMPLETED, 0, 10.0),
    ]
    rows = summary_rows(records)
    assert rows == [
        ("a", "Model", "42", 0, 2.0, "Completed", "0"),
        ("b", "Model", "42", 0, 2.0, "Failed", "3"),
    ]
    text = render_summary(records)
    assert all(h in text.splitlines()[0] for h in HEADERS)


def test_job_event_kinds() -> None:
    def event(state: JobState) -> JobEvent:
        return JobEvent("1", "m", "Model", JobState.STATUS_NEW, state, 0.0)

    assert event(JobState.STATUS_QUEUED).kind == "submit"
    assert event(JobState.STATUS_RUNNING).kind == "start"
    assert event(JobState.STATUS_COMPLETED).kind == "success"
    assert event(JobState.STATUS_FAILED).kind == "failure"
    assert event(JobState.STATUS_CANCELLED).kind == "cancel"


def test_manifest_sorts_and_rejects(tmp_path: Path) -> None:
    rs = RunSettings("true")
    model = Model("m", {}, rs, path=str(tmp_path / "m"))
    ens = Ensemble("e", {}, run_settings=rs, replicas=2, path=str(tmp_path / "e"))
    selection = select_entities(model, [ens])
    assert selection.models == (model,) and selection.ensembles == (ens,)
    assert [m.name for m in selection.all_models] == ["m", "e_0", "e_1"]
    with pytest.raises(EntityExistsError, match="'m'"):
        select_entities(model, Model("m", {}, rs, path=str(tmp_path / "m2")))
    with pytest.raises(EntityExistsError, match="e_0"):
        select_entities(ens, Model("e_0", {}, rs, path=str(tmp_path / "x")))
    with pytest.raises(ParameterTypeError, match="str"):
        select_entities("not an entity")
