"""The controller's store lifecycle hook, on a real store: one ``ready``, then one ``stopped``."""

from __future__ import annotations

from pathlib import Path

from insitu import Orchestrator
from insitu.launchers.local import LocalLauncher
from insitu.runtime.controller import Controller
from insitu.runtime.events import StoreEvent
from insitu.store.readiness import find_free_port_block


def test_store_ready_and_stopped_are_published_once(tmp_path: Path) -> None:
    control = Controller(LocalLauncher(grace=1.0))
    seen: list[StoreEvent] = []
    subscription = control.subscribe_stores(seen.append)
    try:
        store = Orchestrator(path=tmp_path, port=find_free_port_block(1))
        control.start_store(store)
        # Published before start_store returned: a listener acts before anyone uses the store.
        assert [e.state for e in seen] == ["ready"]
        assert seen[0].addresses == tuple(store.get_address())
        assert (seen[0].name, seen[0].shards, seen[0].clustered) == ("orchestrator", 1, False)
        assert not seen[0].colocated
        assert "password" not in {f for f in vars(seen[0])}
        control.stop_store(store.name)
        control.stop_store(store.name)  # not running any more: nothing new
        assert [e.state for e in seen] == ["ready", "stopped"]
        assert seen[1].addresses == seen[0].addresses
        assert seen[1].time >= seen[0].time
        subscription.cancel()
        control.start_store(store)
        control.stop_store(store.name)
        assert len(seen) == 2
    finally:
        control.shutdown()
