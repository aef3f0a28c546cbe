"""Batching: SmartRedis's checks of the settings, and merging/splitting along dim 0."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.errors import InferenceInputError, ParameterTypeError, RedisParameterError
from insitu.inference import batching
from insitu.wire.batching import ModelBatching, check_batch_settings


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0, 0, 0), ModelBatching()),
        ((8, 0, 0), ModelBatching(8)),
        ((8, 4, 10), ModelBatching(8, 4, 10)),
    ],
)
def test_valid_settings(args: tuple[int, int, int], expected: ModelBatching) -> None:
    assert check_batch_settings(*args) == expected


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 0, 0), "batch_size must be a non-negative"),
        ((1, -1, 0), "min_batch_size must be a non-negative"),
        ((1, 1, -1), "min_batch_timeout must be a non-negative"),
        ((0, 2, 0), "batch_size must be non-zero"),
        ((0, 0, 5), "batch_size must be non-zero"),
        ((4, 0, 5), "min_batch_size must be non-zero"),
    ],
)
def test_inconsistent_settings_are_refused(args: tuple[int, int, int], match: str) -> None:
    with pytest.raises(RedisParameterError, match=match):
        check_batch_settings(*args)


def test_non_int_settings_are_type_errors() -> None:
    with pytest.raises(ParameterTypeError):
        check_batch_settings(1.5, 0, 0)
    with pytest.raises(TypeError):
        check_batch_settings(1, True, 0)


def _req(n: int, width: int = 3, dtype: str = "f4") -> tuple[np.ndarray, ...]:
    return (np.full((n, width), n, dtype=dtype),)


def test_plan_groups_compatible_requests_up_to_batch_size() -> None:
    requests = [_req(2), _req(3), _req(2, width=4), _req(4), _req(1, dtype="f8"), _req(9)]
    groups = batching.plan(requests, batch_size=6)
    assert groups == [[0, 1], [2], [3], [4], [5]]


def test_plan_keeps_unmergeable_requests_apart() -> None:
    scalar = (np.float32(1.0) * np.ones(()),)
    ragged = (np.ones((2, 3)), np.ones((3, 3)))
    assert batching.plan([scalar, scalar, ragged, ragged], 10) == [[0], [1], [2], [3]]


def test_merge_and_split_round_trip() -> None:
    requests = [_req(1), _req(2), _req(3)]
    merged, counts = batching.merge(requests)
    assert merged[0].shape == (6, 3) and counts == [1, 2, 3]
    doubled = (merged[0] * 2, merged[0][:, :1])
    parts = batching.split(doubled, counts)
    for (inputs,), (out, first) in zip(requests, parts, strict=True):
        np.testing.assert_array_equal(out, inputs * 2)
        np.testing.assert_array_equal(first, inputs[:, :1])


def test_split_refuses_outputs_without_the_batch_dimension() -> None:
    with pytest.raises(InferenceInputError, match="first dimension"):
        batching.split((np.ones(4),), [2, 3])


def test_single_request_is_passed_through() -> None:
    request = _req(2)
    merged, counts = batching.merge([request])
    assert merged is request and counts == [2]
    assert batching.split((np.ones(()),), [2]) == [(np.ones(()),)]


@pytest.mark.parametrize(
    ("settings", "pending", "waited", "expected"),
    [
        (ModelBatching(8), 1, 0.0, True),
        (ModelBatching(8, 4, 100), 3, 0.05, False),
        (ModelBatching(8, 4, 100), 3, 0.1, True),
        (ModelBatching(8, 4, 100), 4, 0.0, True),
        (ModelBatching(8, 4, 0), 3, 0.4, False),
        (ModelBatching(8, 4, 0), 3, 0.5, True),
    ],
)
def test_ready(settings: ModelBatching, pending: int, waited: float, expected: bool) -> None:
    assert batching.ready(settings, pending, waited, patience_s=0.5) is expected
