"""The Experiment's side of the driver's password registry: once a store it started is
ready, a ``Client`` made in this process finds the store's password by address alone (as
SmartRedis users connect); once the store stopped, it does not any more.
"""

from __future__ import annotations

from insitu.client import credentials
from insitu.runtime.controller import Store
from insitu.store.orchestrator import Orchestrator


class PasswordRegistration:
    """A :class:`~insitu.runtime.controller.StoreHook` that keeps
    :mod:`insitu.client.credentials` in step with the stores of one controller."""

    def ready(self, store: Store) -> None:
        """Register every address of ``store`` with its password."""
        if isinstance(store, Orchestrator):
            credentials.register(store.client_addresses(), store.password)

    def stopped(self, store: Store) -> None:
        """Forget the addresses of ``store``."""
        if isinstance(store, Orchestrator):
            credentials.unregister(store.client_addresses())
