"""ensemble-python's ``EnsembleOperator`` protocol, built at run time with protobuf's API.

Same package, services, messages, field numbers and enum values as ensemble-python 0.0.16's
``ensemble-service.proto``, so its clients and ours interoperate; no generated code and no
build step::

    service EnsembleOperator {
      rpc RequestStatus(StatusRequest) returns (Response);
      rpc RequestAction(ActionRequest) returns (Response);
    }
    message StatusRequest { string member = 1; string name = 2; }
    message ActionRequest { string member = 1; string name = 2; string action = 3;
                            string payload = 4; }
    message Response { enum ResultType { UNSPECIFIED = 0; SUCCESS = 1; ERROR = 2;
                       DENIED = 3; EXISTS = 4; }
                       string payload = 1; ResultType status = 4; }
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

PACKAGE = "convergedcomputing.org.grpc.v1"
SERVICE = f"{PACKAGE}.EnsembleOperator"
STATUS_METHOD = f"/{SERVICE}/RequestStatus"
ACTION_METHOD = f"/{SERVICE}/RequestAction"

UNSPECIFIED, SUCCESS, ERROR, DENIED, EXISTS = 0, 1, 2, 3, 4
RESULT_NAMES = {0: "UNSPECIFIED", 1: "SUCCESS", 2: "ERROR", 3: "DENIED", 4: "EXISTS"}

_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_ENUM = descriptor_pb2.FieldDescriptorProto.TYPE_ENUM
_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL


@dataclass(frozen=True)
class Messages:
    """The three message classes of the protocol."""

    status_request: type[Message]
    action_request: type[Message]
    response: type[Message]


def _message(
    file: descriptor_pb2.FileDescriptorProto, name: str, fields: list[tuple[str, int]]
) -> descriptor_pb2.DescriptorProto:
    message = file.message_type.add(name=name)
    for field_name, number in fields:
        message.field.add(name=field_name, number=number, type=_STRING, label=_OPTIONAL)
    return message


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(
        name="ensemble-service.proto", package=PACKAGE, syntax="proto3"
    )
    _message(file, "StatusRequest", [("member", 1), ("name", 2)])
    _message(file, "ActionRequest", [("member", 1), ("name", 2), ("action", 3), ("payload", 4)])
    response = _message(file, "Response", [("payload", 1)])
    response.field.add(
        name="status",
        number=4,
        type=_ENUM,
        label=_OPTIONAL,
        type_name=f".{PACKAGE}.Response.ResultType",
    )
    result = response.enum_type.add(name="ResultType")
    for number, value_name in RESULT_NAMES.items():
        result.value.add(name=value_name, number=number)
    service = file.service.add(name="EnsembleOperator")
    for method, request in (("RequestStatus", "StatusRequest"), ("RequestAction", "ActionRequest")):
        service.method.add(
            name=method, input_type=f".{PACKAGE}.{request}", output_type=f".{PACKAGE}.Response"
        )
    return file


def build_messages() -> Messages:
    """Message classes in a private descriptor pool (safe to call more than once)."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file())

    def cls(name: str) -> type[Message]:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))

    return Messages(cls("StatusRequest"), cls("ActionRequest"), cls("Response"))


MESSAGES = build_messages()
