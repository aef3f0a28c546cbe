"""insitu.launchers: everything insitu knows about workload managers, and nothing else does.

- :mod:`~insitu.launchers.base`: the ``Launcher`` protocol the runtime drives.
- :mod:`~insitu.launchers.registry`: the one launcher list (names, factories, run and batch
  commands, rules executors); settings, store, rules and CLI read it.
- :mod:`~insitu.launchers.local`: local child processes.
- :mod:`~insitu.launchers.batch`: ``BatchLauncher`` over a pure per-scheduler protocol.
- :mod:`~insitu.launchers.subprocesses`: the one place that runs scheduler CLI tools.
- :mod:`~insitu.launchers.directives` and ``slurm/``, ``pbs/``, ``lsf/``: pure builders of
  each scheduler's batch options and script directives.

This package imports nothing on import, so that ``insitu.store`` may read the registry
without loading any launcher.
"""
