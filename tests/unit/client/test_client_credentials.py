"""The driver's registry of live stores' passwords (insitu.client.credentials)."""

from __future__ import annotations

import pytest

from insitu.client import credentials
from insitu.errors import RedisParameterError
from insitu.wire.addresses import Address


def test_register_lookup_unregister() -> None:
    addresses = ["127.0.0.1:50001", "unix:///tmp/insitu-test.sock"]
    credentials.register(addresses, "secret")
    try:
        assert credentials.lookup("127.0.0.1:50001") == "secret"
        assert credentials.lookup("localhost:50001") == "secret"
        assert credentials.lookup("tcp://127.0.0.1:50001") == "secret"
        assert credentials.lookup(Address("127.0.0.1", 50001)) == "secret"
        assert credentials.lookup("unix:///tmp/insitu-test.sock") == "secret"
        assert credentials.lookup("127.0.0.1:50002") is None
        assert "127.0.0.1:50001" in credentials.registered_addresses()
    finally:
        credentials.unregister(addresses)
    assert credentials.lookup("127.0.0.1:50001") is None
    credentials.unregister(addresses)  # idempotent


def test_text_that_is_no_address_is_refused_and_never_found() -> None:
    with pytest.raises(RedisParameterError, match="invalid address"):
        credentials.register(["/tmp/bare-path.sock"], "secret")
    assert credentials.lookup("/tmp/bare-path.sock") is None
    assert credentials.lookup("not an address") is None
