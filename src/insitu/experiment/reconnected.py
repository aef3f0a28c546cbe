"""Stores an Experiment reconnected to from a checkpoint (started by another driver).

They are not jobs of this experiment's launcher: their status is read by pinging the
shards, stopping them is ``SHUTDOWN NOSAVE`` on every shard, and their connection
environment is handed to the entities this experiment starts, as for its own stores.
"""

from __future__ import annotations

import os
from pathlib import Path

from insitu.client import credentials
from insitu.jobs.status import JobState
from insitu.store.acl import check_acl_mode
from insitu.store.orchestrator import Orchestrator
from insitu.store.reconnect import (
    plan_of,
    read_checkpoint,
    remove_secret_files,
    shutdown_shards,
)
from insitu.wire.endpoint import STORE_USER


class ReconnectedStores:
    """The reconnected stores of one Experiment, by name."""

    def __init__(self) -> None:
        self._stores: dict[str, Orchestrator] = {}
        self._stopped: dict[str, Orchestrator] = {}

    def reconnect(self, checkpoint: str | os.PathLike[str]) -> Orchestrator:
        """The running store described by ``checkpoint`` (see
        :func:`insitu.store.reconnect.read_checkpoint` for the errors)."""
        found, password = read_checkpoint(checkpoint)
        store = Orchestrator.from_plan(plan_of(found))
        store._password = password  # the store's own secret, read from its 0600 file
        store._acl = check_acl_mode(found.acl or None)
        store._active = True
        self._stores[store.name] = store
        # acl="per_entity": the default user is off, the driver is the store's own user.
        user = STORE_USER if store.acl else None
        credentials.register(store.client_addresses(), password, store.tls_ca, username=user)
        return store

    def owns(self, store: Orchestrator) -> bool:
        """Whether ``store`` is one of these (running or stopped here)."""
        return store in (self._stores.get(store.name), self._stopped.get(store.name))

    def counterpart(self, store: Orchestrator) -> Orchestrator | None:
        """The store reconnected here that is the same store as ``store`` seen through
        another object (same name and shard addresses), e.g. the Orchestrator the driver
        that started it holds; ``None`` if there is none."""
        mine = self._stores.get(store.name)
        if mine is None or mine is store:
            return mine
        return mine if list(mine.shard_addresses) == list(store.shard_addresses) else None

    def stop(self, store: Orchestrator) -> None:
        """Shut every shard of ``store`` down and forget it."""
        shutdown_shards(tuple(store.shard_addresses), store.password, store.tls_ca)
        store.mark_stopped()
        remove_secret_files(Path(store.path).resolve(), store.name, store.shard_names)
        credentials.unregister(store.client_addresses())
        self._stores.pop(store.name, None)
        self._stopped[store.name] = store

    def status(self, store: Orchestrator) -> list[JobState]:
        """One state per shard: running while it answers, else cancelled (stopped here) or
        completed."""
        if store.name not in self._stores:
            return [JobState.STATUS_CANCELLED] * store.num_shards
        state = JobState.STATUS_RUNNING if store.is_active() else JobState.STATUS_COMPLETED
        return [state] * store.num_shards

    def env(self) -> dict[str, str]:
        """The connection environment of every reconnected store still running."""
        out: dict[str, str] = {}
        for store in self._stores.values():
            out.update(store.connection_env())
        return out

    def stores(self) -> list[Orchestrator]:
        """The reconnected stores."""
        return list(self._stores.values())
