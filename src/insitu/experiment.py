"""The Experiment: SmartSim 0.8's top-level API over insitu's runtime.

An Experiment creates entities (``create_*``), lays out their directories (``generate``),
launches them through one launcher (``start``: stores first and ready, then everything else),
watches them (``poll``, ``get_status``, ``finished``, ``summary``) and stops them (``stop``).
Whatever it starts is stopped at the latest when the interpreter exits.

A colocated Model (``Model.colocate_db_*``) gets its own store, started just before the
application and stopped when the application ends; see :mod:`insitu._colocated_stores`.
"""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from insitu import _checks
from insitu._colocated_stores import plan_colocated
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.errors import (
    AlreadyRunningError,
    DBIDConflictError,
    EntityExistsError,
    EntityNotLaunchedError,
    InvalidArgumentError,
    UnsupportedOptionError,
)
from insitu.generation.run_dirs import Generator
from insitu.jobs.events import JobEvent
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers.registry import create_launcher, resolve_launcher_name
from insitu.log import get_logger
from insitu.manifest import Entity, Manifest, build_manifest
from insitu.preview import Format, Verbosity, parse_format, parse_verbosity, render_preview
from insitu.runtime.controller import Controller
from insitu.runtime.events import Subscription
from insitu.settings.batch_settings import BatchSettings
from insitu.settings.run_commands import detect_run_command
from insitu.settings.run_settings import RunSettings
from insitu.store.orchestrator import Orchestrator
from insitu.summary import render_summary

logger = get_logger("insitu.experiment")

ArgValue = str | int | float | None


class Experiment:
    """A workflow of Models, Ensembles and Orchestrators run through one launcher.

    ``exp_path`` (default ``./<name>``) must be an existing directory when given, as in
    SmartSim. ``launcher`` is ``"local"`` (default) or ``"auto"``; other names raise
    ``UnknownLauncherError`` until their launcher is available.
    """

    def __init__(self, name: str, exp_path: str | None = None, launcher: str = "local") -> None:
        _checks.check_type("name", name, str)
        if not name:
            raise InvalidArgumentError("experiment name must not be empty")
        self.name = name
        self.exp_path = _experiment_path(name, exp_path)
        self._launcher_name = resolve_launcher_name(launcher)
        self._control = Controller(create_launcher(self._launcher_name))
        self._created: dict[str, Entity] = {}
        self._colocated: dict[str, Orchestrator] = {}  # model name -> its latest store

    @property
    def launcher(self) -> str:
        """The launcher in use (``auto`` resolved)."""
        return self._launcher_name

    # ----------------------------------------------------------------- factories
    def create_run_settings(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_command: str = "auto",
        run_args: Mapping[str, ArgValue] | None = None,
        env_vars: Mapping[str, str | int | float] | None = None,
        container: object | None = None,
        **kwargs: object,
    ) -> RunSettings:
        """RunSettings for this experiment's launcher; ``run_command="auto"`` picks its default.

        The executable is resolved to an absolute path now; a missing one raises
        ``ExecutableNotFoundError`` (a ``FileNotFoundError``).
        """
        if container is not None:
            raise UnsupportedOptionError("container", f"the {self.launcher} launcher")
        command = detect_run_command(self.launcher) if run_command == "auto" else run_command
        return RunSettings(
            exe, exe_args, command or "", dict(run_args or {}), dict(env_vars or {}), **kwargs
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
        """BatchSettings for the launcher's scheduler; the local launcher has none."""
        raise UnsupportedOptionError(
            "create_batch_settings",
            f"the {self.launcher} launcher",
            "batch jobs need a workload manager (slurm, pbs, lsf)",
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
        """
        _checks.check_type("db_identifier", db_identifier, str)
        existing = [e for e in self._created.values() if isinstance(e, Orchestrator)]
        if any(o.db_identifier == db_identifier for o in existing):
            raise DBIDConflictError(
                f"an orchestrator with db_identifier {db_identifier!r} already exists in "
                f"experiment {self.name!r}; give each orchestrator its own db_identifier"
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

    # ----------------------------------------------------------------- lifecycle
    def generate(
        self, *args: Entity, tag: str | None = None, overwrite: bool = False, verbose: bool = False
    ) -> None:
        """Create the directories of ``args`` (and attached files) under the experiment path.

        An existing entity directory raises ``EntityDirExistsError`` unless ``overwrite``.
        """
        manifest = build_manifest(*args)
        Generator(self.exp_path, overwrite=overwrite, tag=tag).generate_experiment(
            *manifest.entities
        )
        if verbose:
            logger.info("generated %s", ", ".join(e.name for e in manifest.entities))

    def start(
        self,
        *args: Entity,
        block: bool = True,
        summary: bool = False,
        kill_on_interrupt: bool = True,
    ) -> None:
        """Launch ``args``: orchestrators first (each ready before anything else starts).

        A colocated Model's store starts (and is ready) just before the Model, and is
        stopped when the Model's run ends. Everything is validated before anything starts;
        if a launch fails part-way, what this call started is stopped again. ``block``
        waits for the non-store entities (and for their colocated stores to be stopped).
        On Ctrl-C while blocking, ``kill_on_interrupt`` stops every job of the experiment.
        """
        manifest = build_manifest(*args)
        self._check_not_running(manifest)
        # Their applications have ended (just checked): finish their old stores' teardown
        # now instead of racing the teardown thread for the store names.
        self._stop_colocated([m.name for m in manifest.colocated_models])
        for model in manifest.all_models:
            self._check_batch(model.batch_settings)
            self._control.launcher.validate(_model_spec(model, {}))
        colocated = plan_colocated(
            manifest.colocated_models, manifest.orchestrators, self._shared_stores()
        )
        if summary:
            logger.info("launching:\n%s", self._preview_text(manifest, Verbosity.INFO))
        started_stores: list[str] = []
        started_jobs: list[str] = []
        try:
            for store in manifest.orchestrators:
                self._control.start_store(store)
                started_stores.append(store.name)
            for model in manifest.all_models:
                self._launch_model(model, colocated.get(model.name), started_stores)
                started_jobs.append(model.name)
        except BaseException:
            self._control.stop_jobs(started_jobs)
            for name in started_stores:
                self._control.stop_store(name)
            raise
        if block:
            self._wait([m.name for m in manifest.all_models], kill_on_interrupt)

    def _launch_model(self, model: Model, store: Orchestrator | None, started: list[str]) -> None:
        """Submit ``model``; with a colocated ``store``, start that first (``started`` gets
        its name before it starts, so that a failed start is rolled back too)."""
        Path(model.path).mkdir(parents=True, exist_ok=True)
        if store is None:
            self._control.submit(_model_spec(model, self._model_env(model)), model.name)
            return
        started.append(store.name)
        spec = _model_spec(model, self._model_env(model, store.connection_env()))
        self._colocated[model.name] = store
        self._control.start_colocated(store, spec, model.name)

    def stop(self, *args: Entity) -> None:
        """Stop ``args`` (stores: every shard); entities not running are left alone."""
        manifest = build_manifest(*args)
        names = [m.name for m in manifest.all_models]
        self._control.stop_jobs(names)
        self._stop_colocated(names)
        for store in manifest.orchestrators:
            self._control.stop_store(store.name)

    def poll(
        self, interval: int = 10, verbose: bool = True, kill_on_interrupt: bool = True
    ) -> None:
        """Block until every running Model/Ensemble member has ended (stores keep running).

        With ``verbose``, logs each job's status every ``interval`` seconds.
        """
        names = [r.name for r in self._control.table.active() if r.entity_type != "DBNode"]

        def report() -> None:
            for name in names:
                logger.info("%s: %s", name, self._control.status(name).value)

        self._wait(names, kill_on_interrupt, report if verbose else None, float(interval))

    def finished(self, entity: Model | Ensemble) -> bool:
        """True once ``entity`` (every member, for an Ensemble) has ended.

        Raises ``EntityNotLaunchedError`` for an entity this experiment never started.
        """
        names = [m.name for m in _members(entity)]
        return all(self._control.status(name).is_terminal for name in names)

    def get_status(self, *args: Entity) -> list[JobState]:
        """Status of each Model, each Ensemble member and each shard, in order.

        Entities never started report ``NeverStarted``.
        """
        statuses: list[JobState] = []
        for name in self._job_names(build_manifest(*args)):
            try:
                statuses.append(self._control.status(name))
            except EntityNotLaunchedError:
                statuses.append(JobState.STATUS_NEVER_STARTED)
        return statuses

    def preview(
        self,
        *args: Entity,
        verbosity_level: Verbosity | str = Verbosity.INFO,
        output_format: Format | str = Format.PLAINTEXT,
        output_filename: str | None = None,
    ) -> None:
        """Print (or write to ``output_filename``) what ``start(*args)`` would launch."""
        verbosity = parse_verbosity(verbosity_level)
        parse_format(output_format)
        text = self._preview_text(build_manifest(*args), verbosity)
        if output_filename is None:
            print(text, end="")
            return
        out = Path(output_filename)
        if out.exists():
            raise FileExistsError(f"preview output file {out} already exists")
        out.write_text(text, encoding="utf-8")

    def summary(self, style: str = "github") -> str:
        """A table of every run: Name, Entity-Type, JobID, RunID, Time, Status, Returncode."""
        self._control.monitor.refresh()
        return render_summary(self._control.table, style)

    def subscribe(self, listener: Callable[[JobEvent], None]) -> Subscription:
        """Receive every JobEvent of this experiment's jobs (on the monitor thread)."""
        return self._control.subscribe(listener)

    def stop_all(self) -> None:
        """Stop every job and store this experiment started (also run at interpreter exit)."""
        self._control.shutdown()

    # ----------------------------------------------------------------- helpers
    def _wait(
        self,
        names: Sequence[str],
        kill_on_interrupt: bool,
        on_tick: Callable[[], None] | None = None,
        tick: float = 1.0,
    ) -> None:
        try:
            self._control.wait(names, on_tick=on_tick, tick=tick)
        except KeyboardInterrupt:
            if kill_on_interrupt:
                logger.warning("interrupted: stopping every job of experiment %s", self.name)
                self._control.shutdown()
            raise
        self._stop_colocated(names)

    def _stop_colocated(self, names: Sequence[str]) -> None:
        """Stop the colocated stores of the models ``names`` (their apps have ended or been
        stopped); returns once they are gone, even if the teardown thread stops them."""
        for name in names:
            store = self._colocated.get(name)
            if store is not None:
                self._control.stop_store(store.name)

    def _model_env(
        self, model: Model, colocated: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Shared stores, then the model's colocated store, then key prefixes."""
        from insitu.client.connection_env import format_key_prefix_env

        key_out = model.name if model.query_key_prefixing() else None
        keys_in = [e.name for e in model.incoming_entities]
        prefixes = format_key_prefix_env(key_out, keys_in)
        return {**self._control.store_env(), **(colocated or {}), **prefixes}

    def _shared_stores(self) -> list[Orchestrator]:
        return [s for s in self._control.running_stores() if isinstance(s, Orchestrator)]

    def _preview_text(self, manifest: Manifest, verbosity: Verbosity) -> str:
        stores = list(manifest.orchestrators) or self._shared_stores()
        return render_preview(self.name, self.exp_path, self.launcher, manifest, stores, verbosity)

    def _job_names(self, manifest: Manifest) -> list[str]:
        names: list[str] = []
        for entity in manifest.entities:
            if isinstance(entity, Orchestrator):
                names += entity.shard_names
            else:
                names += [m.name for m in _members(entity)]
        return names

    def _check_not_running(self, manifest: Manifest) -> None:
        for name in self._job_names(manifest):
            record = self._control.table.latest(name)
            if record is not None and not record.state.is_terminal:
                raise AlreadyRunningError(
                    f"{name} is already running (job {record.job_id}); "
                    "stop it before starting it again"
                )

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


def _members(entity: Model | Ensemble) -> list[Model]:
    return list(entity.models) if isinstance(entity, Ensemble) else [entity]


def _model_spec(model: Model, env: Mapping[str, str]) -> JobSpec:
    path = Path(model.path)
    return model.run_settings.to_job_spec(
        name=model.name,
        cwd=path,
        out_path=path / f"{model.name}.out",
        err_path=path / f"{model.name}.err",
        extra_env=env,
        entity_type="Model",
    )


def _experiment_path(name: str, exp_path: str | None) -> str:
    if exp_path is None:
        return osp.join(os.getcwd(), name)
    _checks.check_type("exp_path", exp_path, str)
    if not osp.isdir(osp.abspath(exp_path)):
        raise InvalidArgumentError(f"experiment path {exp_path!r} does not exist")
    return osp.abspath(exp_path)


def _entity_path(exp_path: str, name: str, path: str | None) -> str:
    return osp.abspath(path) if path is not None else osp.join(exp_path, name)
