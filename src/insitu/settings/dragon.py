"""``DragonRunSettings`` (launcher ``dragon``), as in SmartSim 0.8: a value.

Dragon places processes itself, so there is no run command; the setters record run args
that a Dragon launcher would read (``nodes`` → ``resources.nodes``, ``tasks-per-node`` →
``resources.tasks_per_node``; ``node-feature``, ``cpu-affinity``, ``gpu-affinity`` stay
``run_args``). insitu has no Dragon launcher yet: launching these settings raises
``UnsupportedOptionError`` (the Experiment refuses ``launcher="dragon"`` first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from insitu.settings import _values as val
from insitu.settings.run_settings import RunSettings


class DragonRunSettings(RunSettings):
    """Run settings for the Dragon launcher."""

    resource_args: ClassVar[Mapping[str, str]] = {
        "nodes": "nodes", "tasks-per-node": "tasks_per_node",
    }  # fmt: skip

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(exe, exe_args, run_command="", env_vars=env_vars, **kwargs)

    def set_nodes(self, nodes: int) -> None:
        """Number of nodes."""
        self.run_args["nodes"] = val.as_int("nodes", nodes)

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """Tasks on each node."""
        self.run_args["tasks-per-node"] = val.as_int("tasks_per_node", tasks_per_node)

    def set_node_feature(self, feature_list: str | list[str]) -> None:
        """Node features, e.g. ``["gpu"]`` (a ``str`` is split on white space)."""
        if isinstance(feature_list, str):
            feature_list = feature_list.strip().split()
        features = val.str_list("feature_list", feature_list)
        self.run_args["node-feature"] = ",".join(features)

    def set_cpu_affinity(self, devices: list[int]) -> None:
        """CPU ids of each process."""
        self.run_args["cpu-affinity"] = ",".join(str(d) for d in val.int_list("devices", devices))

    def set_gpu_affinity(self, devices: list[int]) -> None:
        """GPU ids of each process."""
        self.run_args["gpu-affinity"] = ",".join(str(d) for d in val.int_list("devices", devices))


__all__ = ["DragonRunSettings"]
