"""Datasets, aggregation lists and key prefixing shared by the unmodified SmartRedis client
and insitu's (one on-store layout), and mixed pipelines in both directions, on a
standalone store over TCP, an owner-only Unix socket and a 3-shard cluster."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.client import Client, Dataset
from tests import inference_models
from tests.integration.smartredis.conftest import SrStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCALARS = {
    "f64": ("float64", 1.5),
    "f32": ("float32", 2.5),
    "i32": ("int32", -3),
    "i64": ("int64", 4),
    "u32": ("uint32", 5),
    "u64": ("uint64", 6),
}


def test_smartredis_datasets_read_by_insitu(sr_store: SrStore) -> None:
    sr_store.run(f"""
        d = Dataset("sim")
        d.add_tensor("u", np.arange(12, dtype=np.uint16).reshape(3, 4))
        d.add_tensor("f", np.linspace(0, 1, 6).reshape(2, 3))
        for name, (dtype, value) in {SCALARS!r}.items():
            d.add_meta_scalar(name, np.dtype(dtype).type(value))
            d.add_meta_scalar(name, np.dtype(dtype).type(value * 2))
        d.add_meta_string("note", "first")
        d.add_meta_string("note", "second")
        client.put_dataset(d)
        only_meta = Dataset("meta_only")
        only_meta.add_meta_string("k", "v")
        client.put_dataset(only_meta)
        emit("ok")
    """)
    with sr_store.client() as c:
        assert c.dataset_exists("sim") and c.dataset_exists("meta_only")
        got = c.get_dataset("sim")
        assert got.get_tensor_names() == ["u", "f"]
        np.testing.assert_array_equal(got.get_tensor("u"), np.arange(12).reshape(3, 4))
        assert got.get_tensor("u").dtype == np.uint16
        np.testing.assert_array_equal(got.get_tensor("f"), np.linspace(0, 1, 6).reshape(2, 3))
        for name, (dtype, value) in SCALARS.items():
            assert got.get_metadata_field_type(name) is np.dtype(dtype).type
            np.testing.assert_array_equal(got.get_meta_scalars(name), [value, value * 2])
        assert got.get_meta_strings("note") == ["first", "second"]
        assert c.get_dataset("meta_only").get_meta_strings("k") == ["v"]
        c.delete_dataset("sim")
        assert not c.dataset_exists("sim") and not c.key_exists("{sim}.u")


def test_insitu_datasets_read_by_smartredis(sr_store: SrStore) -> None:
    with sr_store.client() as c:
        d = Dataset("made_here")
        d.add_tensor("x", np.arange(6, dtype=np.int32).reshape(2, 3))
        d.add_tensor("fortran", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
        for name, (dtype, value) in SCALARS.items():
            d.add_meta_scalar(name, np.dtype(dtype).type(value))
        d.add_meta_string("note", "from insitu")
        c.put_dataset(d)
    got = sr_store.run(f"""
        emit(client.dataset_exists("made_here"))
        d = client.get_dataset("made_here")
        emit(sorted(d.get_tensor_names()))
        emit(d.get_tensor("x").tolist())
        emit(d.get_tensor("fortran").tolist())
        emit([d.get_meta_scalars(n).tolist() for n in {list(SCALARS)!r}])
        emit(d.get_meta_strings("note"))
        client.rename_dataset("made_here", "renamed")
        emit([client.dataset_exists("made_here"), client.dataset_exists("renamed")])
    """)
    assert got == [
        True,
        ["fortran", "x"],
        [[0, 1, 2], [3, 4, 5]],
        [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]],
        [[v] for _, v in SCALARS.values()],
        ["from insitu"],
        [False, True],
    ]
    with sr_store.client() as c:
        assert c.get_dataset("renamed").get_meta_strings("note") == ["from insitu"]


def test_aggregation_lists_both_ways(sr_store: SrStore) -> None:
    sr_store.run("""
        for i in range(3):
            d = Dataset(f"sr_{i}")
            d.add_tensor("t", np.full(4, i, np.float32))
            client.put_dataset(d)
            client.append_to_list("from_sr", d)
        emit("ok")
    """)
    with sr_store.client() as c:
        assert c.get_list_length("from_sr") == 3
        got = c.get_datasets_from_list("from_sr")
        assert [d.get_name() for d in got] == ["sr_0", "sr_1", "sr_2"]
        assert [float(d.get_tensor("t")[0]) for d in got] == [0.0, 1.0, 2.0]
        for i in range(2):
            d = Dataset(f"in_{i}")
            d.add_meta_scalar("step", i)
            c.put_dataset(d)
            c.append_to_list("from_insitu", d)
    got = sr_store.run("""
        emit(client.get_list_length("from_insitu"))
        ds = client.get_dataset_list_range("from_insitu", 0, -1)
        emit([[d.get_name(), d.get_meta_scalars("step").tolist()] for d in ds])
        client.copy_list("from_insitu", "copied")
        emit(client.poll_list_length("copied", 2, 10, 10))
    """)
    assert got == [2, [["in_0", [0]], ["in_1", [1]]], True]


def test_key_prefixing_in_an_ensemble(sr_store: SrStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SmartRedis member writes under its prefix, an insitu member reads it as its data
    source, and the reverse; the store keys are the same."""
    sr_store.run(
        """
        client.use_list_ensemble_prefix(True)
        client.put_tensor("field", np.arange(4, dtype=np.float64))
        d = Dataset("state")
        d.add_tensor("t", np.ones(2, np.int64))
        client.put_dataset(d)
        client.append_to_list("states", d)
        emit("ok")
        """,
        env={"SSKEYOUT": "member_0", "SSKEYIN": "member_1"},
    )
    monkeypatch.setenv("SSKEYIN", "member_0")
    monkeypatch.setenv("SSKEYOUT", "member_1")
    with sr_store.client() as c:
        assert c.key_exists("member_0.field") and c.key_exists("member_0.{state}.meta")
        np.testing.assert_array_equal(c.get_tensor("field"), np.arange(4.0))
        assert c.get_dataset("state").get_tensor_names() == ["t"]
        assert [d.get_name() for d in c.get_datasets_from_list("states")] == ["state"]
        c.put_tensor("answer", np.array([42], np.int32))
    got = sr_store.run(
        """
        emit(client.get_tensor("answer").tolist())
        """,
        env={"SSKEYOUT": "member_0", "SSKEYIN": "member_1"},
    )
    assert got == [[42]]


def test_pipeline_smartredis_producer_insitu_consumer(sr_store: SrStore) -> None:
    """A SmartRedis simulation publishes datasets to a list; an insitu consumer runs a model
    on each (the model stored by insitu) and writes results that SmartRedis reads back."""
    sr_store.run("""
        for step in range(2):
            d = Dataset(f"step_{step}")
            d.add_tensor("x", np.full((1, 3), step + 1, np.float32))
            d.add_meta_scalar("step", step)
            client.put_dataset(d)
            client.append_to_list("steps", d)
        emit("ok")
    """)
    with sr_store.client() as c:
        c.set_model("square", inference_models.onnx_square(), "ONNX")
        for d in c.get_datasets_from_list("steps"):
            step = int(d.get_meta_scalars("step")[0])
            c.put_tensor(f"in_{step}", d.get_tensor("x"))
            c.run_model("square", [f"in_{step}"], [f"out_{step}"])
    got = sr_store.run("""
        emit([client.get_tensor(f"out_{s}").tolist() for s in range(2)])
    """)
    assert got == [[[[1.0, 1.0, 1.0]], [[4.0, 4.0, 4.0]]]]


def test_pipeline_insitu_producer_smartredis_consumer(sr_store: SrStore, tmp_path: str) -> None:
    """insitu publishes a dataset; a SmartRedis consumer stores a model, runs it on the
    dataset's tensor and writes a dataset of results that insitu reads."""
    with sr_store.client() as c:
        d = Dataset("snapshot")
        d.add_tensor("x", np.full((2, 3), 3.0, np.float32))
        c.put_dataset(d)
    model = f"{tmp_path}/square.onnx"
    with open(model, "wb") as out:
        out.write(inference_models.onnx_square())
    sr_store.run(f"""
        client.set_model_from_file("sq", {model!r}, "ONNX", "CPU")
        x = client.get_dataset("snapshot").get_tensor("x")
        client.put_tensor("x_in", x)
        client.run_model("sq", ["x_in"], ["y_out"])
        result = Dataset("result")
        result.add_tensor("y", client.get_tensor("y_out"))
        result.add_meta_string("by", "smartredis")
        client.put_dataset(result)
        emit("ok")
    """)
    with Client(sr_store.cluster, sr_store.address) as c:
        result = c.get_dataset("result")
        np.testing.assert_array_equal(result.get_tensor("y"), np.full((2, 3), 9.0, np.float32))
        assert result.get_meta_strings("by") == ["smartredis"]
