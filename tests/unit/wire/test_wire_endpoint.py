"""Endpoint values and the connection module's construction rules (no server needed)."""

from __future__ import annotations

import pytest

from insitu.connection.redis_clients import cluster_client, node_address, redis_client
from insitu.connection.resp_connection import RespConnection
from insitu.errors import InvalidArgumentError, RedisParameterError
from insitu.wire.addresses import Address, parse_address
from insitu.wire.endpoint import Credentials, Endpoint, TlsOptions

TCP = Address("127.0.0.1", 6379)
UNIX = Address(path="/tmp/insitu-endpoint.sock")


def test_secrets_never_appear_in_repr_or_str() -> None:
    endpoint = Endpoint(TCP, Credentials("s3cret", username="sim"))
    assert "s3cret" not in repr(endpoint) and "s3cret" not in str(endpoint)
    assert str(endpoint) == "127.0.0.1:6379"


def test_auth_arguments_follow_redis_auth() -> None:
    assert Credentials().auth_args == ()
    assert Credentials("pw").auth_args == ("default", "pw")  # accepted whatever the server
    assert Credentials("pw", username="sim").auth_args == ("sim", "pw")
    with pytest.raises(InvalidArgumentError, match="needs a password"):
        Credentials(None, username="sim")


def test_bad_endpoints_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="timeout must be positive"):
        Endpoint(TCP, timeout=0)
    with pytest.raises(InvalidArgumentError, match="TLS is for TCP"):
        Endpoint(UNIX, tls=TlsOptions())
    with pytest.raises(InvalidArgumentError, match="needs its key"):
        TlsOptions(cert_file="/c.pem")


def test_at_keeps_everything_but_the_address() -> None:
    endpoint = Endpoint(TCP, Credentials("pw"), timeout=2.0)
    other = endpoint.at(Address("127.0.0.1", 6380))
    assert other.credentials == endpoint.credentials and other.timeout == 2.0
    assert other.address.port == 6380


def test_canonical_addresses_compare_localhost_equal() -> None:
    assert parse_address("localhost:7000").canonical() == parse_address("tcp://127.0.0.1:7000")
    assert UNIX.canonical() == UNIX


def test_clients_know_their_address_without_connecting() -> None:
    for address in (TCP, UNIX, Address("::1", 7000)):
        client = redis_client(Endpoint(address, Credentials("pw")))
        try:
            assert node_address(client) == address
        finally:
            client.close()


def test_tls_endpoints_make_verifying_clients_of_every_kind() -> None:
    endpoint = Endpoint(TCP, tls=TlsOptions(ca_file="/nonexistent/ca.crt"))
    client = redis_client(endpoint)
    try:
        options = client.connection_pool.connection_kwargs
        # a store's own CA: the chain is checked, not the address (tls.py's module docs)
        assert options["ssl_cert_reqs"] == "required" and not options["ssl_check_hostname"]
        assert options["ssl_ca_certs"] == "/nonexistent/ca.crt"
    finally:
        client.close()
    public = redis_client(Endpoint(TCP, tls=TlsOptions(ca_file=None)))
    try:  # the system's CAs sign for anyone: the address must be named too
        assert public.connection_pool.connection_kwargs["ssl_check_hostname"]
    finally:
        public.close()
    lean = RespConnection(endpoint)  # connects lazily: made, not yet connected
    assert not lean.connected
    assert TlsOptions.from_ca("") is None and TlsOptions.from_ca("/c") == TlsOptions("/c")


def test_a_cluster_is_not_reached_over_a_unix_socket() -> None:
    with pytest.raises(RedisParameterError, match="Unix socket"):
        cluster_client(Endpoint(UNIX), [UNIX])
