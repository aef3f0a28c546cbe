"""Parameter spaces: expand an ensemble's ``params`` into one parameter set per member (pure).

A strategy receives the parameter names and, for each, the list of its values as ``str``
(SmartSim stringifies them too) and returns a list of ``{name: value}`` dicts. Built in:
``all_perm`` (cartesian product), ``step`` (the i-th values together) and ``random``
(``n_models`` sets sampled from the product). A callable is a custom strategy.

Differences from SmartSim, which never silently changes the member count here: ``step``
with lists of different lengths raises instead of truncating to the shortest; a parameter
with an empty list, a strategy producing no members, or an argument a built-in strategy
does not take raise instead of yielding an empty ensemble or being ignored.
"""

from __future__ import annotations

import inspect
import itertools
import random
from collections.abc import Callable, Mapping, Sequence

from insitu import _checks as tc
from insitu.errors import InsituError, UnknownStrategyError, UserStrategyError

ParamSet = dict[str, str]
"""One member's parameters."""

CustomStrategy = Callable[..., object]
"""``(param_names, param_values, **kwargs) -> list[dict]``; SmartSim's
``(param_names, param_values, n_models)`` form is accepted too."""


def read_params(params: Mapping[str, object]) -> tuple[list[str], list[list[str]]]:
    """Names and value lists of ``params``; a scalar value is a one-item list.

    Values must be str/int/float or a list/tuple of those (``ParameterTypeError`` naming
    the parameter otherwise); an empty list raises ``UserStrategyError``.
    """
    names: list[str] = []
    values: list[list[str]] = []
    for name, value in tc.check_type("params", params, Mapping, "a dict").items():  # type: ignore[type-abstract]
        names.append(tc.check_str("a params key", name))
        if isinstance(value, list | tuple):
            if not value:
                raise UserStrategyError(f"param {name!r} has an empty list of values")
            values.append(
                [str(tc.check_scalar(f"params[{name!r}][{i}]", v)) for i, v in enumerate(value)]
            )
        else:
            values.append([str(tc.check_scalar(f"params[{name!r}]", value))])
    return names, values


def create_all_permutations(
    param_names: Sequence[str], param_values: Sequence[Sequence[str]], n_models: int = 0
) -> list[ParamSet]:
    """Every combination of values, in ``itertools.product`` order (``n_models`` unused)."""
    return [
        dict(zip(param_names, combo, strict=True)) for combo in itertools.product(*param_values)
    ]


def step_values(
    param_names: Sequence[str], param_values: Sequence[Sequence[str]], n_models: int = 0
) -> list[ParamSet]:
    """Member i takes the i-th value of every parameter; all lists must be equally long."""
    lengths = {name: len(vals) for name, vals in zip(param_names, param_values, strict=True)}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise UserStrategyError(f"perm_strat='step' needs value lists of one length, got {detail}")
    return [dict(zip(param_names, combo, strict=True)) for combo in zip(*param_values, strict=True)]


def random_permutations(
    param_names: Sequence[str],
    param_values: Sequence[Sequence[str]],
    n_models: int = 0,
    rng: random.Random | None = None,
) -> list[ParamSet]:
    """``n_models`` distinct combinations sampled from the product (SmartSim semantics).

    ``n_models`` of 0 or at least the number of combinations yields every combination in
    product order.
    """
    combos = create_all_permutations(param_names, param_values)
    if n_models and n_models < len(combos):
        return (rng or random).sample(combos, n_models)
    return combos


STRATEGIES: Mapping[str, Callable[..., list[ParamSet]]] = {
    "all_perm": create_all_permutations,
    "step": step_values,
    "random": random_permutations,
}
"""The built-in strategies by name."""


def check_strategy(perm_strat: object) -> None:
    """``perm_strat`` is a built-in strategy's name or a callable, else
    ``UnknownStrategyError`` (SmartSim checks this before the params)."""
    if not callable(perm_strat) and not (isinstance(perm_strat, str) and perm_strat in STRATEGIES):
        raise UnknownStrategyError(perm_strat, tuple(STRATEGIES))


def expand(
    params: Mapping[str, object], perm_strat: str | CustomStrategy, **kwargs: object
) -> list[ParamSet]:
    """The member parameter sets of ``params`` under ``perm_strat``.

    ``kwargs`` go to a custom strategy; built-in strategies take only ``n_models`` (and only
    ``random`` uses it). Unknown strategy names raise ``UnknownStrategyError``; a strategy
    that fails or returns anything but a non-empty list of ``{str: str|int|float}`` dicts
    raises ``UserStrategyError``.
    """
    names, values = read_params(params)
    if callable(perm_strat):
        return check_result(_call_custom(perm_strat, names, values, kwargs), perm_strat)
    if not isinstance(perm_strat, str) or perm_strat not in STRATEGIES:
        raise UnknownStrategyError(perm_strat, tuple(STRATEGIES))
    n_models = kwargs.pop("n_models", None)
    if kwargs:
        raise UserStrategyError(f"perm_strat={perm_strat!r} takes no arguments {sorted(kwargs)}")
    if n_models is None:
        return check_result(STRATEGIES[perm_strat](names, values), perm_strat)
    if perm_strat != "random":
        raise UserStrategyError(f"n_models applies to perm_strat='random', not {perm_strat!r}")
    count = tc.check_int("n_models", n_models, minimum=0)
    return check_result(random_permutations(names, values, count), perm_strat)


def _call_custom(
    strategy: CustomStrategy, names: list[str], values: list[list[str]], kwargs: dict[str, object]
) -> object:
    """Call a custom strategy in our form, else in SmartSim's positional ``n_models`` form."""
    others = {k: v for k, v in kwargs.items() if k != "n_models"}
    forms = [((names, values), kwargs), ((names, values, kwargs.get("n_models", 0)), others)]
    try:
        signature = inspect.signature(strategy)
    except (TypeError, ValueError):  # some builtins have no signature: use our form
        signature = None
    for args, keywords in forms:
        if signature is not None:
            try:
                signature.bind(*args, **keywords)
            except TypeError:
                continue
        try:
            return strategy(*args, **keywords)
        except InsituError:
            raise
        except Exception as err:
            raise UserStrategyError(f"perm_strat {_name(strategy)} failed: {err}") from err
    raise UserStrategyError(
        f"perm_strat {_name(strategy)} cannot be called as (param_names, param_values, "
        f"**{sorted(kwargs)}) nor as (param_names, param_values, n_models)"
    )


def check_result(result: object, strategy: object) -> list[ParamSet]:
    """``result`` as a non-empty list of ``{str: str}``; anything else → UserStrategyError."""
    label = _name(strategy)
    if not isinstance(result, list):
        raise UserStrategyError(f"perm_strat {label} returned {type(result).__name__}, not a list")
    if not result:
        raise UserStrategyError(f"perm_strat {label} produced no ensemble members")
    sets: list[ParamSet] = []
    for i, item in enumerate(result):
        if not isinstance(item, dict):
            raise UserStrategyError(
                f"perm_strat {label} item {i} is {type(item).__name__}, not a dict"
            )
        bad = [
            k
            for k, v in item.items()
            if not isinstance(k, str) or not isinstance(v, str | int | float)
        ]
        if bad:
            raise UserStrategyError(f"perm_strat {label} item {i} has bad entries for {bad!r}")
        sets.append({k: str(v) for k, v in item.items()})
    return sets


def _name(strategy: object) -> str:
    return (
        repr(strategy)
        if isinstance(strategy, str)
        else getattr(strategy, "__name__", repr(strategy))
    )
