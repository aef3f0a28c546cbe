"""Whether an inference worker serves requests yet.

How a worker is started is the contract in :mod:`insitu.wire.worker`.
:func:`worker_is_ready` is True once a worker of that shard serves requests (its heartbeat
key exists, see :mod:`insitu.wire.keys`). Requests sent before a worker is ready wait in the
shard's stream, so a caller may also proceed without waiting.
"""

from __future__ import annotations

import redis.exceptions as rex

from insitu.errors import RedisConnectionError
from insitu.inference.shard import connect, shard_tag
from insitu.wire.keys import heartbeat_key


def worker_is_ready(
    address: str, password: str, shard_index: int, tls_ca: str | None = None
) -> bool:
    """True once a worker serves shard ``shard_index`` of the store at ``address``
    (a TLS store's: verified against ``tls_ca``).

    False while the store or the worker is not up yet; RedisConnectionError if the store
    refuses ``password`` (waiting would not help)."""
    conn = connect(address, password, timeout=2.0, tls_ca=tls_ca)
    try:
        tag = shard_tag(conn)
        return tag is not None and bool(conn.exists(heartbeat_key(tag, shard_index)))
    except rex.AuthenticationError as err:
        raise RedisConnectionError(f"the store at {address} refused the password: {err}") from err
    except (rex.RedisError, OSError):
        return False
    finally:
        conn.close()
