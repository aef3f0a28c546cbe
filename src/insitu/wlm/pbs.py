"""insitu.wlm.pbs: the PBS job this process runs in (see :mod:`insitu.launchers.pbs.allocation`)."""

from insitu.launchers.pbs.allocation import get_hosts, get_queue, get_tasks, get_tasks_per_node

__all__ = ["get_hosts", "get_queue", "get_tasks", "get_tasks_per_node"]
