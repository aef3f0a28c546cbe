"""Parameter expansion strategies (pure), with property tests."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insitu.entities.param_space import (
    create_all_permutations,
    expand,
    random_permutations,
    read_params,
    step_values,
)
from insitu.errors import (
    InvalidArgumentError,
    ParameterTypeError,
    SSUnsupportedError,
    UnknownStrategyError,
    UserStrategyError,
)

values = st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=4)
spaces = st.dictionaries(st.text(min_size=1, max_size=5), values, min_size=1, max_size=4)


def test_read_params_stringifies_scalars_and_lists() -> None:
    names, vals = read_params({"a": 1, "b": [2.5, "x"], "c": (3,)})
    assert names == ["a", "b", "c"]
    assert vals == [["1"], ["2.5", "x"], ["3"]]


@pytest.mark.parametrize("bad", [None, {"x": 1}, [1, None], {1, 2}])
def test_bad_param_values_name_the_param(bad: object) -> None:
    with pytest.raises(ParameterTypeError, match="STEPS"):
        read_params({"STEPS": bad})


def test_empty_value_list_is_refused() -> None:
    with pytest.raises(UserStrategyError, match="'a' has an empty list"):
        read_params({"a": []})


def test_all_perm_is_the_cartesian_product_in_order() -> None:
    assert expand({"a": [1, 2], "b": ["x", "y"]}, "all_perm") == [
        {"a": "1", "b": "x"}, {"a": "1", "b": "y"}, {"a": "2", "b": "x"}, {"a": "2", "b": "y"},
    ]  # fmt: skip


def test_step_zips_values() -> None:
    assert expand({"a": [1, 2], "b": ["x", "y"]}, "step") == [
        {"a": "1", "b": "x"}, {"a": "2", "b": "y"},
    ]  # fmt: skip


def test_step_with_unequal_lengths_names_them() -> None:
    with pytest.raises(UserStrategyError, match="a: 2, b: 3"):
        expand({"a": [1, 2], "b": [1, 2, 3]}, "step")


def test_random_samples_distinct_combinations() -> None:
    params = {"a": [1, 2, 3], "b": [4, 5]}
    picked = expand(params, "random", n_models=4)
    assert len(picked) == 4
    assert len({tuple(p.items()) for p in picked}) == 4
    assert all(p in expand(params, "all_perm") for p in picked)


def test_random_without_n_models_or_with_too_many_gives_every_combination() -> None:
    params = {"a": [1, 2], "b": [3, 4]}
    everything = expand(params, "all_perm")
    assert expand(params, "random") == everything
    assert expand(params, "random", n_models=0) == everything
    assert expand(params, "random", n_models=10) == everything


def test_random_is_reproducible_with_an_rng() -> None:
    names, vals = ["a"], [[str(i) for i in range(20)]]
    first = random_permutations(names, vals, 5, rng=random.Random(7))
    second = random_permutations(names, vals, 5, rng=random.Random(7))
    assert first == second


def test_n_models_checks() -> None:
    with pytest.raises(InvalidArgumentError):
        expand({"a": [1]}, "random", n_models=-1)
    with pytest.raises(ParameterTypeError):
        expand({"a": [1]}, "random", n_models="2")
    with pytest.raises(UserStrategyError, match="n_models applies"):
        expand({"a": [1]}, "all_perm", n_models=2)
    with pytest.raises(UserStrategyError, match="takes no arguments"):
        expand({"a": [1]}, "step", seed=3)


def test_unknown_strategy_lists_known_ones() -> None:
    with pytest.raises(UnknownStrategyError, match="all_perm, step, random") as info:
        expand({"a": [1]}, "grid")
    assert isinstance(info.value, UserStrategyError)
    assert isinstance(info.value, SSUnsupportedError)


def test_custom_strategy_gets_names_values_and_kwargs() -> None:
    seen: dict[str, object] = {}

    def first_only(
        param_names: list[str], param_values: list[list[str]], **kwargs: object
    ) -> object:
        seen.update(kwargs)
        return [{name: vals[0] for name, vals in zip(param_names, param_values, strict=True)}]

    assert expand({"a": [1, 2], "b": 3}, first_only, scale=2) == [{"a": "1", "b": "3"}]
    assert seen == {"scale": 2}


def test_custom_strategy_in_smartsim_positional_form() -> None:
    def smartsim_style(names: list[str], vals: list[list[str]], n: int) -> object:
        return [{names[0]: v} for v in vals[0][: n or None]]

    assert expand({"a": [1, 2, 3]}, smartsim_style, n_models=2) == [{"a": "1"}, {"a": "2"}]
    assert len(expand({"a": [1, 2, 3]}, smartsim_style)) == 3


@pytest.mark.parametrize(
    "result",
    [{"a": "1"}, [], ["a=1"], [{1: "x"}], [{"a": None}], ({"a": "1"},)],
)
def test_custom_strategy_results_are_validated(result: object) -> None:
    with pytest.raises(UserStrategyError):
        expand({"a": [1]}, lambda names, vals: result)


def test_custom_strategy_failures_are_wrapped() -> None:
    def broken(names: list[str], vals: list[list[str]]) -> object:
        raise KeyError("boom")

    with pytest.raises(UserStrategyError, match="broken failed") as info:
        expand({"a": [1]}, broken)
    assert isinstance(info.value.__cause__, KeyError)


def test_custom_strategy_with_an_unusable_signature() -> None:
    with pytest.raises(UserStrategyError, match="cannot be called"):
        expand({"a": [1]}, lambda: [{"a": 1}])


@given(spaces)
def test_all_perm_size_is_the_product_and_every_set_is_distinct(
    space: dict[str, list[str]],
) -> None:
    names, vals = list(space), list(space.values())
    result = create_all_permutations(names, vals)
    assert len(result) == math.prod(len(v) for v in vals)
    assert [tuple(r.values()) for r in result] == list(itertools.product(*vals))


@given(st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=4))
def test_step_gives_one_member_per_position(length: int, width: int) -> None:
    names = [f"p{i}" for i in range(width)]
    vals = [[f"{n}{j}" for j in range(length)] for n in names]
    result = step_values(names, vals)
    assert len(result) == length
    assert all(r[n] == f"{n}{j}" for j, r in enumerate(result) for n in names)


@given(spaces, st.integers(min_value=0, max_value=30))
def test_random_is_a_subset_of_the_product(space: dict[str, list[str]], n_models: int) -> None:
    names, vals = list(space), list(space.values())
    full = create_all_permutations(names, vals)
    picked = random_permutations(names, vals, n_models)
    assert all(p in full for p in picked)
    expected = len(full) if n_models == 0 or n_models >= len(full) else n_models
    assert len(picked) == expected
