"""The TLS section of a shard's configuration file (pure, no I/O).

A TLS store listens for clients on TLS only: ``port 0`` turns the plain listener off and
``tls-port`` takes the shard's port, so the address clients use does not change. Shards of
a cluster talk TLS on the cluster bus too (``tls-cluster yes``: the bus port is the TLS
port + 10000) and replicas replicate over TLS (``tls-replication yes``).

Clients are not asked for a certificate (``tls-auth-clients no``): the store's password
(or ACL user) still authenticates every client; TLS adds a server the client can verify
and encrypts the password and the data on the wire. The server's certificate also serves
as the client certificate of its own outgoing bus and replication connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from insitu.errors import InvalidArgumentError

CA_NAME, CERT_NAME, KEY_NAME = "ca.crt", "server.crt", "server.key"
"""File names of a TLS store's CA certificate, server certificate and server key."""


@dataclass(frozen=True)
class TlsFiles:
    """Where a shard finds its TLS material: the CA certificate (``ca_file``, also handed
    to clients), its own certificate (``cert_file``) and private key (``key_file``,
    mode 0600, deleted when the store stops)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def tls_listener_options(files: TlsFiles, port: int, *, cluster: bool) -> list[tuple[str, str]]:
    """The ``(key, value)`` lines that make a shard listen on ``port`` over TLS only
    (in place of the ``port`` line of a plain shard); cluster bus and replication over TLS
    too. Each value is one argument (a path may hold spaces: the renderer quotes it)."""
    if not 1 <= port <= 65535:
        raise InvalidArgumentError(f"a TLS shard needs a TCP port in 1..65535, got {port}")
    pairs = [
        ("port", "0"),
        ("tls-port", str(port)),
        ("tls-cert-file", str(files.cert_file)),
        ("tls-key-file", str(files.key_file)),
        ("tls-ca-cert-file", str(files.ca_file)),
        ("tls-auth-clients", "no"),
        ("tls-replication", "yes"),
    ]
    if cluster:
        pairs.append(("tls-cluster", "yes"))
    return pairs


TLS_KEYS = frozenset(
    {
        "tls-port",
        "tls-cert-file",
        "tls-key-file",
        "tls-key-file-pass",
        "tls-client-cert-file",
        "tls-client-key-file",
        "tls-client-key-file-pass",
        "tls-ca-cert-file",
        "tls-ca-cert-dir",
        "tls-auth-clients",
        "tls-replication",
        "tls-cluster",
        "tls-dh-params-file",
    }
)
"""Server options insitu manages for a TLS store (``tls=True`` instead)."""
