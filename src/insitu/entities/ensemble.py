"""Ensemble: a group of Models made by parameter expansion, replicas, or by hand.

SmartSim 0.8 semantics: members are named ``<ensemble>_<i>``, live in
``<ensemble path>/<member name>``, get a deep copy of the run settings, have key prefixing
enabled, and take their ``params_as_args`` as executable arguments.

Difference from SmartSim: with both ``params`` and ``replicas``, each parameter set is
repeated ``replicas`` times (the documented intent of ``create_ensemble(params=...,
replicas=2)``); SmartSim 0.8 ignored ``replicas`` there. ``replicas`` or strategy arguments
that cannot take effect raise instead of being ignored.

Addition: :meth:`Ensemble.colocate_db_tcp` / :meth:`Ensemble.colocate_db_uds` colocate a
store with every current member in one call (SmartSim users loop over the members).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from copy import deepcopy

from tabulate import tabulate

from insitu import _checks as tc
from insitu.entities.attached_files import EntityFiles
from insitu.entities.colocation import (
    DEFAULT_PORT,
    DEFAULT_UNIX_SOCKET,
    ColocationSpec,
    tcp_spec,
    uds_spec,
)
from insitu.entities.db_objects import DBObject, check_unique
from insitu.entities.ml_api import MLObjectsAPI
from insitu.entities.model import (
    CPUPinning,
    Model,
    Named,
    check_entity_name,
    check_params_as_args,
    entity_path,
)
from insitu.entities.param_space import (
    CustomStrategy,
    ParamSet,
    check_strategy,
    expand,
    read_params,
)
from insitu.errors import EntityExistsError, InvalidArgumentError
from insitu.hosts import available_cpus
from insitu.log import get_logger
from insitu.settings.batch_settings import BatchSettings
from insitu.settings.run_settings import RunSettings

logger = get_logger("insitu.entities")


class Ensemble(MLObjectsAPI):
    """A named group of :class:`Model` members treated as one entity.

    ``kwargs``: ``replicas`` (copies of each member, ≥ 1), ``n_models`` (for
    ``perm_strat="random"``) and, for a callable ``perm_strat``, any argument it takes.
    Without ``params`` or ``replicas`` the ensemble starts empty and needs
    ``batch_settings``; members are then added with :meth:`add_model`.
    """

    def __init__(
        self,
        name: str,
        params: Mapping[str, object] | None,
        path: str | os.PathLike[str] | None = None,
        params_as_args: Sequence[str] | None = None,
        batch_settings: BatchSettings | None = None,
        run_settings: RunSettings | None = None,
        perm_strat: str | CustomStrategy = "all_perm",
        **kwargs: object,
    ) -> None:
        self.name = check_entity_name(name)
        self.path = entity_path(path, self.name)
        check_strategy(perm_strat)  # before the params, as SmartSim
        self.params: dict[str, object] = {} if params is None else dict(params)
        read_params(self.params)  # type errors surface now, not at expansion
        self.params_as_args = check_params_as_args(params_as_args, self.params, self.name)
        if batch_settings is not None:
            tc.check_type("batch_settings", batch_settings, BatchSettings)
        if run_settings is not None:
            tc.check_type("run_settings", run_settings, RunSettings)
        self.batch_settings = batch_settings
        self.run_settings = run_settings
        self.perm_strat = perm_strat
        replicas = kwargs.pop("replicas", None)
        self.replicas = None if replicas is None else tc.check_int("replicas", replicas)
        self.entities: list[Model] = []
        self._db_objects: list[DBObject] = []
        self._initialize_entities(kwargs)

    def _initialize_entities(self, strategy_kwargs: dict[str, object]) -> None:
        if not self.params and self.replicas is None:
            self._check_empty(strategy_kwargs)
            return
        if self.run_settings is None:
            raise InvalidArgumentError(
                f"Ensemble {self.name}: params and replicas expand into members only "
                "when run_settings are given"
            )
        if self.params:
            sets = expand(self.params, self.perm_strat, **strategy_kwargs)
        elif strategy_kwargs:
            raise InvalidArgumentError(
                f"Ensemble {self.name}: {sorted(strategy_kwargs)} apply only to params expansion"
            )
        else:
            sets = [{}]
        for index, param_set in enumerate(self._replicated(sets)):
            self.add_model(self._member(index, param_set, self.run_settings))

    def _check_empty(self, strategy_kwargs: dict[str, object]) -> None:
        """An ensemble without params or replicas is an empty one for a batch launch."""
        if self.run_settings is not None:
            raise InvalidArgumentError(
                "Ensembles without 'params' or 'replicas' argument to expand into members "
                "cannot be given run settings"
            )
        if self.batch_settings is None:
            raise InvalidArgumentError("Ensemble must be provided batch settings or run settings")
        if strategy_kwargs:
            raise InvalidArgumentError(
                f"Ensemble {self.name}: {sorted(strategy_kwargs)} apply only to params expansion"
            )
        logger.debug("empty ensemble %s created for a batch launch", self.name)

    def _replicated(self, sets: list[ParamSet]) -> Iterator[ParamSet]:
        for param_set in sets:
            for _ in range(self.replicas or 1):
                yield param_set

    def _member(self, index: int, params: ParamSet, run_settings: RunSettings) -> Model:
        name = f"{self.name}_{index}"
        member = Model(
            name,
            params,
            deepcopy(run_settings),
            path=os.path.join(self.path, name),
            params_as_args=self.params_as_args,
        )
        member.enable_key_prefixing()
        logger.debug("created ensemble member %s in %s", name, self.name)
        return member

    @property
    def type(self) -> str:
        """The entity type shown in summaries."""
        return "Ensemble"

    @property
    def models(self) -> list[Model]:
        """The members (a new list; use :meth:`add_model` to add one)."""
        return list(self.entities)

    @property
    def batch(self) -> bool:
        """Whether the ensemble is launched as one batch job."""
        return self.batch_settings is not None

    def add_model(self, model: Model) -> None:
        """Add a member; a member of the same name raises ``EntityExistsError``. The
        ensemble's models and scripts are attached to it too (a member that already has
        one of the same name raises ``UnsupportedOptionError``, as in SmartSim)."""
        tc.check_type("model", model, Model)
        if model in self.entities:
            raise EntityExistsError(f"Model {model.name} already exists in ensemble {self.name}")
        for obj in self._db_objects:
            check_unique(model._objects(), obj, f"model {model.name}")
        for obj in self._db_objects:
            model._attach(obj)
        self.entities.append(model)

    def _attach(self, obj: DBObject) -> None:
        """Attach ``obj`` to the ensemble and to every current member (all checked first)."""
        check_unique(self._db_objects, obj, f"ensemble {self.name}")
        for model in self.entities:
            check_unique(model._objects(), obj, f"model {model.name}")
        self._db_objects.append(obj)
        for model in self.entities:
            model._attach(obj)

    def _objects(self) -> tuple[DBObject, ...]:
        return tuple(self._db_objects)

    def set_path(self, path: str | os.PathLike[str]) -> None:
        """Move the ensemble's directory; members move to ``<path>/<member name>``."""
        self.path = entity_path(path, self.name)
        for model in self.entities:
            model.set_path(os.path.join(self.path, model.name))

    def register_incoming_entity(self, incoming_entity: Named) -> None:
        """Register ``incoming_entity`` with every member."""
        for model in self.entities:
            model.register_incoming_entity(incoming_entity)

    def enable_key_prefixing(self) -> None:
        """Prefix every member's keys with its name."""
        for model in self.entities:
            model.enable_key_prefixing()

    def query_key_prefixing(self) -> bool:
        """True when every member prefixes its keys (also for an empty ensemble)."""
        return all(model.query_key_prefixing() for model in self.entities)

    def attach_generator_files(
        self,
        to_copy: str | list[str] | None = None,
        to_symlink: str | list[str] | None = None,
        to_configure: str | list[str] | None = None,
    ) -> None:
        """Attach the same files to every current member (see Model.attach_generator_files)."""
        files = EntityFiles.attach(to_copy, to_symlink, to_configure)
        for model in self.entities:
            model.files = files

    def colocate_db_tcp(
        self,
        port: int = DEFAULT_PORT,
        ifname: str | list[str] = "lo",
        db_cpus: int = 1,
        custom_pinning: CPUPinning | None = None,
        debug: bool = False,
        db_identifier: str = "",
        **kwargs: object,
    ) -> None:
        """Colocate a TCP store with every current member (see Model.colocate_db_tcp);
        member ``i`` gets ``port + i``, so the stores of one host do not collide.

        Validated for every member before any is changed: an empty ensemble raises
        ``InvalidArgumentError``, a member already colocated ``AlreadyColocatedError``.
        """
        spec = tcp_spec(
            port, ifname, db_cpus, custom_pinning, debug, db_identifier, kwargs, available_cpus()
        )
        self._colocate_members(spec)

    def colocate_db_uds(
        self,
        unix_socket: str = DEFAULT_UNIX_SOCKET,
        socket_permissions: int = 755,
        db_cpus: int = 1,
        custom_pinning: CPUPinning | None = None,
        debug: bool = False,
        db_identifier: str = "",
        **kwargs: object,
    ) -> None:
        """Colocate a Unix-socket store with every current member (see
        Model.colocate_db_uds); each member's socket is ``unix_socket`` with ``-<member
        name>`` added to its file name (``/tmp/redis.socket`` → ``/tmp/redis-ens_0.socket``).
        """
        spec = uds_spec(
            unix_socket,
            socket_permissions,
            db_cpus,
            custom_pinning,
            debug,
            db_identifier,
            kwargs,
            available_cpus(),
        )
        self._colocate_members(spec)

    def _colocate_members(self, spec: ColocationSpec) -> None:
        if not self.entities:
            raise InvalidArgumentError(f"ensemble {self.name} has no members to colocate")
        specs = [spec.for_member(i, model.name) for i, model in enumerate(self.entities)]
        for model in self.entities:
            model._check_colocatable()
        for model, member_spec in zip(self.entities, specs, strict=True):
            model._set_colocation(member_spec)

    @property
    def attached_files_table(self) -> str:
        """The files attached to each member as a plain-text table."""
        if not self.entities:
            return "The ensemble is empty, no files to show."
        rows = [[model.name, model.attached_files_table] for model in self.entities]
        return tabulate(rows, headers=["Model name", "Files"], tablefmt="grid")

    def print_attached_files(self) -> None:
        """Print :attr:`attached_files_table` to standard output."""
        print(self.attached_files_table)

    def __getitem__(self, name: str) -> Model | None:
        return next((model for model in self.entities if model.name == name), None)

    def __iter__(self) -> Iterator[Model]:
        return iter(list(self.entities))

    def __len__(self) -> int:
        return len(self.entities)

    def __repr__(self) -> str:
        return self.name
