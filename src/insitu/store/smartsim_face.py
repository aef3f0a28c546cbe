"""SmartSim's entity-side API of an Orchestrator: ``entities`` (one ``DBNode`` per shard),
``set_path``, ``telemetry``, ``checkpoint_file``, ``reset_hosts``; and the checkpoint
written when the store is ready (see :mod:`insitu.store.reconnect`)."""

from __future__ import annotations

import os
from pathlib import Path

from insitu.store.db_node import DBNode, TelemetryConfiguration
from insitu.store.reconnect import CHECKPOINT_NAME, password_file, write_checkpoint
from insitu.store.topology import Topology
from insitu.wire.checkpoint import StoreCheckpoint


class SmartSimFace:
    """Mixin of :class:`~insitu.store.orchestrator.Orchestrator` (which sets the attributes)."""

    _path: Path
    _name: str
    _db_identifier: str
    _topology: Topology
    _acl: str | None
    _password: str
    _active: bool
    launcher: str

    @property
    def tls_ca(self) -> str | None:  # pragma: no cover - defined by Orchestrator
        raise NotImplementedError

    @property
    def telemetry(self) -> TelemetryConfiguration:
        """The store's telemetry switch (off by default, as in SmartSim): while it and the
        experiment's are on, the store's shards are sampled (see docs/observability.md)."""
        found = self.__dict__.get("_telemetry")
        if found is None:
            found = self.__dict__["_telemetry"] = TelemetryConfiguration(False)
        return found

    @property
    def checkpoint_file(self) -> str:
        """Where the store's reconnect checkpoint is written once it is ready."""
        return str(self._path.resolve() / CHECKPOINT_NAME)

    def set_path(self, new_path: str | os.PathLike[str]) -> None:
        """Move the store's directory (before it starts)."""
        self._path = Path(new_path)

    @property
    def entities(self) -> list[DBNode]:
        """One :class:`DBNode` per shard, with its host once the store runs."""
        nodes: list[DBNode] = []
        for name, address, port in zip(
            self.shard_names, self._topology.addresses, self._topology.ports, strict=True
        ):
            node = DBNode(name, str(self._path / name), None, [port], (), self._db_identifier)
            if self._active:
                node.set_hosts(address.rpartition(":")[0] or address)
            nodes.append(node)
        return nodes

    @property
    def shard_names(self) -> list[str]:  # pragma: no cover - defined by Orchestrator
        raise NotImplementedError

    @property
    def is_clustered(self) -> bool:  # pragma: no cover - defined by Orchestrator
        raise NotImplementedError

    def reset_hosts(self) -> None:
        """Forget where the shards ran (SmartSim's method; the hosts come from the
        running store in insitu, so there is nothing to clear)."""

    def write_checkpoint(self) -> Path:
        """Write the reconnect checkpoint and the 0600 password file; returns the path."""
        directory = self._path.resolve()
        checkpoint = StoreCheckpoint(
            name=self._name,
            db_identifier=self._db_identifier,
            path=str(directory),
            launcher=self.launcher,
            addresses=tuple(self._topology.addresses),
            shard_names=tuple(self.shard_names),
            clustered=self.is_clustered,
            password_file=str(password_file(directory, self._name)),
            tls_ca=self.tls_ca or "",
            replicas=self._topology.replicas,
            acl=self._acl or "",
        )
        return write_checkpoint(checkpoint, self._password)


__all__ = ["SmartSimFace"]
