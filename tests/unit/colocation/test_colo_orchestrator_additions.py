"""Orchestrator additions used by colocated stores: a name apart from db_identifier,
explicit CPU pinning, and the socket path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from insitu import Orchestrator
from insitu.errors import CPUPinningError, InvalidArgumentError, ParameterTypeError
from insitu.store.readiness import find_free_port_block


def test_name_differs_from_db_identifier(tmp_path: Path) -> None:
    store = Orchestrator(path=tmp_path, port=7000, db_identifier="", name="sim.db")
    assert store.name == "sim.db"
    assert store.shard_names == ["sim.db_0"]
    assert store.db_identifier == "orchestrator"  # "" means the default, as before
    assert set(store.connection_env()) == {"SSDB", "SR_DB_TYPE", "SSDB_PASSWORD"}
    named = Orchestrator(path=tmp_path, port=7000, db_identifier="colo", name="sim.db")
    assert "SSDB_colo" in named.connection_env()
    assert Orchestrator(path=tmp_path, port=7000, db_identifier="x").name == "x"
    with pytest.raises(InvalidArgumentError):
        Orchestrator(path=tmp_path, port=7000, name="")
    with pytest.raises(InvalidArgumentError):
        Orchestrator(path=tmp_path, port=7000, name="a b")


def test_explicit_cpu_pinning(tmp_path: Path) -> None:
    usable = sorted(os.sched_getaffinity(0))
    port = find_free_port_block()  # prepare() checks that the port is free
    store = Orchestrator(path=tmp_path, port=port, db_identifier="pin")
    store.set_cpus(1)
    store.set_cpu_pinning([usable[-1]])
    (spec,) = store.prepare()
    assert spec.resources.cpu_pinning == (usable[-1],)
    assert spec.resources.cpus_per_task == 1
    store.set_cpu_pinning([])
    (spec,) = store.prepare()
    assert spec.resources.cpu_pinning == ()  # pinning off, whatever set_cpus said
    with pytest.raises(CPUPinningError, match="not available") as info:
        store.set_cpu_pinning([usable[-1] + 4096])
    assert info.value.cpus == (usable[-1] + 4096,)
    with pytest.raises(ParameterTypeError):
        store.set_cpu_pinning("0")  # type: ignore[arg-type]


def test_unix_socket_property(tmp_path: Path) -> None:
    assert Orchestrator(path=tmp_path, port=7000).unix_socket is None
    sock = tmp_path / "s.sock"
    assert Orchestrator(path=tmp_path, unix_socket=str(sock)).unix_socket == str(sock)
