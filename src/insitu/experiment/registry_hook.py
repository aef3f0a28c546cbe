"""The Experiment's side of the driver's password registry: once a store it started is
ready, a ``Client`` made in this process finds the store's password by address alone (as
SmartRedis users connect); once the store stopped, it does not any more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from insitu.client import credentials
from insitu.runtime.controller import Store
from insitu.runtime.events import StoreEvent
from insitu.store.orchestrator import Orchestrator
from insitu.wire.addresses import Address
from insitu.wire.endpoint import STORE_USER


class PasswordRegistration:
    """A store-event listener that keeps :mod:`insitu.client.credentials` in step with the
    stores of one controller. ``find`` returns the running store of a name; it is asked on
    ``ready`` (the event itself carries no secret)."""

    def __init__(self, find: Callable[[str], Store | None]) -> None:
        self._find = find
        self._lock = threading.Lock()
        self._registered: dict[str, list[Address]] = {}

    def __call__(self, event: StoreEvent) -> None:
        if event.state == "ready":
            store = self._find(event.name)
            if isinstance(store, Orchestrator):
                self.ready(store)
        else:
            with self._lock:
                addresses = self._registered.pop(event.name, [])
            credentials.unregister(addresses)

    def ready(self, store: Orchestrator) -> None:
        """Register every address of ``store`` with its password."""
        addresses = store.client_addresses()
        with self._lock:
            self._registered[store.name] = addresses
        # acl="per_entity" turns the default user off: the driver is the store's own user.
        user = STORE_USER if store.acl else None
        credentials.register(addresses, store.password, store.tls_ca, username=user)

    def stopped(self, store: Orchestrator) -> None:
        """Forget the addresses of ``store``."""
        with self._lock:
            self._registered.pop(store.name, None)
        credentials.unregister(store.client_addresses())
