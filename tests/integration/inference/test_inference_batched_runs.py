"""Batching: concurrent run_model calls for a model stored with batch_size > 0 are merged
along dimension 0 and their results split back to each caller. Assertions use the
statistics the workers report (get_ai_info), never timing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from insitu.client import Client
from tests import inference_models

from .conftest import Store

CALLERS = 8


def _call(store: Store, index: int) -> np.ndarray:
    # Hash-tagged keys: on the cluster every caller's input lives on the same shard, so one
    # worker sees all the requests.
    with store.client() as own:
        own.put_tensor(f"{{b}}in{index}", np.full((1, 3), index, np.float32))
        own.run_model("sq", f"{{b}}in{index}", f"{{b}}out{index}")
        return own.get_tensor(f"{{b}}out{index}")


def _totals(client: Client, store: Store) -> dict[str, int]:
    infos = client.get_ai_info(store.addresses, "sq")
    return {k: sum(int(i[k]) for i in infos) for k in ("calls", "requests", "samples", "errors")}


def _run_concurrently(store: Store) -> list[np.ndarray]:
    with ThreadPoolExecutor(CALLERS) as pool:
        return list(pool.map(lambda i: _call(store, i), range(CALLERS)))


def test_concurrent_calls_are_merged_into_one_batch(client: Client, store: Store) -> None:
    # The worker waits (up to 20 s) until all eight samples are there, then runs once.
    client.set_model(
        "sq", inference_models.onnx_square(), "ONNX",
        batch_size=CALLERS, min_batch_size=CALLERS, min_batch_timeout=20_000,
    )  # fmt: skip
    results = _run_concurrently(store)
    for index, result in enumerate(results):
        np.testing.assert_array_equal(result, np.full((1, 3), index * index))
    assert _totals(client, store) == {"calls": 1, "requests": 8, "samples": 8, "errors": 0}


def test_batches_never_exceed_batch_size(client: Client, store: Store) -> None:
    client.set_model(
        "sq", inference_models.onnx_square(), "ONNX",
        batch_size=4, min_batch_size=4, min_batch_timeout=20_000,
    )  # fmt: skip
    results = _run_concurrently(store)
    for index, result in enumerate(results):
        np.testing.assert_array_equal(result, np.full((1, 3), index * index))
    assert _totals(client, store) == {"calls": 2, "requests": 8, "samples": 8, "errors": 0}


def test_a_lone_call_runs_once_min_batch_timeout_passed(client: Client, store: Store) -> None:
    client.set_model(
        "sq", inference_models.onnx_square(), "ONNX",
        batch_size=4, min_batch_size=4, min_batch_timeout=20,
    )  # fmt: skip
    np.testing.assert_array_equal(_call(store, 3), np.full((1, 3), 9))
    assert _totals(client, store) == {"calls": 1, "requests": 1, "samples": 1, "errors": 0}
