"""Store passwords: every Orchestrator gets its own, generated here.

:func:`generate_password` returns a fresh URL-safe token (256 bits of entropy from
:mod:`secrets`). The password is on disk only inside each shard's configuration file
(mode 0600); launched entities receive it through the environment
(:mod:`insitu.wire.env`), and the driver's clients find it in
:mod:`insitu.client.credentials`, where the Experiment registers a store once it is ready.
"""

from __future__ import annotations

import secrets

_PASSWORD_BYTES = 32


def generate_password() -> str:
    """A new strong password (URL-safe characters only, so it needs no quoting anywhere)."""
    return secrets.token_urlsafe(_PASSWORD_BYTES)
