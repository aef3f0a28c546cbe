"""The runtime's contract with the worker: its command line, thread settings, and the
inference keys both sides derive without talking."""

from __future__ import annotations

import sys

import pytest
from redis.crc import key_slot

from insitu.errors import InvalidArgumentError
from insitu.inference import worker
from insitu.wire import keys
from insitu.wire.worker import (
    DEFAULT_WORKER_SPIN_US,
    WORKER_PASSWORD_ENV,
    WORKER_SPIN_ENV,
    WorkerThreads,
    parse_worker_argv,
    worker_argv,
    worker_spin_us,
)


def test_worker_argv_round_trips_through_the_worker_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKER_SPIN_ENV, raising=False)
    threads = WorkerThreads(threads_per_queue=2, inter_op_threads=1, intra_op_threads=3)
    argv = worker_argv("unix:///tmp/s.sock", 1, 3, "gpu:1", threads, "db")
    assert argv[:3] == [sys.executable, "-m", "insitu.inference.worker"]
    assert "secret" not in " ".join(argv)
    monkeypatch.setenv(WORKER_PASSWORD_ENV, "secret")
    config = parse_worker_argv(argv[3:])
    assert config == worker.WorkerConfig(
        "unix:///tmp/s.sock", 1, 3, "GPU:1", threads, "db", "secret"
    )


def test_default_argv_leaves_threads_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKER_PASSWORD_ENV, raising=False)
    config = parse_worker_argv(worker_argv("127.0.0.1:6379", 0, 1)[3:])
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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, DEFAULT_WORKER_SPIN_US), ("", DEFAULT_WORKER_SPIN_US), (" 0 ", 0), ("250", 250),
     ("1000000", 1_000_000)],
)  # fmt: skip
def test_worker_spin_comes_from_the_environment(raw: str | None, expected: int) -> None:
    environ = {} if raw is None else {WORKER_SPIN_ENV: raw}
    assert worker_spin_us(environ) == expected


@pytest.mark.parametrize("raw", ["-1", "1000001", "1.5", "fast", "1e3"])
def test_bad_worker_spin_is_refused_by_name(raw: str) -> None:
    with pytest.raises(InvalidArgumentError, match=WORKER_SPIN_ENV) as info:
        worker_spin_us({WORKER_SPIN_ENV: raw})
    assert repr(raw) in str(info.value)


def test_the_worker_reads_its_spin_and_refuses_a_bad_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = worker_argv("127.0.0.1:6379", 0, 1)[3:]
    monkeypatch.setenv(WORKER_SPIN_ENV, "0")
    assert parse_worker_argv(argv).spin_us == 0
    monkeypatch.setenv(WORKER_SPIN_ENV, "soon")
    with pytest.raises(SystemExit) as info:
        parse_worker_argv(argv)
    assert info.value.code == 2
    assert WORKER_SPIN_ENV in capsys.readouterr().err
