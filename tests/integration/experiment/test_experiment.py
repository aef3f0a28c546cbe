"""Experiment end to end: models, ensembles, generation, status, summary, errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from insitu import Experiment, JobState, SmartSimStatus
from insitu.errors import (
    AlreadyRunningError,
    EntityDirExistsError,
    EntityExistsError,
    EntityNotLaunchedError,
    ExecutableNotFoundError,
    InvalidArgumentError,
    ParameterTypeError,
    SmartSimError,
    UnknownLauncherError,
    UnsupportedOptionError,
    UserStrategyError,
)


def summary_rows(text: str) -> list[list[str]]:
    """The cells of each data row of a github-style summary table."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()[2:]]


def test_model_runs_and_writes_its_output(exp: Experiment, tmp_path: Path) -> None:
    rs = exp.create_run_settings("echo", exe_args="Hello World")
    model = exp.create_model("hello_world", rs)
    exp.start(model)
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
    assert exp.finished(model)
    out = tmp_path / "hello_world" / "hello_world.out"
    assert out.read_text() == "Hello World\n"
    assert (tmp_path / "hello_world" / "hello_world.err").exists()


def test_failed_model_status_and_return_code(exp: Experiment) -> None:
    model = exp.create_model("bad", exp.create_run_settings("sh", exe_args=["-c", "exit 7"]))
    exp.start(model)
    assert exp.get_status(model) == [SmartSimStatus.STATUS_FAILED]
    rows = summary_rows(exp.summary())
    assert [(r[1], r[6], r[7]) for r in rows] == [("bad", "Failed", "7")]


def test_summary_has_one_row_per_run(exp: Experiment) -> None:
    model = exp.create_model("m", exp.create_run_settings("true"))
    exp.start(model)
    exp.start(model)
    lines = exp.summary().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["", "Name", "Entity-Type", "JobID", "RunID", "Time", "Status", "Returncode"]
    rows = summary_rows(exp.summary())
    assert [(r[1], r[2], r[4], r[6], r[7]) for r in rows] == [
        ("m", "Model", "0", "Completed", "0"),
        ("m", "Model", "1", "Completed", "0"),
    ]


def test_ensemble_params_args_and_layout(exp: Experiment, tmp_path: Path) -> None:
    rs = exp.create_run_settings("echo")
    ens = exp.create_ensemble(
        "ens", params={"x": [1, 2], "y": ["a"]}, run_settings=rs, params_as_args=["x", "y"]
    )
    exp.generate(ens)
    exp.start(ens)
    assert exp.get_status(ens) == [JobState.STATUS_COMPLETED] * 2
    outs = sorted((tmp_path / "ens").glob("ens_*/ens_*.out"))
    assert [p.parent.name for p in outs] == ["ens_0", "ens_1"]
    assert {p.read_text() for p in outs} == {"-x 1 -y a\n", "-x 2 -y a\n"}


def test_replicas_and_key_prefixing_env(exp: Experiment, tmp_path: Path) -> None:
    rs = exp.create_run_settings("sh", exe_args=["-c", 'echo "$SSKEYOUT"'])
    ens = exp.create_ensemble("rep", run_settings=rs, replicas=3)
    exp.start(ens)
    for i in range(3):
        out = tmp_path / "rep" / f"rep_{i}" / f"rep_{i}.out"
        assert out.read_text() == f"rep_{i}\n"


def test_incoming_entities_reach_sskeyin(exp: Experiment, tmp_path: Path) -> None:
    producer = exp.create_model("producer", exp.create_run_settings("true"))
    consumer = exp.create_model(
        "consumer", exp.create_run_settings("sh", exe_args=["-c", 'echo "$SSKEYIN"'])
    )
    consumer.register_incoming_entity(producer)
    exp.start(consumer)
    assert (tmp_path / "consumer" / "consumer.out").read_text() == "producer\n"


def test_generate_layout_and_tag_substitution(exp: Experiment, tmp_path: Path) -> None:
    template = tmp_path.parent / f"{tmp_path.name}-in.txt"
    template.write_text("steps = ;steps;\n")
    rs = exp.create_run_settings("cat", exe_args=["in.txt"])
    ens = exp.create_ensemble("sweep", params={"steps": [10, 20]}, run_settings=rs)
    ens.attach_generator_files(to_configure=[str(template)])
    for member in ens.models:
        member.run_settings.exe_args = [template.name]
    store = exp.create_database(port=6379)
    exp.generate(store, ens)
    assert (tmp_path / "orchestrator").is_dir()
    exp.start(ens)
    texts = sorted(p.read_text() for p in (tmp_path / "sweep").glob("sweep_*/sweep_*.out"))
    assert texts == ["steps = 10\n", "steps = 20\n"]


def test_generate_refuses_existing_dir_without_overwrite(exp: Experiment, tmp_path: Path) -> None:
    model = exp.create_model("gen", exp.create_run_settings("true"))
    exp.generate(model)
    marker = tmp_path / "gen" / "keep.txt"
    marker.write_text("x")
    with pytest.raises(EntityDirExistsError, match="gen"):
        exp.generate(model)
    assert marker.exists()
    exp.generate(model, overwrite=True)
    assert not marker.exists()


def test_custom_tag(exp: Experiment, tmp_path: Path) -> None:
    template = tmp_path.parent / f"{tmp_path.name}-tagged.txt"
    template.write_text("a=@a@\n")
    model = exp.create_model("tagged", exp.create_run_settings("true"), params={"a": 5})
    model.attach_generator_files(to_configure=str(template))
    exp.generate(model, tag="@")
    assert (tmp_path / "tagged" / template.name).read_text() == "a=5\n"


def test_get_status_never_started_and_finished_raises(exp: Experiment) -> None:
    model = exp.create_model("idle", exp.create_run_settings("true"))
    assert exp.get_status(model) == [JobState.STATUS_NEVER_STARTED]
    with pytest.raises(EntityNotLaunchedError, match="idle"):
        exp.finished(model)


def test_stop_cancels_and_poll_returns(exp: Experiment) -> None:
    slow = exp.create_model("slow", exp.create_run_settings("sleep", exe_args="300"))
    quick = exp.create_model("quick", exp.create_run_settings("true"))
    exp.start(slow, block=False)
    exp.start(quick, block=False)
    with pytest.raises(AlreadyRunningError, match="slow"):
        exp.start(slow, block=False)
    exp.stop(slow)
    assert exp.get_status(slow) == [JobState.STATUS_CANCELLED]
    exp.poll(interval=1, verbose=True)
    assert exp.get_status(quick) == [JobState.STATUS_COMPLETED]


def test_events_can_be_subscribed(exp: Experiment) -> None:
    kinds: list[tuple[str, str]] = []
    exp.subscribe(lambda e: kinds.append((e.name, e.kind)))
    exp.start(exp.create_model("ev", exp.create_run_settings("true")))
    assert kinds[:2] == [("ev", "submit"), ("ev", "start")]
    assert ("ev", "success") in kinds


def test_preview_plain_text(
    exp: Experiment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = exp.create_database(port=6379, db_nodes=3)
    model = exp.create_model("hello_world", exp.create_run_settings("echo", exe_args="Hello World"))
    exp.preview(store, model, verbosity_level="debug")
    text = capsys.readouterr().out
    assert "=== Experiment Overview ===" in text
    assert "Experiment Name: exp" in text and f"Experiment Path: {tmp_path}" in text
    assert "Launcher: local" in text
    assert "= Database Identifier: orchestrator =" in text and "Shards: 3" in text
    assert "6379\n" in text and "6380\n" in text and "6381\n" in text
    assert "= Model Name: hello_world =" in text and "Executable: /" in text
    assert "Hello\n" in text.replace("  Hello", "Hello")
    assert "Tensors: Off" in text
    out = tmp_path / "preview.txt"
    exp.preview(model, verbosity_level="developer", output_filename=str(out))
    assert "Launch Command:" in out.read_text()
    with pytest.raises(InvalidArgumentError, match="verbosity"):
        exp.preview(model, verbosity_level="loud")
    with pytest.raises(InvalidArgumentError, match="plain_text"):
        exp.preview(model, output_format="html")


def test_bad_input_errors(exp: Experiment, tmp_path: Path) -> None:
    with pytest.raises(UnknownLauncherError, match="dragon"):
        Experiment("x", exp_path=str(tmp_path), launcher="dragon")
    with pytest.raises(UnknownLauncherError, match="warp"):
        Experiment("x", exp_path=str(tmp_path), launcher="warp")
    with pytest.raises(ExecutableNotFoundError, match="no-such-exe"):
        exp.create_run_settings("no-such-exe-anywhere")
    rs = exp.create_run_settings("true")
    exp.create_model("dup", rs)
    with pytest.raises(EntityExistsError, match="dup"):
        exp.create_model("dup", rs)
    with pytest.raises(UserStrategyError, match="best_perm"):
        exp.create_ensemble("e1", params={"a": [1]}, run_settings=rs, perm_strategy="best_perm")
    with pytest.raises(UserStrategyError):
        exp.create_ensemble(
            "e2", params={"a": [1, 2], "b": [1]}, run_settings=rs, perm_strategy="step"
        )
    with pytest.raises(ParameterTypeError, match="a"):
        exp.create_ensemble("e3", params={"a": [object()]}, run_settings=rs)
    with pytest.raises(TypeError):
        exp.create_model("m2", rs, params={"p": [1, 2]})  # type: ignore[dict-item]
    with pytest.raises(SmartSimError, match="batch"):
        exp.create_batch_settings(nodes=2)


def test_unsupported_run_settings_refused_before_anything_starts(
    exp: Experiment, tmp_path: Path
) -> None:
    ok = exp.create_model("fine", exp.create_run_settings("sleep", exe_args="300"))
    rs = exp.create_run_settings("true")
    rs.set_nodes(4)
    bad = exp.create_model("wide", rs)
    with pytest.raises(UnsupportedOptionError, match="nodes"):
        exp.start(ok, bad, block=False)
    assert exp.get_status(ok) == [JobState.STATUS_NEVER_STARTED]


def test_nodes_one_is_fine_locally(exp: Experiment) -> None:
    rs = exp.create_run_settings("true")
    rs.set_nodes(1)
    rs.set_tasks(1)
    model = exp.create_model("n1", rs)
    exp.start(model)
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]


def test_exp_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        Experiment("x", exp_path=str(tmp_path / "missing"))


def test_default_path_is_cwd_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exp = Experiment("where")
    assert exp.exp_path == os.path.join(str(tmp_path), "where")
    model = exp.create_model("m", exp.create_run_settings(sys.executable, exe_args=["-c", "pass"]))
    exp.start(model)
    assert (tmp_path / "where" / "m" / "m.out").exists()
    exp.stop_all()


def test_preview_names_replicas_and_acl(
    exp: Experiment, capsys: pytest.CaptureFixture[str]
) -> None:
    store = exp.create_database(port=6379, db_nodes=3, replicas=1, acl="per_entity")
    exp.preview(store)
    text = capsys.readouterr().out
    assert "Shards: 3" in text and "Replicas per shard: 1" in text
    assert "ACL users: per_entity" in text
    assert "6384\n" in text  # the replicas' ports follow the masters'
    assert store.shard_names[3:] == ["orchestrator_3", "orchestrator_4", "orchestrator_5"]
