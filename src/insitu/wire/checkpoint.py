"""The store checkpoint: how a running store is found again by another driver (pure).

A versioned JSON object (``insitu-checkpoint/1``), written into the store's directory when
it is ready, read by ``Experiment.reconnect_orchestrator``. It names the store (name,
``db_identifier``, directory, launcher), its shard addresses and shard names, whether it is a
cluster, and the file holding its password (a path, mode 0600, never the password itself);
``replicas`` (per master) and ``acl`` (``"per_entity"`` or ``""``), optional, default 0
and ``""`` (checkpoints written before they existed).
Unknown keys are ignored; a missing key, a wrong type or another format version raises
:class:`~insitu.errors.CheckpointError`. Format and parse are a round-trip pair.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from insitu.errors import CheckpointError

FORMAT = "insitu-checkpoint/1"
"""The format tag of the current version."""


@dataclass(frozen=True)
class StoreCheckpoint:
    """A running store as another driver needs it (no secret)."""

    name: str
    db_identifier: str
    path: str
    launcher: str
    addresses: tuple[str, ...]
    shard_names: tuple[str, ...]
    clustered: bool
    password_file: str
    tls_ca: str = ""  # the CA certificate of a TLS store ("": plain TCP or a socket)
    replicas: int = 0
    acl: str = ""


def format_checkpoint(checkpoint: StoreCheckpoint) -> str:
    """The checkpoint as JSON text (one object, sorted keys, a final newline)."""
    body = {
        "format": FORMAT,
        "name": checkpoint.name,
        "db_identifier": checkpoint.db_identifier,
        "path": checkpoint.path,
        "launcher": checkpoint.launcher,
        "addresses": list(checkpoint.addresses),
        "shard_names": list(checkpoint.shard_names),
        "clustered": checkpoint.clustered,
        "password_file": checkpoint.password_file,
        "replicas": checkpoint.replicas,
        "acl": checkpoint.acl,
    }
    if checkpoint.tls_ca:  # absent for a plain store: older readers keep reading it
        body["tls_ca"] = checkpoint.tls_ca
    return json.dumps(body, sort_keys=True, indent=1) + "\n"


def parse_checkpoint(text: str, source: str = "<checkpoint>") -> StoreCheckpoint:
    """The checkpoint in ``text``; ``CheckpointError`` naming ``source`` if it is not one."""
    try:
        body = json.loads(text)
    except ValueError as err:
        raise CheckpointError(source, f"not JSON ({err}); is it a SmartSim pickle?") from None
    if not isinstance(body, dict):
        raise CheckpointError(source, "not a JSON object")
    found = body.get("format")
    if found != FORMAT:
        raise CheckpointError(source, f"format {found!r} is not {FORMAT!r}")
    strings = {k: _str(body, k, source) for k in
               ("name", "db_identifier", "path", "launcher", "password_file")}  # fmt: skip
    addresses = _str_list(body, "addresses", source)
    shard_names = _str_list(body, "shard_names", source)
    if not addresses or len(addresses) != len(shard_names):
        raise CheckpointError(source, "needs one shard name per address, at least one")
    clustered = body.get("clustered")
    if not isinstance(clustered, bool):
        raise CheckpointError(source, "'clustered' must be true or false")
    tls_ca = body.get("tls_ca", "")
    if not isinstance(tls_ca, str):
        raise CheckpointError(source, "'tls_ca' must be a string")
    replicas, acl = body.get("replicas", 0), body.get("acl", "")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise CheckpointError(source, "'replicas' must be a whole number >= 0")
    if not isinstance(acl, str):
        raise CheckpointError(source, "'acl' must be a string")
    if len(addresses) % (1 + replicas):
        raise CheckpointError(source, "the addresses are not masters and their replicas")
    return StoreCheckpoint(
        addresses=addresses, shard_names=shard_names, clustered=clustered, tls_ca=tls_ca,
        replicas=replicas, acl=acl, **strings,
    )  # fmt: skip


def _str(body: dict[str, object], key: str, source: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise CheckpointError(source, f"{key!r} must be a string")
    return value


def _str_list(body: dict[str, object], key: str, source: str) -> tuple[str, ...]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CheckpointError(source, f"{key!r} must be a list of strings")
    return tuple(value)


__all__ = ["FORMAT", "StoreCheckpoint", "format_checkpoint", "parse_checkpoint"]
