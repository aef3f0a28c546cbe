"""Password generation."""

from __future__ import annotations

import re

from insitu.store import credentials


def test_passwords_are_strong_and_distinct() -> None:
    passwords = {credentials.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", password)
