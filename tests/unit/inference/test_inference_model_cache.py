"""The worker's cache of loaded sessions: hits by version, reloads on change, remembers
load failures, evicts the least recently used."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.errors import ModelLoadError
from insitu.inference.backends import BackendThreads
from insitu.inference.model_cache import ModelCache
from insitu.wire.model_record import ModelHeader, format_record
from tests import inference_models

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _stored(blob: bytes) -> tuple[ModelHeader, bytes]:
    header, _, _ = format_record(ModelHeader("model", "ONNX", "CPU"), blob)
    return header, blob


def test_lookup_hits_only_the_loaded_version() -> None:
    cache = ModelCache(BackendThreads())
    header, blob = _stored(inference_models.onnx_square())
    assert cache.lookup("m", header.version) is None
    loaded = cache.load("m", header, blob)
    assert cache.lookup("m", header.version) is loaded
    newer, _ = _stored(blob)
    assert cache.lookup("m", newer.version) is None
    x = np.ones((1, 3), np.float32)
    np.testing.assert_array_equal(loaded.require().run([x], "")[0], x)


def test_load_failures_are_remembered_per_version() -> None:
    cache = ModelCache(BackendThreads())
    header, blob = _stored(b"garbage")
    entry = cache.load("bad", header, blob)
    assert cache.lookup("bad", header.version) is entry
    with pytest.raises(ModelLoadError) as err:
        entry.require()
    assert err.value.key == "bad"


def test_unknown_backend_is_a_load_failure() -> None:
    cache = ModelCache(BackendThreads())
    header, _, _ = format_record(ModelHeader("model", "CAFFE", "CPU"), b"x")
    with pytest.raises(Exception, match="cannot load 'k'"):
        cache.load("k", header, b"x").require()


def test_least_recently_used_entries_are_dropped() -> None:
    cache = ModelCache(BackendThreads(), capacity=2)
    blob = inference_models.onnx_square()
    headers = {name: _stored(blob)[0] for name in "abc"}
    cache.load("a", headers["a"], blob)
    cache.load("b", headers["b"], blob)
    assert cache.lookup("a", headers["a"].version) is not None  # a is now the most recent
    cache.load("c", headers["c"], blob)
    assert cache.lookup("b", headers["b"].version) is None
    assert cache.lookup("a", headers["a"].version) is not None
    cache.forget("a")
    assert cache.lookup("a", headers["a"].version) is None
