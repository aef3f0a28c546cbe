"""The boundary type-check helper: TypeError subclasses whose message names the argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu import _checks as tc
from insitu.errors import InvalidArgumentError, ParameterTypeError


def test_errors_are_type_errors_naming_argument_and_types() -> None:
    with pytest.raises(TypeError) as info:
        tc.check_str("exe", 5)
    assert isinstance(info.value, ParameterTypeError)
    assert "exe must be a str, not int 5" in str(info.value)


def test_check_int_refuses_bool_and_enforces_minimum() -> None:
    assert tc.check_int("n", 0, minimum=0) == 0
    with pytest.raises(ParameterTypeError):
        tc.check_int("n", True)
    with pytest.raises(InvalidArgumentError, match="n must be at least 1, got 0"):
        tc.check_int("n", 0)


def test_lists_and_mappings() -> None:
    assert tc.check_str_list("xs", "a") == ["a"]
    assert tc.check_str_list("xs", ("a", "b")) == ["a", "b"]
    with pytest.raises(ParameterTypeError, match=r"xs\[1\]"):
        tc.check_str_list("xs", ["a", 2])
    with pytest.raises(ParameterTypeError):
        tc.check_str_list("xs", "a", allow_str=False)
    assert tc.check_path_list("p", Path("/x")) == ["/x"]
    assert tc.check_scalar_mapping("env", {"A": 1, "B": 1.5}) == {"A": "1", "B": "1.5"}
    with pytest.raises(ParameterTypeError, match=r"env\['A'\]"):
        tc.check_scalar_mapping("env", {"A": None})
