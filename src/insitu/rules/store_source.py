"""Store metrics through redis-py: the :class:`~insitu.rules.metrics.MetricSource` for now.

An application publishes a metric by writing a decimal string to ``insitu:metric:<name>``
(:func:`publish_metric` does it with a redis-py client); rules read it as ``store.<name>``.
When insitu's ``Client`` lands, a source built on it can replace this one unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis
from redis.cluster import ClusterNode, RedisCluster

from insitu.rules.metrics import metric_key, parse_metric_value


class RedisMetricSource:
    """Reads ``insitu:metric:<name>`` keys from a standalone store or a Redis Cluster.

    ``addresses`` are ``host:port`` strings (or one ``unix://<path>``); ``password`` is the
    store's (insitu's stores always have one).
    """

    def __init__(self, addresses: Sequence[str], password: str = "", clustered: bool = False):
        if not addresses:
            raise ValueError("a store metric source needs at least one address")
        secret = password or None
        self._client: redis.Redis | RedisCluster
        first = addresses[0]
        if first.startswith("unix://"):
            self._client = redis.Redis(unix_socket_path=first[len("unix://") :], password=secret)
        elif clustered:
            nodes = [ClusterNode(*_host_port(a)) for a in addresses]  # type: ignore[no-untyped-call]
            self._client = RedisCluster(startup_nodes=nodes, password=secret)
        else:
            host, port = _host_port(first)
            self._client = redis.Redis(host=host, port=port, password=secret)

    def read(self, names: Sequence[str]) -> Mapping[str, float]:
        """Current values of ``names`` (absent or non-numeric ones left out)."""
        out: dict[str, float] = {}
        for name in names:
            value = parse_metric_value(self._client.get(metric_key(name)))
            if value is not None:
                out[name] = value
        return out

    def close(self) -> None:
        """Close the connections."""
        self._client.close()


def publish_metric(client: redis.Redis, name: str, value: float) -> None:
    """Write metric ``name`` as an application would (for scripts without insitu's Client)."""
    client.set(metric_key(name), repr(float(value)))


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)
