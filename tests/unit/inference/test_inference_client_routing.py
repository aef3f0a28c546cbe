"""Client-side pieces of the ML API that need no store: the shard map that picks a
request's queue, and SmartRedis's argument rules."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from insitu.client._inference_requests import ShardMap
from insitu.client._model_ops import check_backend, tensor_names
from insitu.errors import ParameterTypeError
from insitu.wire import keys
from insitu.wire.addresses import Address

# CLUSTER SLOTS as a 3-shard cluster answers it (RESP2, undecoded); node b owns two ranges.
SLOTS = [
    [0, 5460, [b"127.0.0.1", 7000, b"a" * 40]],
    [5461, 9999, [b"127.0.0.1", 7001, b"b" * 40]],
    [10000, 10922, [b"127.0.0.1", 7001, b"b" * 40]],
    [10923, 16383, [b"127.0.0.1", 7002, b"c" * 40], [b"127.0.0.1", 7003, b"d" * 40]],
]


def test_shard_map_routes_slots_to_the_owner_tag() -> None:
    shards = ShardMap.parse(SLOTS)
    assert shards.tag_for_slot(0) == keys.slot_tag(0)
    assert shards.tag_for_slot(10_500) == keys.slot_tag(5461)  # b's lowest slot
    assert shards.tag_for_slot(16_383) == keys.slot_tag(10_923)
    tag = shards.tag_for_slot(key_slot(b"{x}input"))
    assert tag is not None and key_slot(keys.queue_key(tag).encode()) in (0, 5461, 10923)


def test_shard_map_finds_shards_by_address() -> None:
    shards = ShardMap.parse(SLOTS)
    assert shards.tag_for_address(Address("localhost", 7001)) == keys.slot_tag(5461)
    assert shards.tag_for_address(Address("127.0.0.1", 7003)) is None  # a replica
    assert ShardMap.parse([]).tag_for_slot(3) is None


def test_backend_names_follow_smartredis() -> None:
    assert check_backend("onnx") == "ONNX"
    assert check_backend("TfLite") == "TFLITE"
    with pytest.raises(TypeError, match="Backend type PYTORCH unsupported"):
        check_backend("pytorch")
    with pytest.raises(ParameterTypeError):
        check_backend(1)


def test_tensor_names_accept_none_str_or_list() -> None:
    assert tensor_names("inputs", None) == []
    assert tensor_names("inputs", "a") == ["a"]
    assert tensor_names("inputs", ["a", "b"]) == ["a", "b"]
    with pytest.raises(TypeError):
        tensor_names("inputs", ["a", 1])
    with pytest.raises(TypeError):
        tensor_names("inputs", 3)
