"""THE one place that opens store connections, each from a
:class:`~insitu.wire.endpoint.Endpoint` (address, credentials, TLS, timeouts).

``redis_clients`` builds redis-py clients (one server, a Redis Cluster, short-lived shard
sessions) and holds every use of redis-py's private connection internals; ``resp`` and
``resp_connection`` are the lean RESP2 path for hot loops (inference requests, the workers'
queues). The client, the store and the inference workers reach servers only through here, so
authentication and transport security change in this package (and the server config and the
environment contract) only.
"""
