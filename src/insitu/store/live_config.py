"""Server options of a running or future store: SmartSim's ``set_*`` methods.

Each setter validates its value, applies it live with ``CONFIG SET`` on every shard when the
store runs, and remembers it for the config file of every later start.
"""

from __future__ import annotations

from insitu._checks import check_type
from insitu.errors import StoreNotActiveError
from insitu.store import options
from insitu.store.shard_client import config_set_all, save_all, shard_endpoints
from insitu.store.topology import Topology


class LiveConfig:
    """Mixin of :class:`~insitu.store.orchestrator.Orchestrator` (which sets the attributes)."""

    _active: bool
    _topology: Topology
    _password: str
    _options: dict[str, str]

    @property
    def tls_ca(self) -> str | None:  # pragma: no cover - defined by Orchestrator
        raise NotImplementedError

    def set_db_conf(self, key: str, value: str) -> None:
        """Set server option ``key`` to ``value`` live on every shard (``CONFIG SET``), and
        in the config of every later start.

        As in SmartSim: ``key`` and ``value`` must be ``str`` (``ParameterTypeError``, a
        ``TypeError``) and the store must be running (``StoreNotActiveError``, a
        ``SmartSimError``; before start, pass options as keyword arguments of the
        Orchestrator or use the ``set_*`` setters). A value the server rejects raises
        :class:`~insitu.errors.InvalidServerOptionError` and is not remembered.
        """
        check_type("key", key, str, "a str")
        check_type("value", value, str, "a str")
        if not self._active:
            raise StoreNotActiveError(
                "The Orchestrator must be active in order to set the database's "
                f"configuration ({key}); start it first"
            )
        self._apply(*options.normalize_option(key, value))

    def set_max_memory(self, mem: str) -> None:
        """Max memory, e.g. ``"3gb"`` (k, kb, m, mb, g, gb; ``"0"`` = no limit)."""
        self._apply(*options.memory_option(mem))

    def set_eviction_strategy(self, strategy: str) -> None:
        """``maxmemory-policy``: ``noeviction``, ``allkeys-lru``, ``volatile-ttl`` …"""
        self._apply(*options.eviction_option(strategy))

    def set_max_clients(self, clients: int = 50_000) -> None:
        """Maximum number of simultaneous client connections per shard."""
        self._apply(*options.max_clients_option(clients))

    def set_max_message_size(self, size: int = 1_073_741_824) -> None:
        """Largest single value (``proto-max-bulk-len``) in bytes; at least 1 MiB."""
        self._apply(*options.max_message_size_option(size))

    def enable_checkpoints(self, frequency: int) -> None:
        """Snapshot to disk every ``frequency`` seconds if at least one key changed."""
        self._apply(*options.checkpoint_option(frequency))

    def save(self) -> None:
        """Snapshot every shard to disk now (``SAVE``; the file is in the shard's
        directory, and a store started again there loads it).
        :class:`~insitu.errors.StoreNotActiveError` if the store is not running."""
        if not self._active:
            raise StoreNotActiveError("the store is not running: nothing to save")
        save_all(shard_endpoints(self._topology.addresses, self._password, tls_ca=self.tls_ca))

    def _apply(self, key: str, value: str) -> None:
        if self._active:
            shards = shard_endpoints(self._topology.addresses, self._password, tls_ca=self.tls_ca)
            config_set_all(shards, key, value)
        self._options[key] = value
