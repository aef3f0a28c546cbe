"""Model/Ensemble colocation API: SmartSim 0.8 names, defaults and errors."""

from __future__ import annotations

import inspect
import os
import warnings

import pytest

from insitu import Ensemble, Model, RunSettings
from insitu.entities.colocation import ColocateDbDeprecationWarning
from insitu.errors import (
    AlreadyColocatedError,
    ColocationError,
    CPUPinningError,
    InvalidArgumentError,
    ParameterTypeError,
    UnsupportedOptionError,
)


def model(name: str = "sim") -> Model:
    return Model(name, {}, RunSettings("echo"))


def test_signatures_mirror_smartsim() -> None:
    tcp = inspect.signature(Model.colocate_db_tcp).parameters
    assert [(n, p.default) for n, p in tcp.items()][1:7] == [
        ("port", 6379),
        ("ifname", "lo"),
        ("db_cpus", 1),
        ("custom_pinning", None),
        ("debug", False),
        ("db_identifier", ""),
    ]
    uds = inspect.signature(Model.colocate_db_uds).parameters
    assert [(n, p.default) for n, p in uds.items()][1:7] == [
        ("unix_socket", "/tmp/redis.socket"),
        ("socket_permissions", 755),
        ("db_cpus", 1),
        ("custom_pinning", None),
        ("debug", False),
        ("db_identifier", ""),
    ]


def test_colocated_after_colocation() -> None:
    m = model()
    assert not m.colocated and m.colocation is None
    m.colocate_db_tcp(port=7000, db_cpus=1, maxclients=10, db_identifier="colo")
    assert m.colocated
    assert m.colocation is not None
    assert (m.colocation.port, m.colocation.db_identifier) == (7000, "colo")
    assert m.colocation.server_options == (("maxclients", "10"),)


def test_colocating_twice_is_an_error_naming_the_model() -> None:
    m = model("twice")
    m.colocate_db_uds()
    with pytest.raises(AlreadyColocatedError, match="'twice'") as info:
        m.colocate_db_tcp()
    assert isinstance(info.value, ColocationError)
    assert info.value.model == "twice"
    assert m.colocation is not None and m.colocation.transport == "uds"


def test_deprecated_alias_warns_and_colocates_over_tcp() -> None:
    m = model()
    with pytest.warns(DeprecationWarning, match="colocate_db_tcp"):
        m.colocate_db(port=7001, db_cpus=1)
    assert m.colocation is not None and m.colocation.port == 7001
    assert issubclass(ColocateDbDeprecationWarning, FutureWarning)  # SmartSim's category
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FutureWarning):
            model("other").colocate_db()


def test_bad_cpu_requests() -> None:
    with pytest.raises(InvalidArgumentError, match="db_cpus"):
        model().colocate_db_tcp(db_cpus=0)
    usable = len(os.sched_getaffinity(0))
    with pytest.raises(CPUPinningError, match=f"db_cpus={usable + 1}"):
        model().colocate_db_tcp(db_cpus=usable + 1)
    with pytest.raises(CPUPinningError, match="may not use"):
        model().colocate_db_uds(custom_pinning=[4096])
    with pytest.raises(ParameterTypeError):
        model().colocate_db_uds(custom_pinning="0-1")  # type: ignore[arg-type]
    m = model()
    with pytest.raises(ParameterTypeError):
        m.colocate_db_tcp(debug="yes")  # type: ignore[arg-type]
    assert not m.colocated  # a failed call leaves the model as it was


def test_mpmd_models_cannot_be_colocated() -> None:
    m = model()
    m.run_settings.mpmd.append(RunSettings("echo"))
    with pytest.raises(UnsupportedOptionError, match="MPMD"):
        m.colocate_db_tcp()


def test_ensemble_colocates_every_member_with_its_own_endpoint() -> None:
    ens = Ensemble("ens", None, run_settings=RunSettings("echo"), replicas=3)
    ens.colocate_db_tcp(port=7100, db_cpus=1)
    specs = [m.colocation for m in ens.models]
    assert [s.port for s in specs if s is not None] == [7100, 7101, 7102]
    uds_ens = Ensemble("u", None, run_settings=RunSettings("echo"), replicas=2)
    uds_ens.colocate_db_uds(unix_socket="/tmp/insitu-test.sock")
    paths = [m.colocation.unix_socket for m in uds_ens.models if m.colocation is not None]
    assert paths == ["/tmp/insitu-test-u_0.sock", "/tmp/insitu-test-u_1.sock"]


def test_ensemble_colocation_changes_no_member_when_one_is_already_colocated() -> None:
    ens = Ensemble("ens", None, run_settings=RunSettings("echo"), replicas=2)
    ens.models[1].colocate_db_tcp(port=7200)
    with pytest.raises(AlreadyColocatedError, match="ens_1"):
        ens.colocate_db_tcp(port=7300)
    assert not ens.models[0].colocated
    empty = Ensemble(
        "empty", None, batch_settings=None, run_settings=RunSettings("echo"), replicas=1
    )
    empty.entities.clear()
    with pytest.raises(InvalidArgumentError, match="no members"):
        empty.colocate_db_tcp()


def test_colocated_models_may_join_an_ensemble() -> None:
    ens = Ensemble("ens", None, run_settings=RunSettings("echo"), replicas=1)
    extra = model("extra")
    extra.colocate_db_tcp(port=7400)
    ens.add_model(extra)  # SmartSim allows it; endpoints are checked when started
    assert ens["extra"] is extra and extra.colocated
