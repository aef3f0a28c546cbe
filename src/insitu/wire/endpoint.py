"""How to reach one store server: its address, the credentials, TLS and timeouts (pure).

An :class:`Endpoint` is all that :mod:`insitu.connection` needs to open a connection of any
kind (redis-py, Redis Cluster, the lean RESP connection). A store of several shards is
reached through one endpoint per shard that differ only in their address
(:meth:`Endpoint.at`). Secrets never appear in ``repr``/``str``, so an endpoint may be
logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from insitu.errors import InvalidArgumentError
from insitu.wire.addresses import Address

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_TIMEOUT = 5.0


STORE_USER = "insitu"
"""The ACL user every insitu store defines with its password and every permission; the
store's own connections (probes, set-up, inference workers) authenticate as it, so they
keep working on a store whose default user lets password-free clients in, restricted
(``docs/porting.md``)."""


@dataclass(frozen=True)
class Credentials:
    """``password`` (None: the server needs none) and, for an ACL user, ``username``
    (None: the server's default user)."""

    password: str | None = field(default=None, repr=False)
    username: str | None = None

    def __post_init__(self) -> None:
        if self.username is not None and not self.password:
            raise InvalidArgumentError(f"ACL user {self.username!r} needs a password")

    @property
    def user(self) -> str | None:
        """The user to authenticate as: ``username``, else ``default`` (None: no password,
        nothing to send). Always named: ``AUTH <password>`` alone is refused by a server
        whose default user lets clients in without a password, ``AUTH default
        <password>`` is accepted by every server since Redis 6."""
        if not self.password:
            return None
        return self.username or "default"

    @property
    def auth_args(self) -> tuple[str, ...]:
        """The arguments of the ``AUTH`` command (empty: none to send)."""
        if self.user is None or self.password is None:
            return ()
        return (self.user, self.password)


@dataclass(frozen=True)
class TlsOptions:
    """TLS for the connection: the CA bundle that signs the server's certificate
    (None: the system's), and the client's own certificate and key for mutual TLS."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise InvalidArgumentError("a TLS client certificate needs its key, and back")

    @classmethod
    def from_ca(cls, ca_file: str | None) -> TlsOptions | None:
        """TLS verified against ``ca_file``; None (plain TCP) for None or ""."""
        return cls(ca_file=ca_file) if ca_file else None


@dataclass(frozen=True)
class Endpoint:
    """One server: ``address``, ``credentials``, ``tls`` (None: plain TCP or a Unix
    socket), ``connect_timeout`` (seconds to establish the connection) and ``timeout``
    (seconds any one read or write may block)."""

    address: Address
    credentials: Credentials = Credentials()
    tls: TlsOptions | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.tls is not None and self.address.is_unix:
            raise InvalidArgumentError(f"TLS is for TCP addresses, not {self.address}")
        for name in ("connect_timeout", "timeout"):
            if not getattr(self, name) > 0:
                raise InvalidArgumentError(f"{name} must be positive, got {getattr(self, name)}")

    def at(self, address: Address) -> Endpoint:
        """The same store reached at ``address`` (another shard)."""
        return replace(self, address=address)

    def __str__(self) -> str:
        return str(self.address)
