"""Which redis-py client serves a key: one server, or the shard that owns the key's slot.

A router opens no connection of its own beyond what redis-py needs to learn the cluster
layout; the transport takes connections from the per-shard redis-py pools it returns.
The clients come from :mod:`insitu.connection.redis_clients`, which switches redis-py's own
retries off: the transport retries with SmartRedis's budget.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Protocol

import redis
from redis.cluster import ClusterNode
from redis.crc import key_slot

from insitu.connection.redis_clients import cluster_client, redis_client
from insitu.connection.resp import encode_text
from insitu.errors import UnknownNodeError
from insitu.wire.addresses import Address
from insitu.wire.endpoint import Endpoint


class Router(Protocol):
    """Maps keys and addresses to redis-py clients of single shards."""

    @property
    def clustered(self) -> bool:
        """True for a Redis Cluster."""
        ...

    def node_for(self, key: str) -> redis.Redis:
        """The client of the shard that holds ``key``."""
        ...

    def node_at(self, address: Address) -> redis.Redis:
        """The client of the shard at ``address``; RedisInvalidUseError if not a shard."""
        ...

    def nodes(self) -> list[tuple[Address, redis.Redis]]:
        """Every shard (primaries) with its client."""
        ...

    def same_slot(self, first: str, second: str) -> bool:
        """True if a single command may touch both keys."""
        ...

    def refresh(self) -> None:
        """Re-learn the layout (after a redirect or a failure)."""
        ...

    def close(self) -> None:
        """Close every connection."""
        ...


class StandaloneRouter:
    """One server: every key and every admin command goes there."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.address = endpoint.address
        self._client = redis_client(endpoint)

    @property
    def clustered(self) -> bool:
        return False

    def node_for(self, key: str) -> redis.Redis:
        return self._client

    def node_at(self, address: Address) -> redis.Redis:
        if not address.same_endpoint(self.address):
            raise UnknownNodeError(
                f"{address} is not a valid database node address: this client is "
                f"connected to {self.address}"
            )
        return self._client

    def nodes(self) -> list[tuple[Address, redis.Redis]]:
        return [(self.address, self._client)]

    def same_slot(self, first: str, second: str) -> bool:
        return True

    def refresh(self) -> None:
        """Nothing to learn: the pool reconnects by itself."""

    def close(self) -> None:
        self._client.close()


class ClusterRouter:
    """A Redis Cluster: keys go to the primary that owns their slot (CRC16 hash tags)."""

    def __init__(self, endpoint: Endpoint, startup: Sequence[Address]) -> None:
        self._cluster = cluster_client(endpoint, startup)

    @property
    def clustered(self) -> bool:
        return True

    def node_for(self, key: str) -> redis.Redis:
        node = self._cluster.get_node_from_key(key)  # type: ignore[no-untyped-call]
        return self._connection(node)

    def node_at(self, address: Address) -> redis.Redis:
        host = address.host
        node = self._cluster.get_node(host=host, port=address.port)  # type: ignore[no-untyped-call]
        if node is None and not address.is_unix:
            node = self._cluster.get_node(  # type: ignore[no-untyped-call]
                host=_resolve(host), port=address.port
            )
        if node is None:
            known = ", ".join(str(a) for a, _ in self.nodes())
            raise UnknownNodeError(
                f"{address} is not a valid database node address (shards: {known})"
            )
        return self._connection(node)

    def nodes(self) -> list[tuple[Address, redis.Redis]]:
        return [
            (Address(n.host, int(n.port)), self._connection(n))
            for n in self._cluster.get_primaries()  # type: ignore[no-untyped-call]
        ]

    def same_slot(self, first: str, second: str) -> bool:
        return bool(key_slot(encode_text(first, "key")) == key_slot(encode_text(second, "key")))

    def refresh(self) -> None:
        self._cluster.nodes_manager.initialize()

    def close(self) -> None:
        self._cluster.close()

    def _connection(self, node: ClusterNode) -> redis.Redis:
        client = self._cluster.get_redis_connection(node)
        assert isinstance(client, redis.Redis)
        return client


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host
