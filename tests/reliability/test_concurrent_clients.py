"""64 concurrent clients x mixed operations on a cluster, every value read verified:
no error, no torn or foreign value."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from insitu.client import Client, Dataset
from tests.reliability.figures import record
from tests.reliability.stores import RunningStore, running_store

CLIENTS = 64
ROUNDS = 12  # x 7 operations per round


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningStore]:
    with running_store("concurrent", 3) as s:
        yield s


def test_concurrent_clients_mixed_ops(cluster: RunningStore) -> None:
    errors: list[str] = []
    ops = [0] * CLIENTS
    start = threading.Barrier(CLIENTS)

    def member(i: int) -> None:
        try:
            with Client(True, cluster.address) as c:
                start.wait()
                for r in range(ROUNDS):
                    value = np.full((8, 8), i * 1000 + r, np.int64)
                    c.put_tensor(f"t{i}", value)
                    shared = np.full(64, r, np.float32)
                    c.put_tensor("shared", shared)  # every member writes the same key
                    got = c.get_tensor(f"t{i}")
                    if not np.array_equal(got, value):
                        errors.append(f"member {i} round {r}: torn or foreign tensor")
                    seen = c.get_tensor("shared")  # some member's whole write, never mixed
                    if seen.shape != (64,) or len(set(seen.tolist())) != 1:
                        errors.append(f"member {i}: torn shared tensor")
                    ds = Dataset(f"d{i}")
                    ds.add_tensor("v", value)
                    ds.add_meta_scalar("round", r)
                    c.put_dataset(ds)
                    c.append_to_list(f"l{i}", ds)
                    back = c.get_dataset(f"d{i}")
                    if back.get_meta_scalars("round").tolist() != [r] or not np.array_equal(
                        back.get_tensor("v"), value
                    ):
                        errors.append(f"member {i} round {r}: wrong dataset")
                    if c.get_list_length(f"l{i}") != r + 1:
                        errors.append(f"member {i} round {r}: wrong list length")
                    ops[i] += 7
                c.delete_tensor(f"t{i}")
                if c.tensor_exists(f"t{i}"):
                    errors.append(f"member {i}: delete not seen")
        except Exception as err:  # every failure is a finding
            errors.append(f"member {i}: {type(err).__name__}: {err}")

    threads = [threading.Thread(target=member, args=(i,)) for i in range(CLIENTS)]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
        assert not thread.is_alive(), "a client hangs"
    record(
        "concurrent_clients", clients=CLIENTS, operations=sum(ops), errors=len(errors),
        seconds=round(time.monotonic() - begun, 2),
    )  # fmt: skip
    assert not errors, errors[:5]
    assert sum(ops) == CLIENTS * ROUNDS * 7
