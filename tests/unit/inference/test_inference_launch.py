"""The runtime's contract with the worker: its command line, thread settings, and the
inference keys both sides derive without talking."""

from __future__ import annotations

import sys

import pytest
from redis.crc import key_slot

from insitu.client import keys
from insitu.errors import InvalidArgumentError
from insitu.inference import worker
from insitu.inference.launch import WORKER_PASSWORD_ENV, WorkerThreads, worker_argv


def test_worker_argv_round_trips_through_the_worker_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = WorkerThreads(threads_per_queue=2, inter_op_threads=1, intra_op_threads=3)
    argv = worker_argv("unix:///tmp/s.sock", 1, 3, "gpu:1", threads, "db")
    assert argv[:3] == [sys.executable, "-m", "insitu.inference.worker"]
    assert "secret" not in " ".join(argv)
    monkeypatch.setenv(WORKER_PASSWORD_ENV, "secret")
    config = worker.parse_args(argv[3:])
    assert config == worker.WorkerConfig(
        "unix:///tmp/s.sock", 1, 3, "GPU:1", threads, "db", "secret"
    )


def test_default_argv_leaves_threads_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKER_PASSWORD_ENV, raising=False)
    config = worker.parse_args(worker_argv("127.0.0.1:6379", 0, 1)[3:])
    assert config.threads == WorkerThreads() and config.password is None


@pytest.mark.parametrize(
    "kwargs", [{"threads_per_queue": 0}, {"inter_op_threads": -1}, {"intra_op_threads": 1.5}]
)
def test_bad_thread_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        WorkerThreads(**kwargs)  # type: ignore[arg-type]


def test_shard_index_must_be_in_range() -> None:
    with pytest.raises(InvalidArgumentError):
        worker_argv("127.0.0.1:6379", 3, 3)


@pytest.mark.parametrize("slot", [0, 1, 5461, 16383])
def test_slot_tags_hash_to_their_slot(slot: int) -> None:
    tag = keys.slot_tag(slot)
    for key in (keys.queue_key(tag), keys.reply_key(tag, "x"), keys.stats_key(tag, "m{a}")):
        assert key_slot(key.encode()) == slot
    assert keys.slot_tag(slot) == tag  # deterministic
