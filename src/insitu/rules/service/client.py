"""A small client of the EnsembleOperator service (for scripts, tests and operators)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import grpc

from insitu.rules.service.proto import (
    ACTION_METHOD,
    STATUS_METHOD,
    ActionRequest,
    Response,
    StatusRequest,
    result_name,
)


@dataclass(frozen=True)
class Reply:
    """A Response: ``status`` by name (``SUCCESS``, ``ERROR``, ``DENIED`` …) and JSON payload."""

    status: str
    payload: dict[str, object]


class EnsembleClient:
    """Calls RequestStatus/RequestAction on ``address`` with ``token``."""

    def __init__(self, address: str, token: str, timeout: float = 10.0) -> None:
        self._channel = grpc.insecure_channel(address)
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._timeout = timeout
        self._status = self._channel.unary_unary(
            STATUS_METHOD,
            request_serializer=StatusRequest.SerializeToString,
            response_deserializer=Response.FromString,
        )
        self._action = self._channel.unary_unary(
            ACTION_METHOD,
            request_serializer=ActionRequest.SerializeToString,
            response_deserializer=Response.FromString,
        )

    def status(self, member: str = "", name: str = "") -> Reply:
        """RequestStatus."""
        request = StatusRequest(member=member, name=name)
        return _reply(self._status(request, timeout=self._timeout, metadata=self._metadata))

    def action(
        self, action: str, payload: dict[str, object] | None = None, member: str = ""
    ) -> Reply:
        """RequestAction ``action`` with a JSON ``payload`` (``label``, ``value``)."""
        request = ActionRequest(member=member, action=action, payload=json.dumps(payload or {}))
        return _reply(self._action(request, timeout=self._timeout, metadata=self._metadata))

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> EnsembleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reply(message: Response) -> Reply:
    data = json.loads(message.payload) if message.payload else {}
    return Reply(result_name(message.status), data if isinstance(data, dict) else {})
