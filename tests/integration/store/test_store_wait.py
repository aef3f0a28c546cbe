"""INSITU_WAIT_REPLICAS on a store with too few replicas: every kind of write is applied
but raises ReplicationTimeoutError (the guarantee cannot be kept); reads are not waited
for. (With replicas, tests/reliability/test_failover.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.inference_models import onnx_square

from insitu import Experiment
from insitu.client import Client, Dataset
from insitu.errors import ReplicationTimeoutError
from insitu.store.readiness import find_free_port_block


def test_writes_without_replicas_raise_but_are_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSITU_WAIT_REPLICAS", "1")
    monkeypatch.setenv("INSITU_WAIT_TIMEOUT_MS", "50")
    exp = Experiment("wait", exp_path=str(tmp_path), launcher="local")
    try:
        store = exp.create_database(port=find_free_port_block(1))
        exp.start(store)
        with Client(False, store.get_address()[0]) as client:
            dataset = Dataset("d")
            dataset.add_tensor("a", np.ones(2))
            writes = {
                "put_tensor": lambda: client.put_tensor("t", np.ones(3)),
                "put_dataset": lambda: client.put_dataset(dataset),
                "append_to_list": lambda: client.append_to_list("L", dataset),
                "set_model": lambda: client.set_model("m", onnx_square(), "ONNX", "CPU"),
                "delete_tensor": lambda: client.delete_tensor("t"),
            }
            for name, write in writes.items():
                with pytest.raises(ReplicationTimeoutError, match="0 of 1 replicas") as caught:
                    write()
                assert caught.value.requested == 1, name
            assert client.dataset_exists("d") and client.get_list_length("L") == 1
            assert client.model_exists("m") and not client.tensor_exists("t")
    finally:
        exp.stop_all()
