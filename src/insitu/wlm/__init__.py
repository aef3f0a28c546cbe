"""insitu.wlm: workload-manager helpers, as SmartSim's ``smartsim.wlm`` (the code lives in
:mod:`insitu.launchers.wlm`, with the rest of insitu's scheduler knowledge)."""

from insitu.launchers.wlm import (
    detect_launcher,
    get_hosts,
    get_queue,
    get_tasks,
    get_tasks_per_node,
)

__all__ = ["detect_launcher", "get_hosts", "get_queue", "get_tasks", "get_tasks_per_node"]
