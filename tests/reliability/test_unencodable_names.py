"""Defect 6: a key or name with no UTF-8 form (a lone surrogate, as ``os.fsdecode`` makes of
an undecodable file name) raises RedisParameterError naming it, for every kind of key and on
both topologies, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from insitu.client import Client, Dataset
from insitu.errors import RedisParameterError
from tests.reliability.stores import RunningStore, running_store

BAD = "sim\udc80step"  # what os.fsdecode(b"sim\x80step") gives


@pytest.fixture(scope="module", params=["standalone", "cluster"])
def store(request: pytest.FixtureRequest) -> Iterator[RunningStore]:
    with running_store(f"names_{request.param}", 1 if request.param == "standalone" else 3) as s:
        yield s


def _ds(name: str) -> Dataset:
    dataset = Dataset(name)
    dataset.add_tensor("t", np.ones(2))
    return dataset


def _bad_field(c: Client) -> None:
    Dataset("fine").add_tensor(BAD, np.ones(2))


def _bad_meta(c: Client) -> None:
    Dataset("fine").add_meta_string("field", BAD)


OPS: dict[str, Callable[[Client], object]] = {
    "put_tensor": lambda c: c.put_tensor(BAD, np.ones(2)),
    "get_tensor": lambda c: c.get_tensor(BAD),
    "delete_tensor": lambda c: c.delete_tensor(BAD),
    "tensor_exists": lambda c: c.tensor_exists(BAD),
    "key_exists": lambda c: c.key_exists(BAD),
    "poll_key": lambda c: c.poll_key(BAD, 10, 1),
    "copy_tensor dest": lambda c: c.copy_tensor("present", BAD),
    "rename_tensor dest": lambda c: c.rename_tensor("present", BAD),
    "put_bytes": lambda c: c.put_bytes(BAD, b"x"),
    "put_dataset": lambda c: c.put_dataset(_ds(BAD)),
    "dataset tensor name": _bad_field,
    "dataset metadata string": _bad_meta,
    "get_dataset": lambda c: c.get_dataset(BAD),
    "dataset_exists": lambda c: c.dataset_exists(BAD),
    "append_to_list": lambda c: c.append_to_list(BAD, _ds("fine")),
    "get_list_length": lambda c: c.get_list_length(BAD),
    "set_script": lambda c: c.set_script(BAD, "def f(x):\n    return x\n"),
    "set_model": lambda c: c.set_model(BAD, b"not a model", "TORCH"),
    "model_exists": lambda c: c.model_exists(BAD),
    "run_model input": lambda c: c.run_model("m", [BAD], ["out"]),
}


@pytest.mark.parametrize("op", list(OPS))
def test_a_name_without_utf8_form_is_a_parameter_error(store: RunningStore, op: str) -> None:
    with store.client() as client:
        client.flush_db(store.orchestrator.get_address())
        client.put_tensor("present", np.ones(2))
        with pytest.raises(RedisParameterError, match="not valid Unicode"):
            OPS[op](client)
        keys = {k for shard in store.shards for k in shard.scan_iter()}
        assert keys == {b"present"}, f"{op} wrote {keys}"  # nothing half-written
        np.testing.assert_array_equal(client.get_tensor("present"), np.ones(2))
