"""How SmartRedis gets in without a password, and how that shows: the stores that let
password-free clients in over TCP are named in ``Experiment.summary()``; the owner-only
socket store is not (there the socket's permissions authenticate)."""

from __future__ import annotations

from tests.integration.smartredis.conftest import SrStore


def test_summary_warns_about_stores_open_over_tcp(sr_stores: dict[str, SrStore]) -> None:
    summary = sr_stores["tcp"].experiment.summary()
    warnings = [line for line in summary.splitlines() if line.startswith("WARNING: store")]
    assert len(warnings) == 2
    for kind in ("tcp", "cluster"):
        store = sr_stores[kind]
        (line,) = [w for w in warnings if f"store {store.orchestrator.name} " in w]
        assert all(address in line for address in store.addresses)
    assert sr_stores["uds"].orchestrator.name not in "\n".join(warnings)
    assert sr_stores["uds"].orchestrator.access == "owner-socket"
    assert sr_stores["tcp"].orchestrator.password not in summary
