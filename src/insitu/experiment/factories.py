"""The ``create_*`` factories of :class:`~insitu.experiment.Experiment` (SmartSim 0.8 names,
arguments and defaults), kept apart from the launch lifecycle.

Contract: every entity an Experiment creates gets a name unique within the experiment
(``EntityExistsError``), a path under the experiment directory unless one is given, and
settings the experiment's launcher can honour (``UnsupportedOptionError`` otherwise).
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Callable, Mapping
from typing import Any, cast

from insitu import _checks
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.errors import DBIDConflictError, EntityExistsError, UnsupportedOptionError
from insitu.experiment.selection import Entity
from insitu.runtime.controller import Controller
from insitu.settings.batch_settings import BatchSettings
from insitu.settings.factory import create_batch_settings, create_run_settings
from insitu.settings.run_settings import RunSettings
from insitu.store.orchestrator import Orchestrator

ArgValue = str | int | float | None


class EntityFactory:
    """The factory half of an Experiment; the subclass sets the attributes below."""

    name: str
    exp_path: str
    _launcher_name: str
    _control: Controller
    _created: dict[str, Entity]

    @property
    def launcher(self) -> str:
        """The launcher in use (``auto`` resolved)."""
        return self._launcher_name

    @property
    def db_identifiers(self) -> set[str]:
        """The ``db_identifier`` of every Orchestrator made by ``create_database`` (a new
        set on each read; SmartSim keeps the same set on the Experiment)."""
        return {e.db_identifier for e in self._created.values() if isinstance(e, Orchestrator)}

    def create_run_settings(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_command: str = "auto",
        run_args: Mapping[str, ArgValue] | None = None,
        env_vars: Mapping[str, str | int | float | None] | None = None,
        container: object | None = None,
        **kwargs: object,
    ) -> RunSettings:
        """Run settings of the class that fits this experiment's launcher and
        ``run_command`` (``"auto"``: the launcher's first run command on ``PATH``; none for
        ``local``), as :func:`insitu.settings.create_run_settings` chooses it.

        The executable is resolved to an absolute path now; a missing one raises
        ``ExecutableNotFoundError`` (a ``FileNotFoundError``).
        """
        return create_run_settings(
            self.launcher, exe, exe_args, run_command, run_args, env_vars, container, **kwargs
        )

    def create_batch_settings(
        self,
        nodes: int = 1,
        time: str = "",
        queue: str = "",
        account: str = "",
        batch_args: Mapping[str, str | None] | None = None,
        **kwargs: object,
    ) -> BatchSettings:
        """Batch settings of the launcher's scheduler (``SbatchSettings`` for slurm,
        ``QsubBatchSettings`` for pbs/pals, ``BsubBatchSettings`` for lsf); the local
        launcher has none (``InsituError``, SmartSim's ``SmartSimError``). This builds a
        value; whether the launcher can submit it is checked when it starts."""
        return create_batch_settings(
            self.launcher, nodes, time, queue, account, batch_args, **kwargs
        )

    def create_model(
        self,
        name: str,
        run_settings: RunSettings,
        params: Mapping[str, str | int | float] | None = None,
        path: str | None = None,
        enable_key_prefixing: bool = False,
        batch_settings: BatchSettings | None = None,
    ) -> Model:
        """A Model in ``path`` (default ``<exp_path>/<name>``)."""
        self._check_new_name(name)
        self._check_batch(batch_settings)
        entity_path = _entity_path(self.exp_path, name, path)
        model = Model(
            name, dict(params or {}), run_settings, entity_path, batch_settings=batch_settings
        )
        if enable_key_prefixing:
            model.enable_key_prefixing()
        self._created[name] = model
        return model

    def create_ensemble(
        self,
        name: str,
        params: Mapping[str, object] | None = None,
        batch_settings: BatchSettings | None = None,
        run_settings: RunSettings | None = None,
        replicas: int | None = None,
        perm_strategy: str | Callable[..., list[dict[str, str]]] = "all_perm",
        path: str | None = None,
        **kwargs: object,
    ) -> Ensemble:
        """An Ensemble of members ``<name>_<i>`` in ``path`` (default ``<exp_path>/<name>``)."""
        self._check_new_name(name)
        self._check_batch(batch_settings)
        entity_path = _entity_path(self.exp_path, name, path)
        ensemble = Ensemble(
            name,
            dict(params or {}),
            batch_settings=batch_settings,
            run_settings=run_settings,
            perm_strat=perm_strategy,
            replicas=replicas,
            path=entity_path,
            **cast(dict[str, Any], kwargs),
        )
        for member in ensemble.models:
            self._check_new_name(member.name)
        self._created[name] = ensemble
        return ensemble

    def create_database(
        self,
        port: int = 6379,
        path: str | None = None,
        db_nodes: int = 1,
        batch: bool = False,
        hosts: str | list[str] | None = None,
        run_command: str = "auto",
        interface: str | list[str] = "lo",
        account: str | None = None,
        time: str | None = None,
        queue: str | None = None,
        single_cmd: bool = True,
        db_identifier: str = "orchestrator",
        **kwargs: object,
    ) -> Orchestrator:
        """An Orchestrator (feature store) of ``db_nodes`` shards on ``port`` upwards.

        ``db_nodes`` 1 is a single shard; 3 or more form a Redis Cluster; 2 is an error.
        ``db_identifier`` must be unique in the experiment (``DBIDConflictError``).
        ``kwargs`` are server options, or settings of the inference workers beside every
        shard: ``threads_per_queue``, ``inter_op_threads``, ``intra_op_threads``,
        ``inference_workers`` (per shard, default 1; 0 for none) and ``inference_devices``
        (``"CPU"`` or e.g. ``["GPU:0", "GPU:1"]``), ``replicas`` (per master of a cluster,
        default 0) and ``acl="per_entity"`` (an ACL user per launched entity); see
        :class:`Orchestrator`.
        """
        _checks.check_type("db_identifier", db_identifier, str)
        existing = [e for e in self._created.values() if isinstance(e, Orchestrator)]
        if any(o.db_identifier == db_identifier for o in existing):
            raise DBIDConflictError(
                f"db_identifier {db_identifier!r} has already been used. Pass in a unique "
                f"name for db_identifier (an orchestrator of experiment {self.name!r} has it)"
            )
        self._check_new_name(db_identifier)
        store_path = _entity_path(self.exp_path, db_identifier, path)
        # Scheduler-only options are passed on only when given, so that the store
        # refuses them by name (UnsupportedOptionError) instead of ignoring them.
        batch_opts = {
            k: v
            for k, v in (("account", account), ("time", time), ("queue", queue))
            if v is not None
        }
        store = Orchestrator(
            path=store_path,
            port=port,
            interface=interface,
            launcher=self.launcher,
            run_command=run_command,
            db_nodes=db_nodes,
            batch=batch,
            hosts=hosts,
            single_cmd=single_cmd,
            db_identifier=db_identifier,
            **cast(dict[str, Any], {**batch_opts, **kwargs}),
        )
        self._created[db_identifier] = store
        return store

    def _check_new_name(self, name: str) -> None:
        _checks.check_type("name", name, str)
        if name in self._created:
            raise EntityExistsError(
                f"an entity named {name!r} already exists in experiment {self.name!r}"
            )

    def _check_batch(self, batch_settings: object | None) -> None:
        if batch_settings is not None and not self._control.launcher.supports_batch():
            raise UnsupportedOptionError(
                "batch_settings", f"the {self.launcher} launcher", "no batch system here"
            )


def _entity_path(exp_path: str, name: str, path: str | None) -> str:
    return osp.abspath(path) if path is not None else osp.join(exp_path, name)
