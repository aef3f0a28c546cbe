"""insitu.launchers: everything insitu knows about workload managers, and nothing else does.

- :mod:`~insitu.launchers.base`: the ``Launcher`` protocol the runtime drives.
- :mod:`~insitu.launchers.registry`: the one launcher list (names, factories, run and batch
  commands, rules executors); settings, store, rules and CLI read it.
- :mod:`~insitu.launchers.local`: local child processes.
- :mod:`~insitu.launchers.batch`: ``BatchLauncher`` over a pure per-scheduler protocol.
- :mod:`~insitu.launchers.subprocesses`: the one place that runs scheduler CLI tools.
- :mod:`~insitu.launchers.directives` and ``slurm/``, ``pbs/``, ``lsf/``, ``sge/``: pure
  builders of each scheduler's batch options and script directives, and their launchers.
- :mod:`~insitu.launchers.agent_groups` and :mod:`~insitu.launchers.step_agent`: batch
  groups (one job, members as steps) on schedulers without ``srun --jobid``.

This package imports nothing on import, so that ``insitu.store`` may read the registry
without loading any launcher; the names below load their module on first use (PEP 562).
"""

from __future__ import annotations

import typing

from insitu._lazy import lazy_getattr

if typing.TYPE_CHECKING:
    from insitu.launchers.base import JobStatus, Launcher
    from insitu.launchers.batch import BatchLauncher, Scheduler
    from insitu.launchers.registry import (
        available_launchers,
        create_launcher,
        resolve_launcher_name,
    )

_SOURCES = {
    "BatchLauncher": "insitu.launchers.batch",
    "JobStatus": "insitu.launchers.base",
    "Launcher": "insitu.launchers.base",
    "Scheduler": "insitu.launchers.batch",
    "available_launchers": "insitu.launchers.registry",
    "create_launcher": "insitu.launchers.registry",
    "resolve_launcher_name": "insitu.launchers.registry",
}

__all__ = [
    "BatchLauncher",
    "JobStatus",
    "Launcher",
    "Scheduler",
    "available_launchers",
    "create_launcher",
    "resolve_launcher_name",
]


__getattr__ = lazy_getattr(__name__, _SOURCES, globals())
