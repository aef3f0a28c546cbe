"""``insitu ensemble serve``: ensemble-python's EnsembleOperator service over a running ensemble.

``RequestStatus`` (not implemented upstream) answers with a JSON payload: whether the
ensemble terminated, jobs per group and state, metrics, action errors. ``RequestAction``
runs ``submit``, ``cancel``, ``terminate``, ``grow`` or ``shrink`` now; its JSON payload
may carry ``label`` (the job group) and ``value`` (ensemble-python's ``{"grow": n}`` /
``{"shrink": n}`` work too). Every call must carry the metadata
``authorization: Bearer <token>``; otherwise the answer is ``DENIED``. The server binds to
loopback unless told otherwise.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

import grpc

from insitu.errors import EnsembleError
from insitu.log import get_logger
from insitu.rules.model import Action, parse_choice
from insitu.rules.runner import EnsembleRunner
from insitu.rules.service.proto import (
    DENIED,
    ERROR,
    SERVICE,
    SUCCESS,
    ActionRequest,
    Response,
    ResultType,
    StatusRequest,
)

logger = get_logger("insitu.rules.service")

RequestT = TypeVar("RequestT", StatusRequest, ActionRequest)

ServiceAction = Literal["submit", "cancel", "terminate", "grow", "shrink"]
"""The actions RequestAction may ask for (a Literal: they arrive as strings over gRPC)."""
SERVICE_ACTIONS: tuple[ServiceAction, ...] = get_args(ServiceAction)
DEFAULT_PORT = 50051
"""ensemble-python's default port."""


def _reply(status: ResultType, payload: object) -> Response:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return Response(payload=text, status=status)


class EnsembleService:
    """The two RPCs over one runner, guarded by ``token``."""

    def __init__(self, runner: EnsembleRunner, token: str) -> None:
        self._runner = runner
        self._token = token

    def request_status(self, request: StatusRequest, context: grpc.ServicerContext) -> Response:
        """JSON status of the ensemble."""
        if not self._authorized(context):
            return _reply(DENIED, {"error": "missing or wrong token"})
        result = self._runner.result()
        return _reply(
            SUCCESS,
            {
                "member": self._runner.member.name,
                "terminated": result.terminated,
                "jobs": result.jobs,
                "metrics": result.metrics.to_dict(),
                "errors": list(result.errors),
            },
        )

    def request_action(self, request: ActionRequest, context: grpc.ServicerContext) -> Response:
        """Carry out one action now."""
        if not self._authorized(context):
            return _reply(DENIED, {"error": "missing or wrong token"})
        try:
            action = parse_action(request.action, request.payload)
        except ValueError as err:
            return _reply(ERROR, {"error": str(err)})
        reason = self._runner.request(action, origin="grpc")
        if reason is not None:
            return _reply(ERROR, {"error": reason})
        return _reply(SUCCESS, {"accepted": action.name})

    def _authorized(self, context: grpc.ServicerContext) -> bool:
        given = dict(context.invocation_metadata()).get("authorization", "")
        expected = f"Bearer {self._token}"
        return isinstance(given, str) and hmac.compare_digest(given, expected)


def parse_action(name: str, payload: str) -> Action:
    """The action a RequestAction asks for (``ValueError`` if malformed)."""
    action_name = parse_choice(name, SERVICE_ACTIONS, "action")
    try:
        data = json.loads(payload) if payload.strip() else {}
    except json.JSONDecodeError as err:
        raise ValueError(f"payload is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError("payload must be a JSON object")
    label = data.get("label")
    value = data.get("value", data.get(action_name))
    if value is not None and not isinstance(value, int | float):
        raise ValueError(f"value must be a number, got {value!r}")
    if action_name == "shrink" and isinstance(value, int | float):
        value = abs(value)  # ensemble-python accepts a negative shrink
    return Action(action_name, None if label is None else str(label), value=value)


@dataclass
class ServiceHandle:
    """A running service: where it listens and how to stop it."""

    server: grpc.Server
    address: str
    token: str

    def stop(self, grace: float = 1.0) -> None:
        """Stop serving (in-flight calls get ``grace`` seconds)."""
        self.server.stop(grace).wait()


def serve(
    runner: EnsembleRunner, host: str = "127.0.0.1", port: int = 0, token: str | None = None
) -> ServiceHandle:
    """Serve EnsembleOperator for ``runner`` on ``host:port`` (0: any free port)."""
    secret = token or secrets.token_urlsafe(24)
    service = EnsembleService(runner, secret)
    # grpc's generic handler table holds methods of different message types, hence Any.
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "RequestStatus": _unary(service.request_status, StatusRequest),
        "RequestAction": _unary(service.request_action, ActionRequest),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise EnsembleError(f"cannot listen on {host}:{port}")
    server.start()
    address = f"{host}:{bound}"
    logger.info("ensemble service listening on %s", address)
    return ServiceHandle(server, address, secret)


def _unary(
    method: Callable[[RequestT, grpc.ServicerContext], Response], request: type[RequestT]
) -> grpc.RpcMethodHandler[RequestT, Response]:
    return grpc.unary_unary_rpc_method_handler(
        method,
        request_deserializer=request.FromString,
        response_serializer=Response.SerializeToString,
    )
