"""THE environment contract between a launched entity and the stores it talks to.

This module is the only place that names these variables; ``docs/env-contract.md``
describes them for clients in other languages. Names and values follow SmartSim 0.8 /
SmartRedis 0.6, plus the password insitu's authenticated stores need:

==========================  ==========================================================
``SSDB[_<id>]``             comma-separated shard addresses, ``host:port`` (or
                            ``unix://<path>`` for a Unix socket)
``SR_DB_TYPE[_<id>]``       ``Clustered`` or ``Standalone``
``SSDB_PASSWORD[_<id>]``    the store's password (insitu addition; omitted if none)
``SSDB_TLS_CA[_<id>]``      path of the CA certificate of a TLS store: clients connect
                            over TLS and verify the server against it (insitu addition;
                            omitted for a plain store)
``SSDB_USER[_<id>]``        the ACL user that password belongs to (insitu addition, set
                            with ``acl="per_entity"``; omitted: the default user)
``SSKEYOUT``                prefix this entity puts on the keys it writes
``SSKEYIN``                 comma-separated prefixes it may read (first one is default)
==========================  ==========================================================

``<id>`` is the Orchestrator's ``db_identifier``; the default identifier
``"orchestrator"`` (or an empty one) uses the bare names, as SmartSim does. ``SSKEYIN`` and
``SSKEYOUT`` are never suffixed. Everything here is pure: callers pass the mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from insitu.errors import ConnectionEnvError, InvalidArgumentError, RedisParameterError
from insitu.wire.addresses import parse_address

DEFAULT_DB_IDENTIFIER = "orchestrator"
CLUSTERED = "Clustered"
STANDALONE = "Standalone"
ADDRESS_VAR = "SSDB"
DB_TYPE_VAR = "SR_DB_TYPE"
PASSWORD_VAR = "SSDB_PASSWORD"
TLS_CA_VAR = "SSDB_TLS_CA"
USER_VAR = "SSDB_USER"
KEY_OUT_VAR = "SSKEYOUT"
KEY_IN_VAR = "SSKEYIN"

_DB_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_DB_TYPES = {CLUSTERED.lower(): True, STANDALONE.lower(): False}


def validate_db_identifier(db_identifier: str) -> str:
    """``db_identifier`` if it can name env variables and files, else InvalidArgumentError."""
    if db_identifier and not _DB_ID_RE.match(db_identifier):
        raise InvalidArgumentError(
            f"db_identifier {db_identifier!r} may contain only letters, digits, '_', '.', '-' "
            "and must not start with '.' or '-'"
        )
    return db_identifier


def env_suffix(db_identifier: str) -> str:
    """``""`` for the default store, ``"_<id>"`` otherwise (SmartSim's rule)."""
    if db_identifier in ("", DEFAULT_DB_IDENTIFIER):
        return ""
    return "_" + validate_db_identifier(db_identifier)


def address_var(db_identifier: str = DEFAULT_DB_IDENTIFIER) -> str:
    """Name of the address variable for ``db_identifier`` (``SSDB`` or ``SSDB_<id>``)."""
    return ADDRESS_VAR + env_suffix(db_identifier)


def db_type_var(db_identifier: str = DEFAULT_DB_IDENTIFIER) -> str:
    """Name of the topology variable (``SR_DB_TYPE`` or ``SR_DB_TYPE_<id>``)."""
    return DB_TYPE_VAR + env_suffix(db_identifier)


def password_var(db_identifier: str = DEFAULT_DB_IDENTIFIER) -> str:
    """Name of the password variable (``SSDB_PASSWORD`` or ``SSDB_PASSWORD_<id>``)."""
    return PASSWORD_VAR + env_suffix(db_identifier)


def tls_ca_var(db_identifier: str = DEFAULT_DB_IDENTIFIER) -> str:
    """Name of the CA certificate variable (``SSDB_TLS_CA`` or ``SSDB_TLS_CA_<id>``)."""
    return TLS_CA_VAR + env_suffix(db_identifier)


def user_var(db_identifier: str = DEFAULT_DB_IDENTIFIER) -> str:
    """Name of the ACL user variable (``SSDB_USER`` or ``SSDB_USER_<id>``)."""
    return USER_VAR + env_suffix(db_identifier)


@dataclass(frozen=True)
class StoreConnection:
    """How to reach one store: its addresses, topology, password ("" = none) and, for a
    TLS store, the path of its CA certificate ("" = plain TCP)."""

    db_identifier: str
    addresses: tuple[str, ...]
    clustered: bool
    password: str = ""
    tls_ca: str = ""

    def __post_init__(self) -> None:
        validate_db_identifier(self.db_identifier)
        if not self.addresses or any(_bad_address(a) for a in self.addresses):
            raise InvalidArgumentError(f"invalid store addresses {self.addresses!r}")
        if "," in self.password or any(c.isspace() for c in self.password):
            raise InvalidArgumentError("a store password must not contain ',' or whitespace")
        if self.tls_ca and any(a.startswith("unix://") for a in self.addresses):
            raise InvalidArgumentError("a store on a Unix socket does not use TLS")

    def to_env(self) -> dict[str, str]:
        """The variables a launched entity needs for this store."""
        env = {
            address_var(self.db_identifier): ",".join(self.addresses),
            db_type_var(self.db_identifier): CLUSTERED if self.clustered else STANDALONE,
        }
        if self.password:
            env[password_var(self.db_identifier)] = self.password
        if self.tls_ca:
            env[tls_ca_var(self.db_identifier)] = self.tls_ca
        return env

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], db_identifier: str = DEFAULT_DB_IDENTIFIER
    ) -> StoreConnection:
        """Read the store ``db_identifier`` from ``env`` (e.g. ``os.environ``).

        Raises :class:`ConnectionEnvError` naming the variable that is missing or malformed.
        ``SSDB_PASSWORD[_<id>]`` and ``SSDB_TLS_CA[_<id>]`` are optional ("" when unset).
        """
        addr_name, type_name = address_var(db_identifier), db_type_var(db_identifier)
        raw_addresses = _required(env, addr_name)
        addresses = tuple(part.strip() for part in raw_addresses.split(","))
        if any(_bad_address(a) for a in addresses):
            raise ConnectionEnvError(addr_name, f"malformed address list {raw_addresses!r}")
        raw_type = _required(env, type_name).strip()
        if raw_type.lower() not in _DB_TYPES:
            raise ConnectionEnvError(
                type_name, f"is {raw_type!r}; expected {CLUSTERED!r} or {STANDALONE!r}"
            )
        password = env.get(password_var(db_identifier), "")
        name = db_identifier or DEFAULT_DB_IDENTIFIER
        tls_ca = env.get(tls_ca_var(db_identifier), "").strip()
        return cls(name, addresses, _DB_TYPES[raw_type.lower()], password, tls_ca)


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if value is None or not value.strip():
        raise ConnectionEnvError(name, "is not set; is a store running in this experiment?")
    return value


def _bad_address(address: str) -> bool:
    if not address or "," in address or any(c.isspace() for c in address):
        return True
    try:
        parse_address(address)
    except RedisParameterError:
        return True
    return False


def format_key_prefix_env(key_out: str | None, keys_in: Sequence[str]) -> dict[str, str]:
    """``SSKEYOUT`` (when ``key_out`` is given) and ``SSKEYIN`` (when ``keys_in`` is not empty).

    Entity names must be non-empty and free of ``,`` and whitespace.
    """
    env: dict[str, str] = {}
    for name in ([key_out] if key_out is not None else []) + list(keys_in):
        if not name or "," in name or any(c.isspace() for c in name):
            raise InvalidArgumentError(f"invalid key prefix {name!r}")
    if key_out is not None:
        env[KEY_OUT_VAR] = key_out
    if keys_in:
        env[KEY_IN_VAR] = ",".join(keys_in)
    return env


def parse_key_prefix_env(env: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """Inverse of :func:`format_key_prefix_env`: ``(key_out or None, keys_in)``."""
    key_out = env.get(KEY_OUT_VAR) or None
    raw_in = env.get(KEY_IN_VAR, "")
    keys_in = tuple(part.strip() for part in raw_in.split(",") if part.strip())
    return key_out, keys_in
