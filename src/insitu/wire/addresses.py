"""Store addresses as clients write them: ``host:port``, ``tcp://host:port``,
``[v6addr]:port`` and ``unix:///path/to/socket`` (pure parsing, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from insitu.errors import RedisParameterError

UNIX = "unix://"
TCP = "tcp://"


@dataclass(frozen=True)
class Address:
    """One shard endpoint: TCP ``host``/``port``, or a Unix socket ``path``."""

    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def is_unix(self) -> bool:
        """True for a Unix socket address."""
        return bool(self.path)

    def __str__(self) -> str:
        if self.path:
            return UNIX + self.path
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def canonical(self) -> Address:
        """The same endpoint with ``localhost`` (and IPv4-mapped loopback) written
        ``127.0.0.1``, so that equal endpoints compare equal."""
        if self.host in ("localhost", "::ffff:127.0.0.1"):
            return Address("127.0.0.1", self.port)
        return self

    def same_endpoint(self, other: Address) -> bool:
        """True if both name the same endpoint (``localhost`` = ``127.0.0.1``)."""
        return self.canonical() == other.canonical()


def parse_address(text: str) -> Address:
    """Parse one address; RedisParameterError (a ValueError) naming it if malformed."""
    raw = text.strip()
    if raw.startswith(UNIX):
        path = raw[len(UNIX) :]
        if not path.startswith("/"):
            raise RedisParameterError(f"invalid address {text!r}: use unix:///absolute/path")
        return Address(path=path)
    host, sep, port = raw.removeprefix(TCP).rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisParameterError(
            f"invalid address {text!r}: use host:port, tcp://host:port or unix:///path"
        )
    return Address(host=host, port=int(port))


def parse_address_list(text: str) -> tuple[Address, ...]:
    """Parse a comma-separated list (the ``SSDB`` format); empty entries are skipped."""
    addresses = tuple(parse_address(part) for part in text.split(",") if part.strip())
    if not addresses:
        raise RedisParameterError(f"no address in {text!r}")
    return addresses
