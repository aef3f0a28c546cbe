"""Tag substitution over text (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insitu.errors import InvalidArgumentError, ParameterTypeError
from insitu.generation import substitute


def test_default_tag_replaces_every_occurrence_and_reports_use() -> None:
    result = substitute("THERMO = ;THERMO;\nSTEPS = ;STEPS; ;THERMO;\n",
                        {"THERMO": "10", "STEPS": "20", "UNUSED": "x"})  # fmt: skip
    assert result.text == "THERMO = 10\nSTEPS = 20 10\n"
    assert result.used == ("THERMO", "STEPS")
    assert result.unused == ("UNUSED",)
    assert result.count == 3


def test_custom_tag() -> None:
    result = substitute("a = @@a@@; b = ;b;", {"a": "1", "b": "2"}, tag="@@")
    assert result.text == "a = 1; b = ;b;"
    assert result.unused == ("b",)


def test_text_that_only_looks_like_a_tag_is_untouched() -> None:
    text = "for(;;) {} x; y; ;unknown;"
    assert substitute(text, {"a": "1"}).text == text


def test_values_are_not_scanned_again() -> None:
    assert substitute(";a;", {"a": ";b;", "b": "no"}).text == ";b;"


def test_longer_names_win_over_prefixes() -> None:
    assert substitute(";ab; ;a;", {"a": "1", "ab": "2"}).text == "2 1"
    assert substitute(";a;b;", {"a": "1", "a;b": "2"}).text == "2"


def test_regex_characters_in_tags_and_names_are_literal() -> None:
    assert substitute("$.*$ $x$", {".*": "1", "x": "2"}, tag="$").text == "1 2"


def test_no_params_leaves_text() -> None:
    assert substitute(";a;", {}).text == ";a;"


def test_bad_tags() -> None:
    with pytest.raises(InvalidArgumentError):
        substitute("x", {"a": "1"}, tag="")
    with pytest.raises(InvalidArgumentError):
        substitute("x", {"a": "1"}, tag="\n")
    with pytest.raises(ParameterTypeError):
        substitute("x", {"a": "1"}, tag=1)  # type: ignore[arg-type]


@given(st.text(alphabet=st.characters(blacklist_characters=";")),
       st.dictionaries(st.text(min_size=1), st.text()))  # fmt: skip
def test_text_without_the_tag_is_unchanged(text: str, params: dict[str, str]) -> None:
    result = substitute(text, params)
    assert result.text == text
    assert result.count == 0
    assert set(result.unused) == set(params)


@given(st.dictionaries(st.from_regex(r"[A-Za-z_]\w{0,6}", fullmatch=True), st.text(), min_size=1))
def test_every_tagged_param_is_replaced(params: dict[str, str]) -> None:
    text = " ".join(f";{name};" for name in params)
    result = substitute(text, params)
    assert result.text == " ".join(params.values())
    assert set(result.used) == set(params)
