"""The Experiment: SmartSim 0.8's top-level API over insitu's runtime.

An Experiment creates entities (``create_*``), lays out their directories (``generate``),
launches them through one launcher (``start``: stores first and ready, then everything else),
watches them (``poll``, ``get_status``, ``finished``, ``summary``) and stops them (``stop``).
Whatever it starts is stopped at the latest when the interpreter exits.

A colocated Model (``Model.colocate_db_*``) gets its own store, started just before the
application and stopped when the application ends; see :mod:`insitu.experiment.colocated`.
Every store runs inference workers beside its shards (:mod:`insitu.store.workers`); they are
jobs of the same launcher, left out of :meth:`Experiment.summary`. Models, scripts and
functions attached to entities are loaded into their stores before the entities start
(:mod:`insitu.entities.ml_api`).

Every job event and every store ready/stopped is appended to the launch record,
``<exp_path>/.insitu/events.jsonl`` (:mod:`insitu.wire.record`), so that other processes can
follow the experiment. The record is created by the first ``start`` (the experiment
directory with it, as SmartSim creates ``.smartsim/``); if it cannot be written the
experiment runs without it (a warning is logged): the record is an observer, never a reason
for a run to fail. A later Experiment on the same path appends a new run to the record.
"""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from insitu import _checks
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.errors import (
    AlreadyRunningError,
    EntityNotLaunchedError,
    ExperimentPathError,
    InvalidArgumentError,
    ParameterTypeError,
)
from insitu.experiment import telemetry
from insitu.experiment.colocated import plan_colocated
from insitu.experiment.factories import EntityFactory
from insitu.experiment.loading import Load, colocated_load, load_objects, plan_loads
from insitu.experiment.node_load import load_beside
from insitu.experiment.notebook import SummaryText, Timeline, experiment_html, plot_timeline
from insitu.experiment.preview import (
    Format,
    Verbosity,
    parse_format,
    parse_verbosity,
    render_preview,
)
from insitu.experiment.progress import Progress, Waiting, progress_enabled
from insitu.experiment.reconnected import ReconnectedStores
from insitu.experiment.registry_hook import PasswordRegistration
from insitu.experiment.selection import Entity, Selection, select_entities
from insitu.experiment.summary import HEADERS, open_access_note, render_summary, summary_rows
from insitu.generation.run_dirs import Generator
from insitu.jobs.entity_types import EntityType
from insitu.jobs.events import JobEvent
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers.registry import (
    create_launcher,
    resolve_launcher_name,
    runs_on_other_hosts,
)
from insitu.log import get_logger
from insitu.runtime.controller import Controller
from insitu.runtime.events import Subscription
from insitu.runtime.record import RecordWriter, RunFacts
from insitu.runtime.telemetry import TelemetrySampler
from insitu.store.orchestrator import Orchestrator
from insitu.store.server_config import PASSWORDLESS_TCP
from insitu.wire.record import record_path

logger = get_logger("insitu.experiment")


class Experiment(EntityFactory):
    """A workflow of Models, Ensembles and Orchestrators run through one launcher.

    ``exp_path`` (default ``./<name>``) must be an existing directory when given, as in
    SmartSim. ``launcher`` is ``"local"`` (default), ``"slurm"``, ``"pbs"``, ``"pals"``,
    ``"lsf"`` or ``"auto"``; other known names raise ``UnknownLauncherError`` until their
    launcher is available.

    Used as a context manager (``with Experiment(...) as exp:``), it stops everything it
    started when the block ends, normally or by an exception (which propagates), and closes
    its launch record: see :meth:`stop_all`.
    """

    def __init__(self, name: str, exp_path: str | None = None, launcher: str = "local") -> None:
        _checks.check_type("name", name, str)
        if not name:
            raise InvalidArgumentError("experiment name must not be empty")
        enabled, period, max_bytes = telemetry.default_settings()  # checked before anything
        self.name = name
        self.exp_path = _experiment_path(name, exp_path)
        self._launcher_name = resolve_launcher_name(launcher)
        self._control = Controller(create_launcher(self._launcher_name))
        self._control.subscribe_stores(PasswordRegistration(self._control.store))
        self._created: dict[str, Entity] = {}
        self._colocated: dict[str, Orchestrator] = {}  # model name -> its latest store
        self._reconnected = ReconnectedStores()
        self._record = RecordWriter(
            record_path(self.exp_path), RunFacts(name, self.exp_path, self._launcher_name)
        )
        self._control.subscribe(self._record.on_job)
        self._control.subscribe_stores(self._record.on_store)
        self._sampler = TelemetrySampler(
            record_path(self.exp_path).parent, self._record.run_id, period, max_bytes
        )
        self._telemetry = telemetry.ExperimentTelemetryConfiguration(self._sampler, enabled)
        self._control.subscribe_stores(telemetry.StoreSampling(self._sampler, self._control.store))

    @property
    def telemetry(self) -> telemetry.ExperimentTelemetryConfiguration:
        """Sampling of stores and rules into ``<exp_path>/.insitu/telemetry.jsonl``: on by
        default (``INSITU_TELEMETRY=0`` turns it off), ``enable()``/``disable()``,
        ``is_enabled`` and ``period`` (seconds, default 5). See docs/observability.md."""
        return self._telemetry

    def __enter__(self) -> Experiment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop everything this experiment started and close its record; an exception
        raised in the block propagates."""
        self.stop_all()

    # ----------------------------------------------------------------- lifecycle
    def generate(
        self, *args: Entity, tag: str | None = None, overwrite: bool = False, verbose: bool = False
    ) -> None:
        """Create the directories of ``args`` (and attached files) under the experiment path.

        An existing entity directory raises ``EntityDirExistsError`` unless ``overwrite``.
        """
        selection = select_entities(*args)
        Generator(self.exp_path, overwrite=overwrite, tag=tag).generate_experiment(
            *selection.entities
        )
        if verbose:
            logger.info("generated %s", ", ".join(e.name for e in selection.entities))

    def start(
        self,
        *args: Entity,
        block: bool = True,
        summary: bool = False,
        kill_on_interrupt: bool = True,
        progress: bool | None = None,
    ) -> None:
        """Launch ``args``: orchestrators first (each ready before anything else starts).

        A colocated Model's store starts (and is ready) just before the Model, and is
        stopped when the Model's run ends. Everything is validated before anything starts;
        if a launch fails part-way, what this call started is stopped again. ``block``
        waits, as SmartSim does, for every Model and Ensemble member of the experiment that
        is running (those of earlier ``start(block=False)`` calls too; stores keep running),
        and for the colocated stores of ``args`` to be stopped.
        On Ctrl-C while blocking, ``kill_on_interrupt`` stops every job of the experiment.
        ``progress`` (default: ``INSITU_PROGRESS``, on) shows each store until it is ready
        and, while blocking, the entities by state (see :mod:`insitu.experiment.progress`).
        """
        show_progress = progress_enabled(progress)
        selection = select_entities(*args)
        colocated, loads, specs = self._plan_start(selection)
        if summary:
            logger.info("launching:\n%s", self._preview_text(selection, Verbosity.INFO))
        started_stores: list[str] = []
        started_jobs: list[str] = []
        try:
            for store in selection.orchestrators:
                shards = f"{store.num_shards} shard{'s' if store.num_shards != 1 else ''}"
                shards += f", {store.replicas} replica(s) each" if store.replicas else ""
                what = f"orchestrator {store.name} ({shards})"
                with Waiting(self.name, what) if show_progress else nullcontext():
                    self._control.start_store(store)
                started_stores.append(store.name)
                store.write_checkpoint()
            for load in loads:
                load_objects(load)
            for model in selection.all_models:
                spec = specs[model.name]
                self._launch_model(model, spec, colocated.get(model.name), started_stores)
                started_jobs.append(model.name)
            # Launchers that run a batch Ensemble's members in one job through an agent
            # (PBS, LSF, SGE) give the job back once told every member has joined.
            seal = getattr(self._control.launcher, "seal_batch_groups", None)
            if seal is not None:
                seal([e.name for e in selection.ensembles if e.batch_settings is not None])
        except BaseException:
            self._control.stop_jobs(started_jobs)
            for name in started_stores:
                self._control.stop_store(name)
            raise
        if block:
            # As SmartSim: every job of the experiment still running, not only these.
            names = [m.name for m in selection.all_models]
            self._wait(
                [*names, *(n for n in self._running_jobs() if n not in names)],
                kill_on_interrupt,
                progress=show_progress,
            )

    def _plan_start(
        self, selection: Selection
    ) -> tuple[dict[str, Orchestrator], list[Load], dict[str, JobSpec]]:
        """Check everything ``start`` needs and plan its colocated stores (by model name),
        object loads and validated job specs (store env added at launch); nothing starts."""
        self._check_not_running(selection)
        # Their applications have ended (just checked): finish their old stores' teardown
        # now instead of racing the teardown thread for the store names.
        self._stop_colocated([m.name for m in selection.colocated_models])
        specs: dict[str, JobSpec] = {}
        groups = {m.name: e for e in selection.ensembles for m in e.models if e.batch_settings}
        for model in selection.all_models:
            self._check_batch(model.batch_settings)
            spec = _model_spec(model, {})
            ensemble = groups.get(model.name)
            if ensemble is not None and ensemble.batch_settings is not None:
                # An Ensemble with batch settings is one batch job; its members are steps.
                batch = ensemble.batch_settings.to_batch_spec()
                spec = replace(spec, batch=batch, batch_group=ensemble.name)
            elif model.batch_settings is not None:
                spec = replace(spec, batch=model.batch_settings.to_batch_spec())
            specs[model.name] = spec
            self._control.launcher.validate(spec)
        colocated = plan_colocated(
            selection.colocated_models, selection.orchestrators, self._shared_stores(),
            launcher=self._launcher_name,
        )  # fmt: skip
        shared = {s.name: s for s in [*selection.orchestrators, *self._shared_stores()]}
        loads = plan_loads([m for m in selection.all_models if not m.colocated], [*shared.values()])
        return colocated, loads, specs

    def _launch_model(
        self, model: Model, spec: JobSpec, store: Orchestrator | None, started: list[str]
    ) -> None:
        """Submit ``model``; with a colocated ``store``, start that first (``started`` gets
        its name before it starts, so that a failed start is rolled back too)."""
        Path(model.path).mkdir(parents=True, exist_ok=True)
        if store is None:
            self._control.submit(_with_env(spec, self._model_env(model)), model.name)
            return
        started.append(store.name)
        spec = _with_env(spec, self._model_env(model, store.connection_env()))
        self._colocated[model.name] = store
        load = colocated_load(model, store)
        prepare = None
        if load is not None and runs_on_other_hosts(self._launcher_name):
            # A store on another host's loopback: loaded from its own node.
            prepare = lambda: load_beside(self._control, store, spec, load)  # noqa: E731
        elif load is not None:
            prepare = lambda: load_objects(load)  # noqa: E731
        self._control.start_colocated(store, spec, model.name, prepare=prepare)

    def stop(self, *args: Entity) -> None:
        """Stop ``args`` (stores: every shard); entities not running are left alone."""
        selection = select_entities(*args)
        names = [m.name for m in selection.all_models]
        self._control.stop_jobs(names)
        self._stop_colocated(names)
        for store in selection.orchestrators:
            if self._reconnected.owns(store):
                self._sampler.unwatch(store.name)
                self._reconnected.stop(store)
                continue
            self._control.stop_store(store.name)
            # As in SmartSim, a store is stopped by what it is, not by which object names
            # it: the Orchestrator another driver built stops the store reconnected here.
            same = self._reconnected.counterpart(store)
            if same is not None:
                self._reconnected.stop(same)

    def reconnect_orchestrator(self, checkpoint: str) -> Orchestrator:
        """The running store described by ``checkpoint`` (``Orchestrator.checkpoint_file`` of
        a store another driver started), to query, stop, and hand to the entities this
        experiment starts.

        The checkpoint is JSON without secrets; the store's password is read from the 0600
        file it names. A missing file raises ``CheckpointNotFoundError`` (a
        ``FileNotFoundError``); a corrupt one, a password file others may read, or a store
        that no longer answers raise ``CheckpointError`` (a ``SmartSimError``).
        """
        store = self._reconnected.reconnect(checkpoint)
        telemetry.watch_reconnected(self._sampler, store)
        return store

    def poll(
        self, interval: int = 10, verbose: bool = True, kill_on_interrupt: bool = True
    ) -> None:
        """Block until every running Model/Ensemble member has ended (stores keep running).

        With ``verbose``, logs each job's status every ``interval`` seconds.
        """
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise _checks.type_error(
                "interval (poll's first argument, in seconds; poll waits for every running "
                "job)", interval, "a number",
            )  # fmt: skip
        names = self._running_jobs()

        def report() -> None:
            for name in names:
                logger.info("%s: %s", name, self._control.status(name).value)

        self._wait(
            names, kill_on_interrupt, report if verbose else None, float(interval),
            progress=verbose and progress_enabled(None),
        )  # fmt: skip

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
        for arg in args:
            if not isinstance(arg, Model | Ensemble | Orchestrator):
                raise ParameterTypeError(
                    "get_status takes Models, Ensembles and Orchestrators, got "
                    f"{type(arg).__name__}"
                )
        if any(isinstance(a, Orchestrator) and self._reconnected.owns(a) for a in args):
            return self._status_with_reconnected(args)
        statuses: list[JobState] = []
        for name in self._job_names(select_entities(*args)):
            try:
                statuses.append(self._control.status(name))
            except EntityNotLaunchedError:
                statuses.append(JobState.NEVER_STARTED)
        return statuses

    def _status_with_reconnected(self, args: Sequence[Entity]) -> list[JobState]:
        statuses: list[JobState] = []
        for arg in args:
            if isinstance(arg, Orchestrator) and self._reconnected.owns(arg):
                statuses += self._reconnected.status(arg)
            else:
                statuses += self.get_status(arg)
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
        text = self._preview_text(select_entities(*args), verbosity)
        if output_filename is None:
            print(text, end="")
            return
        out = Path(output_filename)
        if out.exists():
            raise FileExistsError(f"preview output file {out} already exists")
        out.write_text(text, encoding="utf-8")

    def summary(self, style: str = "github") -> str:
        """A table of every run: Name, Entity-Type, JobID, RunID, Time, Status, Returncode.

        Inference workers are left out, as RedisAI ran inside the database in SmartSim;
        their runs are JobEvents with entity type ``Worker`` (see :meth:`subscribe`).
        insitu: a running store that lets clients without a password in over TCP
        (:meth:`Orchestrator.allow_passwordless_clients`) adds a warning line below.
        """
        self._control.monitor.refresh()
        records = [r for r in self._control.table if r.entity_type != EntityType.WORKER]
        notes = [
            open_access_note(s.name, s.get_address())
            for s in self._control.running_stores()
            if isinstance(s, Orchestrator) and s.access == PASSWORDLESS_TCP
        ]
        return SummaryText(render_summary(records, style, notes), summary_rows(records), HEADERS)

    def _repr_html_(self) -> str:
        """Jupyter: the experiment and its jobs as an HTML table."""
        table = self.summary()._repr_html_()  # type: ignore[attr-defined]
        return experiment_html(self.name, self.exp_path, self._launcher_name, str(table))

    def plot_timeline(self, workers: bool = False) -> Timeline:
        """The jobs of this Experiment as a Gantt chart, read from its launch record: shown
        inline in Jupyter, ``.save("timeline.svg")`` (or ``.html``) elsewhere. ``workers``
        adds the inference workers' rows."""
        return plot_timeline(self.exp_path, self._record.run_id, workers=workers)

    def subscribe(self, listener: Callable[[JobEvent], None]) -> Subscription:
        """Receive every JobEvent of this experiment's jobs (on the monitor thread)."""
        return self._control.subscribe(listener)

    def stop_all(self) -> None:
        """Stop every job and store this experiment started (also run at interpreter exit)
        and close the launch record; each stop is in the record before this returns."""
        try:
            self._control.shutdown()
        finally:
            self._sampler.close()
            self._record.close()

    # ----------------------------------------------------------------- helpers
    def _wait(
        self,
        names: Sequence[str],
        kill_on_interrupt: bool,
        on_tick: Callable[[], None] | None = None,
        tick: float = 1.0,
        *,
        progress: bool = False,
    ) -> None:
        shown = (
            Progress(self.name, lambda: [self._control.status(n) for n in names])
            if (progress and names)
            else None
        )

        def each_tick() -> None:
            if on_tick is not None:
                on_tick()
            if shown is not None:
                shown.tick()

        try:
            self._control.wait(names, on_tick=each_tick, tick=min(tick, 1.0) if shown else tick)
        except KeyboardInterrupt:
            if kill_on_interrupt:
                logger.warning("interrupted: stopping every job of experiment %s", self.name)
                self._control.shutdown()
            raise
        finally:
            if shown is not None:
                shown.close()
        self._stop_colocated(names)

    def _running_jobs(self) -> list[str]:
        """The Models and Ensemble members of this experiment still running (no stores)."""
        return [
            r.name
            for r in self._control.table.active()
            if r.entity_type not in (EntityType.DB_NODE, EntityType.WORKER)
        ]

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
        from insitu.wire.env import format_key_prefix_env

        key_out = model.name if model.query_key_prefixing() else None
        keys_in = [e.name for e in model.incoming_entities]
        prefixes = format_key_prefix_env(key_out, keys_in)
        stores = {**self._reconnected.env(), **self._control.store_env()}
        for store in self._shared_stores():  # acl="per_entity": its own user on each
            stores.update(store.entity_env(model.name, key_out))
        return {**stores, **(colocated or {}), **prefixes}

    def _shared_stores(self) -> list[Orchestrator]:
        own = [s for s in self._control.running_stores() if isinstance(s, Orchestrator)]
        return own + self._reconnected.stores()

    def _preview_text(self, selection: Selection, verbosity: Verbosity) -> str:
        stores = list(selection.orchestrators) or self._shared_stores()
        return render_preview(self.name, self.exp_path, self.launcher, selection, stores, verbosity)

    def _job_names(self, selection: Selection) -> list[str]:
        names: list[str] = []
        for entity in selection.entities:
            if isinstance(entity, Orchestrator):
                names += entity.shard_names
            else:
                names += [m.name for m in _members(entity)]
        return names

    def _check_not_running(self, selection: Selection) -> None:
        for name in self._job_names(selection):
            record = self._control.table.latest(name)
            if record is not None and not record.state.is_terminal:
                raise AlreadyRunningError(
                    f"{name} is already running (job {record.job_id}); "
                    "stop it before starting it again"
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
        entity_type=EntityType.MODEL,
    )


def _with_env(spec: JobSpec, env: Mapping[str, str]) -> JobSpec:
    """``spec`` (and its MPMD parts) with ``env`` laid over their variables, as
    ``RunSettings.to_job_spec(extra_env=env)`` would have done."""
    mpmd = tuple(_with_env(part, env) for part in spec.mpmd)
    return replace(spec, env={**spec.env, **env}, mpmd=mpmd)


def _experiment_path(name: str, exp_path: str | None) -> str:
    if exp_path is None:
        return osp.join(os.getcwd(), name)
    _checks.check_type("exp_path", exp_path, str)
    if not osp.isdir(osp.abspath(exp_path)):
        raise ExperimentPathError(f"experiment path {exp_path!r} does not exist as a directory")
    return osp.abspath(exp_path)
