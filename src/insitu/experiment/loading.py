"""Loading the models, scripts and functions attached to entities into their stores before
the entities start: the I/O shell of :mod:`insitu.entities.ml_api` (which states the rules).

:func:`plan_loads` is pure: which objects go to which store, deduplicated (an object added
to an Ensemble is shared by its members and stored once per store). :func:`load_objects`
stores them through the SmartRedis-named Client methods, choosing the ``*_multigpu``
variant when an object spans several GPUs (:func:`set_object`).

The Client has a serving worker load what it stores and reports bytes it cannot load; a
worker that is not up yet cannot, so :func:`load_objects` first waits (against
:data:`WORKER_READY_TIMEOUT`) for the workers of the store. Only starts that load objects
wait; a store with ``inference_workers=0`` is loaded unchecked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from insitu.client import Client
from insitu.entities.db_objects import DBModel, DBObject, DBScript
from insitu.entities.model import Model
from insitu.errors import DBObjectLoadError, InsituError, MissingDependencyError
from insitu.inference.launch import worker_is_ready
from insitu.log import get_logger
from insitu.store.orchestrator import Orchestrator

logger = get_logger("insitu.experiment")

WORKER_READY_TIMEOUT = 60.0
"""Seconds a store's inference workers may take to serve requests before objects are
loaded into it (they import their runtime first)."""


@dataclass(frozen=True)
class Load:
    """Store ``objects`` (first attached to the Models ``owners``) into ``store``."""

    store: Orchestrator
    objects: tuple[DBObject, ...]
    owners: tuple[str, ...]


def plan_loads(models: Sequence[Model], stores: Sequence[Orchestrator]) -> list[Load]:
    """The loads into the shared ``stores`` for the non-colocated ``models`` (pure).

    Raises :class:`DBObjectLoadError` when a Model has objects and there is no store.
    """
    objects: dict[DBObject, str] = {}
    for model in models:
        for obj in model._objects():
            objects.setdefault(obj, model.name)
    if objects and not stores:
        obj, owner = next(iter(objects.items()))
        raise DBObjectLoadError(
            owner, obj.name, "",
            "no orchestrator is running or starting to load it into; start one first, or "
            "colocate a store with the model",
        )  # fmt: skip
    if not objects:
        return []
    owners = tuple(objects.values())
    return [Load(store, tuple(objects), owners) for store in stores]


def set_object(client: Client, obj: DBObject) -> None:
    """Store ``obj`` with the Client call its kind and placement call for."""
    if isinstance(obj, DBModel):
        _set_model(client, obj)
    else:
        _set_script(client, obj)


def _set_model(client: Client, obj: DBModel) -> None:
    where = obj.placement
    batching = (obj.batch_size, obj.min_batch_size, obj.min_batch_timeout)
    rest = (*batching, obj.tag, list(obj.inputs) or None, list(obj.outputs) or None)
    file = str(obj.file) if obj.file is not None else ""
    if where.multigpu and obj.model is not None:
        client.set_model_multigpu(
            obj.name, obj.model, obj.backend, where.first_gpu, where.num_gpus, *rest
        )
    elif where.multigpu:
        client.set_model_from_file_multigpu(
            obj.name, file, obj.backend, where.first_gpu, where.num_gpus, *rest
        )
    elif obj.model is not None:
        client.set_model(obj.name, obj.model, obj.backend, where.device, *rest)
    else:
        client.set_model_from_file(obj.name, file, obj.backend, where.device, *rest)


def _set_script(client: Client, obj: DBScript) -> None:
    where = obj.placement
    multi = (where.first_gpu, where.num_gpus)
    if obj.file is not None:
        if where.multigpu:
            client.set_script_from_file_multigpu(obj.name, str(obj.file), *multi)
        else:
            client.set_script_from_file(obj.name, str(obj.file), where.device)
    elif obj.script is not None:
        if where.multigpu:
            client.set_script_multigpu(obj.name, obj.script, *multi)
        else:
            client.set_script(obj.name, obj.script, where.device)
    elif where.multigpu:
        client.set_function_multigpu(obj.name, obj.function, *multi)
    else:
        client.set_function(obj.name, obj.function, where.device)


def load_objects(load: Load) -> None:
    """Store every object of ``load`` into its (running) store.

    Raises :class:`DBObjectLoadError` chained to the Client's error, or the Client's
    :class:`MissingDependencyError` when a backend is not installed.
    """
    store = load.store
    wait_for_workers(store, load, time.monotonic() + WORKER_READY_TIMEOUT)
    address = store.get_address()[0]
    with Client(
        store.is_clustered, address, password=store.password, tls_ca=store.tls_ca
    ) as client:
        for obj, owner in zip(load.objects, load.owners, strict=True):
            try:
                set_object(client, obj)
            except MissingDependencyError:
                logger.error("%s of %s needs a backend that is not installed", obj.name, owner)
                raise
            except (InsituError, OSError, RuntimeError, ValueError, TypeError) as err:
                raise DBObjectLoadError(owner, obj.name, store.name, str(err)) from err
            logger.debug("loaded %s of %s into %s", obj.name, owner, store.name)


def wait_for_workers(store: Orchestrator, load: Load, deadline: float) -> None:
    """Wait until a worker serves every shard of ``store`` (none if it has no workers);
    :class:`DBObjectLoadError` naming the first object once ``deadline`` passed."""
    if store.worker_layout.per_shard == 0:
        return
    shards = zip(store.get_address(), store.shard_names, strict=True)
    # The masters only: a replica's worker waits, serving nothing until a failover.
    for index, (address, shard) in enumerate(list(shards)[: store.num_shards]):
        while not worker_is_ready(address, store.password, index, store.tls_ca):
            if time.monotonic() > deadline:
                raise DBObjectLoadError(
                    load.owners[0], load.objects[0].name, store.name,
                    f"the inference worker of shard {index} did not start within "
                    f"{WORKER_READY_TIMEOUT:.0f} s; see its log {shard}/{shard}.worker*.err "
                    f"in {store.path}",
                )  # fmt: skip
            time.sleep(0.01)  # polling a store key: there is nothing to wait on


def colocated_load(model: Model, store: Orchestrator) -> Load | None:
    """The load of a colocated ``model``'s own objects into its store (None: nothing)."""
    objects = model._objects()
    if not objects:
        return None
    return Load(store, objects, (model.name,) * len(objects))
