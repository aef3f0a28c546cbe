"""Placing the colocated stores of one start: ports, sockets, environment names (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from insitu.entities.colocation import DEFAULT_PORT, DEFAULT_UNIX_SOCKET, tcp_spec, uds_spec
from insitu.errors import DBIDConflictError, PortInUseError, SocketInUseError
from insitu.experiment.colocated import Reserved, assign_endpoints, check_identifiers

NONE = Reserved({}, {})


def tcp(port: int = DEFAULT_PORT, db_identifier: str = ""):  # type: ignore[no-untyped-def]
    return tcp_spec(port, "lo", 1, None, False, db_identifier, {}, (0,))


def uds(path: str = DEFAULT_UNIX_SOCKET):  # type: ignore[no-untyped-def]
    return uds_spec(path, 755, 1, None, False, "", {}, (0,))


def all_free(*_: object) -> bool:
    return True


def test_explicit_ports_are_kept() -> None:
    specs = assign_endpoints([("a", tcp(7000)), ("b", tcp(7001))], NONE, all_free, all_free)
    assert [s.port for s in specs] == [7000, 7001]


def test_two_stores_on_one_explicit_port_name_both_owners() -> None:
    with pytest.raises(PortInUseError, match="both model 'a' and model 'b'") as info:
        assign_endpoints(
            [("model 'a'", tcp(7000)), ("model 'b'", tcp(7000))], NONE, all_free, all_free
        )
    assert info.value.port == 7000


def test_explicit_port_taken_on_the_host() -> None:
    with pytest.raises(PortInUseError, match=r"port 7000 .* model 'a' asked for it"):
        assign_endpoints([("model 'a'", tcp(7000))], NONE, lambda p, s: p != 7000, all_free)


def test_explicit_port_of_a_planned_orchestrator() -> None:
    reserved = Reserved({7000: "orchestrator 'std'"}, {})
    with pytest.raises(PortInUseError, match="orchestrator 'std' and model 'a'"):
        assign_endpoints([("model 'a'", tcp(7000))], reserved, all_free, all_free)


def test_default_port_moves_to_the_next_free_one() -> None:
    reserved = Reserved({6379: "orchestrator 'single'"}, {})
    specs = assign_endpoints(
        [("a", tcp()), ("b", tcp()), ("c", tcp(6381))],
        reserved,
        lambda p, s: p != 6380,  # 6380 taken by some other program
        all_free,
    )
    # explicit 6381 is placed first, so the defaults skip it
    assert [s.port for s in specs] == [6382, 6383, 6381]


def test_default_port_gives_up_after_the_scan() -> None:
    with pytest.raises(PortInUseError, match="every port up to"):
        assign_endpoints([("a", tcp())], NONE, lambda p, s: False, all_free)


def test_sockets() -> None:
    specs = assign_endpoints(
        [("a", uds()), ("b", uds()), ("c", uds("/tmp/c.sock"))],
        Reserved({}, {"/tmp/redis-1.socket": "orchestrator 'x'"}),
        all_free,
        lambda path: path != "/tmp/redis.socket",
    )
    assert [s.unix_socket for s in specs] == [
        "/tmp/redis-2.socket",
        "/tmp/redis-3.socket",
        "/tmp/c.sock",
    ]
    with pytest.raises(SocketInUseError, match="both model 'a' and model 'b'"):
        assign_endpoints(
            [("model 'a'", uds("/tmp/s")), ("model 'b'", uds("/tmp/s"))],
            NONE,
            all_free,
            all_free,
        )
    with pytest.raises(SocketInUseError, match="running server"):
        assign_endpoints([("a", uds("/tmp/s"))], NONE, all_free, lambda path: False)


def test_requests_keep_their_order_and_other_fields() -> None:
    spec = replace(tcp(), db_cpus=2)
    (out,) = assign_endpoints([("a", spec)], NONE, all_free, all_free)
    assert out.db_cpus == 2 and out.movable


class FakeStore:
    def __init__(self, db_identifier: str) -> None:
        self.db_identifier = db_identifier


@pytest.mark.parametrize(
    ("colocated", "shared"),
    [("", "orchestrator"), ("", ""), ("std", "std")],
)
def test_environment_names_must_not_collide(colocated: str, shared: str) -> None:
    with pytest.raises(DBIDConflictError, match="SSDB"):
        check_identifiers([("m", tcp(7000, colocated))], [FakeStore(shared)])  # type: ignore[list-item]


def test_distinct_environment_names() -> None:
    stores = [FakeStore("orchestrator"), FakeStore("std")]
    check_identifiers([("m", tcp(7000, "colo")), ("n", tcp(7001, "colo"))], stores)  # type: ignore[arg-type]
