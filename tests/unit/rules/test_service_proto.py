"""The generated gRPC messages agree with the checked-in .proto and with ensemble-python's wire."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from insitu.rules.service import ensemble_service_pb2 as pb2
from insitu.rules.service import proto

tomllib = pytest.importorskip("tomllib")

SERVICE_DIR = Path(pb2.__file__).parent
ROOT = Path(__file__).resolve().parents[3]

# ensemble-python 0.0.16's ensemble-service.proto, the contract on the wire.
UPSTREAM_FIELDS = {
    "StatusRequest": {"member": 1, "name": 2},
    "ActionRequest": {"member": 1, "name": 2, "action": 3, "payload": 4},
    "Response": {"payload": 1, "status": 4},
}
UPSTREAM_RESULTS = {"UNSPECIFIED": 0, "SUCCESS": 1, "ERROR": 2, "DENIED": 3, "EXISTS": 4}


def _declared_fields(text: str) -> dict[str, dict[str, int]]:
    """``message -> {field: number}`` from the .proto source (flat messages, as ours are)."""
    found: dict[str, dict[str, int]] = {}
    for name, body in re.findall(r"message (\w+) \{(.*?)\n\}", text, flags=re.S):
        fields = re.sub(r"enum \w+ \{.*?\}", "", body, flags=re.S)
        found[name] = {f: int(n) for f, n in re.findall(r"\w+ (\w+) = (\d+);", fields)}
    return found


def _generated_fields() -> dict[str, dict[str, int]]:
    return {
        name: {field.name: field.number for field in message.fields}
        for name, message in pb2.DESCRIPTOR.message_types_by_name.items()
    }


def test_generated_code_matches_the_checked_in_proto() -> None:
    text = (SERVICE_DIR / "ensemble_service.proto").read_text()
    assert _declared_fields(text) == _generated_fields()
    assert f"package {pb2.DESCRIPTOR.package};" in text


def test_wire_contract_is_ensemble_pythons() -> None:
    assert _generated_fields() == UPSTREAM_FIELDS
    assert dict(pb2.Response.ResultType.items()) == UPSTREAM_RESULTS
    assert proto.STATUS_METHOD == "/convergedcomputing.org.grpc.v1.EnsembleOperator/RequestStatus"
    assert proto.ACTION_METHOD == "/convergedcomputing.org.grpc.v1.EnsembleOperator/RequestAction"
    service = pb2.DESCRIPTOR.services_by_name["EnsembleOperator"]
    assert {m.name: m.input_type.name for m in service.methods} == {
        "RequestStatus": "StatusRequest",
        "RequestAction": "ActionRequest",
    }


def test_messages_round_trip() -> None:
    request = pb2.ActionRequest(member="m", action="grow", payload='{"value": 2}')
    assert pb2.ActionRequest.FromString(request.SerializeToString()) == request
    reply = pb2.Response(payload="{}", status=proto.DENIED)
    assert proto.result_name(pb2.Response.FromString(reply.SerializeToString()).status) == "DENIED"
    assert proto.result_name(99) == "99"


def test_protobuf_floor_admits_no_runtime_older_than_the_gencode() -> None:
    header = (SERVICE_DIR / "ensemble_service_pb2.py").read_text()
    match = re.search(r"Protobuf Python Version: (\S+)", header)
    assert match, "the generated module names its protobuf version"
    with (ROOT / "pyproject.toml").open("rb") as handle:
        extras = tomllib.load(handle)["project"]["optional-dependencies"]
    (floor,) = [Requirement(r) for r in extras["rules"] if Requirement(r).name == "protobuf"]
    lowest = min(Version(s.version) for s in floor.specifier if s.operator == ">=")
    assert lowest >= Version(match[1]), (
        f"protobuf{floor.specifier} admits runtimes older than gencode {match[1]}"
    )
