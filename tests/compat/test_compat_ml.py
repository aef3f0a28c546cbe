"""SmartSim 0.8's ``smartsim.ml`` as ``insitu.ml``: DataInfo, TrainingDataUploader, the
downloader's static/dynamic, shuffled, replica-aware batches, and the torch and keras
generators, against a real store."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import pytest

from insitu.errors import SSInternalError, TrainingDataError
from insitu.ml import DataDownloader, DataInfo, TrainingDataUploader
from insitu.ml import data as ml_data
from tests.topologies import Store

pytestmark = [pytest.mark.requires_redis, pytest.mark.usefixtures("clean_client_env")]

BATCH = 4


@pytest.fixture
def store(compat_stores: dict[str, Store]) -> Iterator[Store]:
    store = compat_stores["standalone"]
    with store.client() as client:
        client.flush_db(store.addresses)
    yield store


def _uploader(store: Store, name: str = "training_data", **kwargs: object) -> TrainingDataUploader:
    return TrainingDataUploader(name, cluster=False, address=store.address, **kwargs)  # type: ignore[arg-type]


def _upload(uploader: TrainingDataUploader, first: int, batches: int) -> None:
    """Batches of BATCH samples numbered ``first*BATCH ..``; target = 2 * sample."""
    for b in range(first, first + batches):
        x = np.arange(b * BATCH, (b + 1) * BATCH, dtype=np.float32).reshape(BATCH, 1)
        uploader.put_batch(x, 2 * x)


def _downloader(
    store: Store, info: DataInfo | str = "training_data", **kwargs: object
) -> DataDownloader:
    options: dict[str, object] = {"batch_size": BATCH, "cluster": False, "address": store.address}
    return DataDownloader(info, **{**options, **kwargs})  # type: ignore[arg-type]


def _samples(batches: list[object]) -> list[float]:
    out: list[float] = []
    for batch in batches:
        x = batch[0] if isinstance(batch, tuple) else batch
        out += [float(v) for v in np.asarray(x).ravel()]
    return sorted(out)


def test_data_info_round_trip(store: Store) -> None:
    with store.client() as client:
        DataInfo("lst", sample_name="x", target_name="y", num_classes=3).publish(client)
        info = DataInfo("lst")
        info.download(client)
        assert (info.sample_name, info.target_name, info.num_classes) == ("x", "y", 3)
        assert client.dataset_exists("lst_info")
        kept = DataInfo("never_published", sample_name="s")
        kept.download(client)  # nothing published: the values stay
        assert (kept.sample_name, kept.target_name, kept.num_classes) == ("s", "targets", None)
    with pytest.raises(ValueError):
        TrainingDataUploader("", cluster=False, address=store.address)
    assert DataInfo("l", target_name=None).target_name == ""  # type: ignore[arg-type]
    assert "Target" not in repr(DataInfo("l", target_name=""))


def test_uploader_layout_and_static_vs_dynamic(store: Store) -> None:
    uploader = _uploader(store, sample_name="x", target_name="y")
    uploader.publish_info()
    _upload(uploader, 0, 3)
    with store.client() as client:
        assert client.get_list_length("training_data") == 3
        first = client.get_dataset("training_samples_0")
        np.testing.assert_array_equal(first.get_tensor("y"), 2 * first.get_tensor("x"))
    static = _downloader(store, dynamic=False, shuffle=False)
    dynamic = _downloader(store, shuffle=False)
    assert static.sample_name == "x" and len(static) == len(dynamic) == 3
    batches = list(static)
    assert [float(x[0, 0]) for x, _ in batches] == [0.0, 4.0, 8.0]
    assert all(np.array_equal(y, 2 * x) for x, y in batches)
    _upload(uploader, 3, 2)
    assert len(list(static)) == 3  # a static downloader keeps what it had
    assert _samples(list(dynamic)) == [float(v) for v in range(5 * BATCH)]
    shuffled = _downloader(store)
    assert _samples(list(shuffled)) == [float(v) for v in range(5 * BATCH)]


def test_replicas_split_the_list_and_autoencoding(store: Store) -> None:
    uploader = _uploader(store)
    _upload(uploader, 0, 5)
    replicas = [_downloader(store, replica_rank=r, num_replicas=2, shuffle=False) for r in (0, 1)]
    seen = [_samples(list(r)) for r in replicas]
    assert seen[0] == [float(v) for b in (0, 2, 4) for v in range(b * BATCH, (b + 1) * BATCH)]
    assert seen[1] == [float(v) for b in (1, 3) for v in range(b * BATCH, (b + 1) * BATCH)]
    auto = _downloader(store, DataInfo("training_data", "samples", "samples"), shuffle=False)
    x, y = next(iter(auto))
    assert np.array_equal(x, y) and auto.autoencoding and not auto.need_targets
    with pytest.raises(ValueError):
        _downloader(store, replica_rank=2, num_replicas=2)
    with pytest.raises(TypeError):
        _downloader(store, batch_size="4")


def test_every_incoming_producer_is_read(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, batches in (("sim_0", 2), ("sim_1", 1)):
        monkeypatch.setenv("SSKEYOUT", name)  # as launched in an ensemble
        _upload(_uploader(store), 0, batches)
    monkeypatch.delenv("SSKEYOUT")
    with store.client() as client:
        assert client.key_exists("sim_0.training_data") and client.key_exists("sim_1.training_data")
    monkeypatch.setenv("SSKEYIN", "sim_0,sim_1")
    downloader = _downloader(store, DataInfo("training_data"), shuffle=False)
    assert len(downloader) == 3
    assert _samples(list(downloader)) == sorted(
        [float(v) for v in range(2 * BATCH)] + [float(v) for v in range(BATCH)]
    )


def test_no_full_batch_within_the_trials(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ml_data, "FETCH_INTERVAL", 0.2)
    uploader = _uploader(store)
    less = np.zeros((BATCH - 1, 1), np.float32)
    uploader.put_batch(less, less)  # less than one batch
    with pytest.raises(TrainingDataError) as info:
        _downloader(store, DataInfo("training_data"), max_fetch_trials=2)
    assert isinstance(info.value, SSInternalError) and "3 sample(s)" in str(info.value)


def test_torch_generators_and_data_loader(store: Store) -> None:
    torch = pytest.importorskip("torch")
    from insitu.ml.torch import DataLoader, DynamicDataGenerator, StaticDataGenerator

    uploader = _uploader(store)
    _upload(uploader, 0, 4)
    options = {"batch_size": BATCH, "cluster": False, "address": store.address}
    dynamic = DynamicDataGenerator(data_info_or_list_name=DataInfo("training_data"), **options)
    static = StaticDataGenerator(data_info_or_list_name=DataInfo("training_data"), **options)
    first = list(dynamic)
    assert len(list(static)) == 4  # initialised on first use
    assert all(isinstance(x, torch.Tensor) and torch.equal(y, 2 * x) for x, y in first)
    assert _samples([(x.numpy(), y) for x, y in first]) == [float(v) for v in range(16)]
    _upload(uploader, 4, 2)
    assert len(list(dynamic)) == 6 and len(list(static)) == 4

    loader = DataLoader(
        DynamicDataGenerator(data_info_or_list_name=DataInfo("training_data"), **options),
        batch_size=None, num_workers=2,
    )  # fmt: skip
    epoch = [(x.numpy(), y.numpy()) for x, y in loader]
    assert _samples(epoch) == [float(v) for v in range(24)]  # each batch once over 2 workers
    del loader
    gc.collect()


def test_keras_generators(store: Store) -> None:
    pytest.importorskip("tensorflow")
    from insitu.ml.tf import DynamicDataGenerator, StaticDataGenerator

    uploader = _uploader(store, num_classes=3)
    uploader.publish_info()
    for b in range(3):
        x = np.full((BATCH, 2), b, np.float32)
        uploader.put_batch(x, np.array([0, 1, 2, b % 3]))
    options = {"batch_size": BATCH, "cluster": False, "address": store.address, "shuffle": False}
    gen = DynamicDataGenerator(data_info_or_list_name="training_data", **options)
    static = StaticDataGenerator(data_info_or_list_name="training_data", **options)
    assert len(gen) == len(static) == 3 and gen.num_classes == 3
    x, y = gen[1]
    assert x.shape == (BATCH, 2) and y.shape == (BATCH, 3)  # one-hot targets
    np.testing.assert_array_equal(y.argmax(axis=1), [0, 1, 2, 1])
    uploader.put_batch(np.full((BATCH, 2), 3, np.float32), np.zeros(BATCH, np.int64))
    gen.on_epoch_end()
    static.on_epoch_end()
    assert len(gen) == 4 and len(static) == 3

    from tensorflow import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    history = model.fit(gen, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_serialized_and_frozen_keras_models_run_in_the_store(
    store: Store, tmp_path: object
) -> None:
    pytest.importorskip("tensorflow")
    from tensorflow import keras

    from insitu.ml.tf import freeze_model, serialize_model

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.random.default_rng(3).random((5, 3)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    blob, inputs, outputs = serialize_model(model)
    path, file_inputs, file_outputs = freeze_model(model, str(tmp_path), "dense")
    assert path.endswith("dense.pb") and (file_inputs, file_outputs) == (inputs, outputs)
    store.wait_for_workers()
    with store.client() as client:
        client.set_model("dense", blob, "TF", inputs=inputs, outputs=outputs)
        client.set_model_from_file("dense_file", path, "TF", inputs=inputs, outputs=outputs)
        client.put_tensor("x", x)
        for name in ("dense", "dense_file"):
            client.run_model(name, "x", f"y_{name}")
            np.testing.assert_allclose(client.get_tensor(f"y_{name}"), expected, rtol=1e-5)
    with pytest.raises(TypeError):
        serialize_model("not a model")
