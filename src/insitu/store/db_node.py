"""SmartSim's per-shard entity (``DBNode``) and the telemetry switch, as values.

An Orchestrator's :attr:`entities` are one :class:`DBNode` per shard: its job name, its
directory, its port(s) and the host(s) it runs on once the store is up.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from insitu import _checks as tc
from insitu.errors import InsituError


class TelemetryConfiguration:
    """Whether telemetry is collected for an entity (SmartSim's switch).

    insitu's launch record (``<exp>/.insitu/events.jsonl``) is always written; this switch is
    kept as a value for drivers that toggle it, for the observability work to honour.
    """

    def __init__(self, enabled: bool = False) -> None:
        self._enabled = bool(enabled)

    @property
    def is_enabled(self) -> bool:
        """The switch's position."""
        return self._enabled

    def enable(self) -> None:
        """Turn telemetry on."""
        self._enabled = True

    def disable(self) -> None:
        """Turn telemetry off."""
        self._enabled = False


class DBNode:
    """One shard (or MPMD group) of an Orchestrator: SmartSim's ``DBNode``."""

    def __init__(
        self,
        name: str,
        path: str,
        run_settings: object = None,
        ports: Sequence[int] = (),
        output_files: Sequence[str] = (),
        db_identifier: str = "",
    ) -> None:
        self.name = tc.check_str("name", name)
        self.path = str(path)
        self.run_settings = run_settings
        self.ports = list(ports)
        self._output_files = list(output_files)
        self.db_identifier = db_identifier
        self._hosts: list[str] = []

    @property
    def type(self) -> str:
        """``"DBNode"``."""
        return type(self).__name__

    @property
    def num_shards(self) -> int:
        """Shards this node runs (1: insitu runs one process per shard)."""
        return 1

    @property
    def is_mpmd(self) -> bool:
        """Always ``False``: each shard is a job of its own."""
        return False

    @property
    def host(self) -> str:
        """The host of the shard; ``InsituError`` (SmartSimError) before it runs."""
        if not self._hosts:
            raise InsituError(f"{self.name} has no host: the store is not running")
        return self._hosts[0]

    @property
    def hosts(self) -> list[str]:
        """Hosts of the shard (empty before it runs)."""
        return list(self._hosts)

    def set_hosts(self, hosts: str | Sequence[str]) -> None:
        """Record the hosts the shard runs on."""
        self._hosts = [hosts] if isinstance(hosts, str) else list(hosts)

    def clear_hosts(self) -> None:
        """Forget the hosts (the shard stopped)."""
        self._hosts = []

    def set_path(self, path: str) -> None:
        """Move the node's directory."""
        self.path = str(path)

    def remove_stale_dbnode_files(self) -> None:
        """Delete the cluster node table left by an earlier run of this shard."""
        (Path(self.path) / f"nodes-{self.name}.conf").unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"DBNode(name={self.name!r}, ports={self.ports}, hosts={self._hosts})"


__all__ = ["DBNode", "TelemetryConfiguration"]
