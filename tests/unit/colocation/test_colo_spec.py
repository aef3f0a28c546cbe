"""ColocationSpec: SmartSim's colocate_db_* argument rules (pure)."""

from __future__ import annotations

import pytest

from insitu.entities.colocation import (
    DEFAULT_PORT,
    DEFAULT_UNIX_SOCKET,
    ColocationSpec,
    InferenceThreads,
    check_cpus,
    colocated_store_name,
    parse_custom_pinning,
    resolve_pinning,
    socket_variant,
    split_server_kwargs,
    tcp_spec,
    uds_spec,
)
from insitu.errors import (
    CPUPinningError,
    InvalidArgumentError,
    InvalidServerOptionError,
    ParameterTypeError,
    UnsupportedOptionError,
)

CPUS = (0, 1, 2, 3)


def tcp(port: object = DEFAULT_PORT, **kw: object) -> ColocationSpec:
    args: dict[str, object] = {
        "ifname": "lo",
        "db_cpus": 1,
        "custom_pinning": None,
        "debug": False,
        "db_identifier": "",
    }
    kwargs = {k: kw.pop(k) for k in list(kw) if k not in args}
    args.update(kw)
    return tcp_spec(port, kwargs=kwargs, available=CPUS, **args)  # type: ignore[arg-type]


def uds(
    path: object = DEFAULT_UNIX_SOCKET, permissions: object = 755, **kw: object
) -> ColocationSpec:
    return uds_spec(path, permissions, 1, None, False, "", kw, CPUS)


@pytest.mark.parametrize(
    ("pinning", "expected"),
    [
        (None, None),
        ([], ()),
        ([0, 2], (0, 2)),
        (range(4), (0, 1, 2, 3)),
        ([range(2), 3], (0, 1, 3)),
        ((3, 1, 1, [2, 10]), (1, 2, 3, 10)),
    ],
)
def test_custom_pinning_ints_and_ranges(pinning: object, expected: object) -> None:
    assert parse_custom_pinning(pinning) == expected


@pytest.mark.parametrize("bad", ["0,1", 3, 1.5, [1.5], [True], ["0"], [[0, "1"]], [None]])
def test_custom_pinning_of_the_wrong_type_is_a_type_error(bad: object) -> None:
    with pytest.raises(ParameterTypeError):
        parse_custom_pinning(bad)


def test_negative_cpu_is_a_value_error() -> None:
    with pytest.raises(CPUPinningError, match="nonnegative") as info:
        parse_custom_pinning([0, -1])
    assert isinstance(info.value, ValueError)
    assert info.value.cpus == (-1,)


def test_cpu_counts_against_what_this_process_may_use() -> None:
    check_cpus(4, None, CPUS)
    check_cpus(2, (), CPUS)  # pinning off: any count that exists
    check_cpus(2, (0, 1, 3), CPUS)  # more pinned CPUs than db_cpus is fine (SmartSim too)
    with pytest.raises(CPUPinningError, match=r"db_cpus=5 but this process may use only 4"):
        check_cpus(5, None, CPUS)
    with pytest.raises(CPUPinningError, match="CPUs 7,9 that this process may not use") as info:
        check_cpus(1, (0, 7, 9), CPUS)
    assert info.value.cpus == (7, 9)
    assert info.value.available == CPUS
    with pytest.raises(CPUPinningError, match=r"gives 1 CPU\(s\) \(2\) but db_cpus=2"):
        check_cpus(2, (2,), CPUS)


def test_resolve_pinning() -> None:
    assert resolve_pinning(tcp(db_cpus=2), (4, 5, 6)) == (4, 5)  # the first usable CPUs
    assert resolve_pinning(tcp(custom_pinning=[]), CPUS) == ()
    assert resolve_pinning(tcp(custom_pinning=[range(1, 3)], db_cpus=2), CPUS) == (1, 2)
    with pytest.raises(CPUPinningError):
        resolve_pinning(tcp(custom_pinning=[3]), (0, 1))


def test_db_cpus_must_be_a_positive_int() -> None:
    with pytest.raises(InvalidArgumentError, match="db_cpus must be at least 1"):
        tcp(db_cpus=0)
    with pytest.raises(ParameterTypeError):
        tcp(db_cpus="2")


def test_tcp_spec_defaults_and_interfaces() -> None:
    spec = tcp()
    assert (spec.transport, spec.port, spec.interfaces, spec.unix_socket) == (
        "tcp",
        6379,
        ("lo",),
        None,
    )
    assert spec.movable  # the default port may move to a free one
    assert not tcp(6379).movable  # an explicit 6379 does not
    assert tcp(7000, ifname=["eth0", "lo", "eth0"]).interfaces == ("lo", "eth0")
    assert spec.endpoint == "port 6379"
    with pytest.raises(InvalidArgumentError):
        tcp(70000)
    with pytest.raises(ParameterTypeError):
        tcp("6379")
    with pytest.raises(ParameterTypeError):
        tcp(ifname=7)


def test_uds_spec_paths() -> None:
    spec = uds()
    assert (spec.transport, spec.port, spec.unix_socket) == ("uds", 0, "/tmp/redis.socket")
    assert spec.movable and not uds("/tmp/redis.socket").movable
    assert spec.endpoint == "unix socket /tmp/redis.socket"
    with pytest.raises(InvalidArgumentError, match="Invalid name for unix socket"):
        uds("/tmp/has space.sock")
    with pytest.raises(InvalidArgumentError, match="longer than"):
        uds("/tmp/" + "x" * 200)
    with pytest.raises(InvalidArgumentError, match="octal"):
        uds(permissions=789)
    with pytest.raises(UnsupportedOptionError, match="ifname"):
        uds(ifname="lo")
    with pytest.raises(ParameterTypeError):
        uds(42)


def test_extra_kwargs_become_server_options() -> None:
    options, threads = split_server_kwargs(
        {"maxclients": 100000, "maxmemory_policy": "allkeys-lru", "threads_per_queue": 2},
        debug=False,
    )
    assert options == (("maxclients", "100000"), ("maxmemory-policy", "allkeys-lru"))
    assert threads == InferenceThreads(threads_per_queue=2)


def test_inference_thread_kwargs_in_both_spellings() -> None:
    _, threads = split_server_kwargs(
        {"inter_op_parallelism": 2, "intra_op_threads": 3}, debug=False
    )
    assert threads == InferenceThreads(None, 2, 3)
    with pytest.raises(InvalidArgumentError, match="repeats"):
        split_server_kwargs({"inter_op_threads": 1, "inter_op_parallelism": 2}, debug=False)
    with pytest.raises(InvalidArgumentError):
        split_server_kwargs({"threads_per_queue": 0}, debug=False)


def test_refused_kwargs() -> None:
    with pytest.raises(UnsupportedOptionError, match="limit_app_cpus"):
        split_server_kwargs({"limit_app_cpus": True}, debug=False)
    with pytest.raises(InvalidServerOptionError, match="managed by insitu"):
        split_server_kwargs({"requirepass": "x"}, debug=False)
    with pytest.raises(UnsupportedOptionError, match="run_args"):
        split_server_kwargs({"run_args": {"n": 1}}, debug=False)


def test_debug_means_verbose_server_log() -> None:
    assert split_server_kwargs({}, debug=True)[0] == (("loglevel", "verbose"),)
    assert split_server_kwargs({"loglevel": "verbose"}, debug=True)[0] == (("loglevel", "verbose"),)
    assert split_server_kwargs({}, debug=False)[0] == ()
    with pytest.raises(InvalidArgumentError, match="either debug=True or loglevel"):
        split_server_kwargs({"loglevel": "warning"}, debug=True)


def test_member_variants() -> None:
    assert tcp(7000).for_member(2, "ens_2").port == 7002
    assert tcp().for_member(1, "ens_1").movable
    with pytest.raises(InvalidArgumentError, match="above 65535"):
        tcp(65535).for_member(1, "ens_1")
    assert uds().for_member(0, "ens_0").unix_socket == "/tmp/redis-ens_0.socket"
    assert uds("/tmp/db").for_member(3, "m").unix_socket == "/tmp/db-m"
    assert socket_variant("/tmp/a.sock", "2") == "/tmp/a-2.sock"
    with pytest.raises(InvalidArgumentError, match="Invalid name"):
        uds().for_member(0, "bad name")


def test_store_names_are_valid_shard_names() -> None:
    assert colocated_store_name("colo_model") == "colo_model.db"
    assert colocated_store_name("a b/c") == "a_b_c.db"
    assert colocated_store_name(".hidden") == "_hidden.db"
    assert colocated_store_name("-x") == "_x.db"


def test_spec_is_frozen() -> None:
    spec = tcp()
    with pytest.raises(AttributeError):
        spec.port = 1  # type: ignore[misc]
