"""Ensemble: member expansion (params, strategies, replicas), SmartSim errors, add_model."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.entities import Ensemble, Model
from insitu.errors import (
    EntityExistsError,
    InvalidArgumentError,
    ParameterTypeError,
    SmartSimError,
    UnknownStrategyError,
    UserStrategyError,
)
from insitu.settings import BatchSettings, RunSettings


def settings() -> RunSettings:
    return RunSettings("echo", exe_args="run")


def test_params_expand_into_named_members(tmp_path: Path) -> None:
    rs = settings()
    ens = Ensemble("ens", {"a": [1, 2], "b": "x"}, path=tmp_path / "ens", run_settings=rs)
    assert ens.type == "Ensemble"
    assert ens.path == str(tmp_path / "ens")
    assert [m.name for m in ens.models] == ["ens_0", "ens_1"]
    assert [m.params for m in ens.models] == [{"a": "1", "b": "x"}, {"a": "2", "b": "x"}]
    assert [m.path for m in ens.models] == [str(tmp_path / "ens" / f"ens_{i}") for i in range(2)]
    assert all(m.query_key_prefixing() for m in ens.models)
    assert ens.query_key_prefixing() is True
    assert all(m.run_settings is not rs for m in ens.models)
    assert ens.models[0].run_settings is not ens.models[1].run_settings
    assert len(ens) == 2
    assert ens["ens_1"] is ens.models[1]
    assert ens["nope"] is None
    assert list(ens) == ens.models
    assert ens.entities == ens.models


def test_params_as_args_apply_to_each_member() -> None:
    rs = settings()
    ens = Ensemble("e", {"steps": [10, 20], "c": 1}, run_settings=rs, params_as_args=["steps"])
    assert [m.run_settings.exe_args for m in ens.models] == [
        ["run", "--steps=10"], ["run", "--steps=20"],
    ]  # fmt: skip
    assert rs.exe_args == ["run"]
    with pytest.raises(InvalidArgumentError):
        Ensemble("e", {"a": 1}, run_settings=rs, params_as_args=["b"])


def test_step_and_random_strategies() -> None:
    step = Ensemble(
        "s", {"a": [1, 2, 3], "b": [4, 5, 6]}, run_settings=settings(), perm_strat="step"
    )
    assert [m.params for m in step.models] == [
        {"a": "1", "b": "4"}, {"a": "2", "b": "5"}, {"a": "3", "b": "6"},
    ]  # fmt: skip
    space = {"a": [1, 2, 3], "b": [4, 5]}
    rand = Ensemble("r", space, run_settings=settings(), perm_strat="random", n_models=3)
    assert len(rand) == 3
    assert len({tuple(m.params.items()) for m in rand}) == 3


def test_custom_strategy_receives_extra_kwargs() -> None:
    def doubled(names: list[str], vals: list[list[str]], factor: int = 1) -> list[dict[str, str]]:
        return [{names[0]: v} for v in vals[0] for _ in range(factor)]

    ens = Ensemble("c", {"a": [1, 2]}, run_settings=settings(), perm_strat=doubled, factor=2)
    assert [m.params["a"] for m in ens] == ["1", "1", "2", "2"]


def test_replicas_copy_the_run_settings() -> None:
    ens = Ensemble("rep", None, run_settings=settings(), replicas=3)
    assert [m.name for m in ens] == ["rep_0", "rep_1", "rep_2"]
    assert all(m.params == {} for m in ens)
    assert ens.replicas == 3


def test_params_with_replicas_repeat_each_parameter_set() -> None:
    ens = Ensemble("pr", {"a": [1, 2]}, run_settings=settings(), replicas=2)
    assert [(m.name, m.params["a"]) for m in ens] == [
        ("pr_0", "1"), ("pr_1", "1"), ("pr_2", "2"), ("pr_3", "2"),
    ]  # fmt: skip


def test_smartsim_errors_for_missing_settings() -> None:
    with pytest.raises(SmartSimError, match="batch settings or run settings"):
        Ensemble("e", None)
    with pytest.raises(SmartSimError, match="cannot be given run settings"):
        Ensemble("e", {}, run_settings=settings())
    with pytest.raises(SmartSimError, match="run_settings"):
        Ensemble("e", {"a": [1]}, batch_settings=BatchSettings("sbatch"))
    with pytest.raises(SmartSimError, match="run_settings"):
        Ensemble("e", None, batch_settings=BatchSettings("sbatch"), replicas=2)


def test_bad_replicas_and_strategy_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        Ensemble("e", None, run_settings=settings(), replicas=0)
    with pytest.raises(ParameterTypeError):
        Ensemble("e", None, run_settings=settings(), replicas="2")
    with pytest.raises(InvalidArgumentError, match="n_models"):
        Ensemble("e", None, run_settings=settings(), replicas=2, n_models=3)
    with pytest.raises(UnknownStrategyError):
        Ensemble("e", {"a": [1]}, run_settings=settings(), perm_strat="grid")
    with pytest.raises(UserStrategyError):
        Ensemble("e", {"a": [1]}, run_settings=settings(), perm_strat="all_perm", n_models=1)


def test_param_types_are_checked_even_for_a_batch_ensemble() -> None:
    with pytest.raises(ParameterTypeError, match="params\\['a'\\]"):
        Ensemble("e", {"a": {"x": 1}}, batch_settings=BatchSettings("sbatch"))


def test_empty_batch_ensemble_and_add_model() -> None:
    ens = Ensemble("e", None, batch_settings=BatchSettings("sbatch"))
    assert len(ens) == 0 and ens.batch
    first = Model("m1", {}, settings())
    ens.add_model(first)
    ens.add_model(Model("m2", {}, settings()))
    assert [m.name for m in ens] == ["m1", "m2"]
    assert first.query_key_prefixing() is False
    with pytest.raises(EntityExistsError, match="m1 already exists in ensemble e"):
        ens.add_model(Model("m1", {}, settings()))
    with pytest.raises(ParameterTypeError):
        ens.add_model("m3")  # type: ignore[arg-type]
    assert len(ens) == 2


def test_models_is_a_copy() -> None:
    ens = Ensemble("e", None, run_settings=settings(), replicas=1)
    ens.models.append(Model("x", {}, settings()))
    assert len(ens) == 1


def test_prefixing_incoming_entities_and_files(tmp_path: Path) -> None:
    (tmp_path / "in.cfg").write_text(";a;")
    ens = Ensemble("e", {"a": [1, 2]}, run_settings=settings())
    for m in ens:
        m.disable_key_prefixing()
    assert ens.query_key_prefixing() is False
    ens.enable_key_prefixing()
    assert ens.query_key_prefixing() is True
    producer = Model("producer", {}, settings())
    ens.register_incoming_entity(producer)
    assert all(m.incoming_entities == [producer] for m in ens)
    ens.attach_generator_files(to_configure=str(tmp_path / "in.cfg"))
    assert all(m.files is not None and m.files.tagged == (tmp_path / "in.cfg",) for m in ens)
    assert "e_0" in ens.attached_files_table and "e_1" in ens.attached_files_table


def test_set_path_moves_members(tmp_path: Path) -> None:
    ens = Ensemble("e", None, run_settings=settings(), replicas=2, path=tmp_path / "a")
    ens.set_path(tmp_path / "b")
    assert ens.path == str(tmp_path / "b")
    assert [m.path for m in ens] == [str(tmp_path / "b" / "e_0"), str(tmp_path / "b" / "e_1")]


def test_empty_ensemble_files_table() -> None:
    ens = Ensemble("e", None, batch_settings=BatchSettings("sbatch"))
    assert ens.attached_files_table == "The ensemble is empty, no files to show."
