"""Password generation and the process-wide registry of live stores."""

from __future__ import annotations

import re

from insitu.store import credentials


def test_passwords_are_strong_and_distinct() -> None:
    passwords = {credentials.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", password)


def test_register_lookup_unregister() -> None:
    addresses = ["127.0.0.1:50001", "/tmp/insitu-test.sock"]
    credentials.register(addresses, "secret")
    try:
        assert credentials.lookup("127.0.0.1:50001") == "secret"
        assert credentials.lookup("localhost:50001") == "secret"
        assert credentials.lookup("tcp://127.0.0.1:50001") == "secret"
        assert credentials.lookup("unix:///tmp/insitu-test.sock") == "secret"
        assert credentials.lookup("127.0.0.1:50002") is None
        assert "127.0.0.1:50001" in credentials.registered_addresses()
    finally:
        credentials.unregister(addresses)
    assert credentials.lookup("127.0.0.1:50001") is None
    credentials.unregister(addresses)  # idempotent
