"""Which stores use TLS, and where a TLS store keeps its certificates.

``tls=True`` (``Orchestrator``, ``create_database``, ``colocate_db_tcp``) or
:data:`TLS_ENV` set to a true value (``1``/``true``/``yes``/``on``) in the driver's
environment makes a TCP store TLS-only; ``tls=False`` keeps it plain whatever the
environment says. A store on a Unix socket does not use TLS: ``tls=True`` with a socket is
an :class:`~insitu.errors.UnsupportedOptionError`, and the environment switch leaves such
stores alone (it asks for TLS on the network; a socket is not on it).

A store's TLS files live in ``<store path>/.<name>.tls/`` (mode 0700): ``ca.crt`` (public,
kept after the store stops) and the shard certificate and key (0600, deleted when it
stops), see :mod:`insitu.store.tls_certs`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from pathlib import Path

from insitu.errors import InvalidArgumentError, ParameterTypeError, UnsupportedOptionError
from insitu.hosts import LOOPBACK
from insitu.store.tls_config import CA_NAME, CERT_NAME, KEY_NAME

TLS_ENV = "INSITU_TLS"
"""Environment switch: TLS for every TCP store the driver starts (unless ``tls=False``)."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def tls_requested(explicit: object, environ: Mapping[str, str], *, unix_socket: bool) -> bool:
    """Whether a store uses TLS: ``explicit`` (``tls=`` argument; None: not given) else
    :data:`TLS_ENV`. Raises ParameterTypeError for a ``tls`` that is not a bool,
    InvalidArgumentError for a malformed switch, and UnsupportedOptionError for
    ``tls=True`` on a Unix socket."""
    if explicit is not None:
        if not isinstance(explicit, bool):
            raise ParameterTypeError(f"tls must be True or False, not {explicit!r}")
        if explicit and unix_socket:
            raise UnsupportedOptionError(
                "tls", "a store on a Unix socket",
                "TLS protects network traffic; a socket store is reached only on its host, "
                "through a file whose permissions decide who may connect (use "
                "colocate_db_tcp(tls=True) for a TLS store)",
            )  # fmt: skip
        return explicit
    raw = environ.get(TLS_ENV, "").strip().lower()
    if raw not in _TRUE + _FALSE:
        raise InvalidArgumentError(f"{TLS_ENV}={raw!r}: use 1/true/yes/on or 0/false/no/off")
    return raw in _TRUE and not unix_socket


def tls_dir(directory: Path, name: str) -> Path:
    """The directory of store ``name``'s TLS files under its ``directory``."""
    return directory / f".{name}.tls"


def ca_file(directory: Path, name: str) -> Path:
    """The CA certificate clients of store ``name`` verify it against."""
    return tls_dir(directory, name) / CA_NAME


def private_files(directory: Path, name: str) -> tuple[Path, Path]:
    """The server key and certificate of store ``name`` (deleted when it stops)."""
    folder = tls_dir(directory, name)
    return folder / KEY_NAME, folder / CERT_NAME


def certificate_hosts(bind: Iterable[str]) -> list[str]:
    """Every name a client on this host may use for a shard bound to ``bind``: those
    addresses, loopback (IPv4, IPv6, ``localhost``) and this host's name."""
    hosts = [*bind, LOOPBACK, "::1", "localhost", socket.gethostname()]
    return list(dict.fromkeys(h for h in hosts if h))
