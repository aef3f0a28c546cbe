"""The store checkpoint on disk: written when a store is ready, read to reconnect to it.

The checkpoint (:mod:`insitu.wire.checkpoint`) holds no secret: the password sits in a file
of its own beside it, mode 0600, which the reader refuses if anyone else could read it.
Reconnecting checks that every shard answers an authenticated PING, so a checkpoint of a
store that has stopped is reported as stale instead of handing out a dead address.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import redis

from insitu._files import write_private
from insitu.connection.redis_clients import ping_error, shard_session
from insitu.errors import CheckpointError, CheckpointNotFoundError
from insitu.store.plan import StorePlan
from insitu.store.replicas import cluster_serving
from insitu.store.server_binary import find_server_binary
from insitu.store.shard_client import PROBE_TIMEOUT, shard_endpoints
from insitu.store.tls_store import private_files
from insitu.store.topology import Topology
from insitu.wire.addresses import parse_address
from insitu.wire.checkpoint import StoreCheckpoint, format_checkpoint, parse_checkpoint

CHECKPOINT_NAME = "insitu_db.json"
"""File name of a store's checkpoint in its directory."""


def password_file(directory: Path, name: str) -> Path:
    """Where a store's password is kept for reconnecting drivers."""
    return directory / f".{name}.password"


def shard_config_file(directory: Path, shard: str) -> Path:
    """Where a shard's server config (which holds the password) is written."""
    return directory / shard / f"{shard}.conf"


def remove_secret_files(directory: Path, name: str, shards: Sequence[str]) -> None:
    """Delete every file of the stopped store ``name`` that holds its password or a
    private key: the shard configs, the reconnect password file and a TLS store's server
    key and certificate (missing files are fine; the CA certificate stays)."""
    for shard in shards:
        shard_config_file(directory, shard).unlink(missing_ok=True)
    password_file(directory, name).unlink(missing_ok=True)
    for path in private_files(directory, name):
        path.unlink(missing_ok=True)


def write_checkpoint(checkpoint: StoreCheckpoint, password: str) -> Path:
    """Write the password file (0600) and then the checkpoint; return the checkpoint path."""
    directory = Path(checkpoint.path)
    directory.mkdir(parents=True, exist_ok=True)
    write_private(Path(checkpoint.password_file), password + "\n")
    target = directory / CHECKPOINT_NAME
    tmp = target.with_suffix(".tmp")
    tmp.write_text(format_checkpoint(checkpoint), encoding="utf-8")
    os.replace(tmp, target)  # a reader sees the old checkpoint or the new one, never half
    return target


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[StoreCheckpoint, str]:
    """The checkpoint at ``path`` and the store's password.

    ``CheckpointNotFoundError`` (a ``FileNotFoundError``) for a missing file;
    ``CheckpointError`` for a corrupt one, a password file others may read, or a store that
    does not answer any more (stale).
    """
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointNotFoundError(source, "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(source, f"unreadable: {err}") from None
    checkpoint = parse_checkpoint(text, source)
    password = _read_password(Path(checkpoint.password_file), source)
    tls_ca = checkpoint.tls_ca or None
    endpoints = shard_endpoints(checkpoint.addresses, password, PROBE_TIMEOUT, tls_ca)
    if checkpoint.replicas and cluster_serving(endpoints):
        return checkpoint, password  # a master may be gone: its replica took over
    for endpoint in endpoints:
        problem = ping_error(endpoint)
        if problem is not None:
            raise CheckpointError(
                source, f"stale: shard at {endpoint.address} does not answer ({problem})"
            )
    return checkpoint, password


def _read_password(path: Path, source: str) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(
            source, f"stale: the store was stopped (its password file {path} is gone)"
        ) from None
    except OSError as err:
        raise CheckpointError(source, f"password file {path}: {err.strerror or err}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CheckpointError(
            source, f"password file {path} may be read by others (mode {oct(mode & 0o777)}); "
            "it must be 0600"
        )  # fmt: skip
    password = text.strip()
    if not password:
        raise CheckpointError(source, f"password file {path} is empty")
    return password


def plan_of(checkpoint: StoreCheckpoint) -> StorePlan:
    """The :class:`StorePlan` of a running store described by ``checkpoint``."""
    first = parse_address(checkpoint.addresses[0])
    if first.is_unix:
        topology = Topology(1, (0,), ("127.0.0.1",), Path(first.path))
    else:
        ports = tuple(parse_address(a).port for a in checkpoint.addresses)
        masters = len(ports) // (1 + checkpoint.replicas)
        topology = Topology(masters, ports, (first.host,), replicas=checkpoint.replicas)
    return StorePlan(
        name=checkpoint.name,
        db_identifier=checkpoint.db_identifier,
        path=Path(checkpoint.path),
        topology=topology,
        interfaces=(),
        server_binary=find_server_binary(tls=bool(checkpoint.tls_ca)),
        launcher=checkpoint.launcher,
        tls=bool(checkpoint.tls_ca),
    )


def stop_left_behind(path: str | os.PathLike[str]) -> list[str]:
    """Stop the store of the checkpoint at ``path`` whatever became of its driver: every
    shard that still answers is shut down (``SHUTDOWN NOSAVE``) and the files holding its
    password are deleted. Returns the addresses that were shut down ([] for a store that
    was already gone). ``CheckpointNotFoundError``/``CheckpointError`` as
    :func:`read_checkpoint` for a missing or corrupt checkpoint or a bad password file."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointNotFoundError(source, "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(source, f"unreadable: {err}") from None
    checkpoint = parse_checkpoint(text, source)
    secret = Path(checkpoint.password_file)
    stopped: list[str] = []
    if secret.exists():
        password = _read_password(secret, source)
        tls_ca = checkpoint.tls_ca or None
        endpoints = shard_endpoints(checkpoint.addresses, password, PROBE_TIMEOUT, tls_ca)
        for address, endpoint in zip(checkpoint.addresses, endpoints, strict=True):
            if ping_error(endpoint) is None:
                shutdown_shards((address,), password, tls_ca)
                stopped.append(address)
    directory = Path(checkpoint.path)
    remove_secret_files(directory, checkpoint.name, checkpoint.shard_names)
    return stopped


def shutdown_shards(addresses: tuple[str, ...], password: str, tls_ca: str | None = None) -> None:
    """``SHUTDOWN NOSAVE`` every shard (a store this driver did not launch)."""
    for endpoint in shard_endpoints(addresses, password, tls_ca=tls_ca):
        try:
            with shard_session(endpoint) as conn:
                conn.shutdown(nosave=True)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass  # the server closes the connection as it exits


__all__ = [
    "CHECKPOINT_NAME",
    "password_file",
    "plan_of",
    "read_checkpoint",
    "remove_secret_files",
    "shard_config_file",
    "shutdown_shards",
    "stop_left_behind",
    "write_checkpoint",
]
