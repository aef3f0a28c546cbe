"""``ConfigOptions``: where a Client reads its settings (SmartRedis 0.6 API).

``ConfigOptions.create_from_environment(db_suffix)`` reads environment variables lazily,
each named ``<OPTION>_<db_suffix>`` when ``db_suffix`` names a store other than the
default one (``""`` or ``"orchestrator"``), else ``<OPTION>``; overrides set on the object
win over the environment. Objects not made by the factory raise RedisRuntimeError, as in
SmartRedis.

The client's settings (:class:`Timeouts`, with SmartRedis's names, units and defaults):

====================  =======  ========  ============================================
variable              unit     default   meaning
====================  =======  ========  ============================================
``SR_CONN_TIMEOUT``   s        100       give up connecting after this long
``SR_CONN_INTERVAL``  ms       1000      wait between connection attempts
``SR_CMD_TIMEOUT``    s        100       give up on a command (shard down) after this
``SR_CMD_INTERVAL``   ms       1000      wait between command attempts
``SR_THREAD_COUNT``   threads  4         parallel requests to different shards
``SR_MODEL_TIMEOUT``  ms       3600000   longest wait for a model or script run (1 hour)
====================  =======  ========  ============================================

and one insitu addition (0 allowed):

=========================  ====  =======  ============================================
``INSITU_REPLY_SPIN_US``   µs    0        poll for a model or script run's reply this
                                          long before sleeping (0: sleep at once)
=========================  ====  =======  ============================================

For these, a suffixed variable wins over the bare one, which applies to every store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from insitu._checks import check_type
from insitu.errors import (
    ParameterTypeError,
    RedisKeyError,
    RedisParameterError,
    RedisRuntimeError,
)
from insitu.wire.env import env_suffix

_NOT_FACTORY = "Method called on a ConfigOptions object not created from a factory method"
_INT_MAX_SECONDS = (2**31 - 1) // 1000


@dataclass(frozen=True)
class Timeouts:
    """Retry budget of a client, in seconds (intervals converted from ms), and how long
    it polls for an inference reply before sleeping (``reply_spin``, seconds)."""

    connect: float = 100.0
    connect_interval: float = 1.0
    command: float = 100.0
    command_interval: float = 1.0
    threads: int = 4
    model: float = 3600.0
    reply_spin: float = 0.0


class ConfigOptions:
    """Configuration source for a Client; make one with :meth:`create_from_environment`."""

    def __init__(self) -> None:
        self._is_created_via_factory = False
        self._suffix = ""
        self._ints: dict[str, int] = {}
        self._strings: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"ConfigOptions(db_suffix={self._suffix!r})"

    @classmethod
    def create_from_environment(cls, db_suffix: str) -> ConfigOptions:
        """Options read from environment variables suffixed with ``_<db_suffix>``."""
        check_type("db_suffix", db_suffix, str, "a str")
        env_suffix(db_suffix)  # validates the identifier
        options = cls()
        options._suffix = db_suffix
        options._is_created_via_factory = True
        return options

    @property
    def is_factory_object(self) -> bool:
        """True if made by a factory method (only those can be used)."""
        return self._is_created_via_factory

    @property
    def db_suffix(self) -> str:
        """The store identifier this object reads variables for ("" = default store)."""
        return self._suffix

    def get_integer_option(self, option_name: str) -> int:
        """The integer value of ``option_name``; RedisKeyError if unset,
        RedisParameterError if not an integer."""
        name = self._checked(option_name)
        if name in self._ints:
            return self._ints[name]
        return _parse_int(self.env_name(name), self._require(name))

    def get_string_option(self, option_name: str) -> str:
        """The value of ``option_name``; RedisKeyError if unset."""
        name = self._checked(option_name)
        return self._strings[name] if name in self._strings else self._require(name)

    def is_configured(self, option_name: str) -> bool:
        """True if ``option_name`` is overridden or set in the environment."""
        name = self._checked(option_name)
        return name in self._ints or name in self._strings or self.env_name(name) in os.environ

    def override_integer_option(self, option_name: str, value: int) -> None:
        """Use ``value`` for ``option_name`` in this object only."""
        name = self._checked(option_name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterTypeError(f"value must be an int, not {type(value).__name__}")
        self._ints[name] = value

    def override_string_option(self, option_name: str, value: str) -> None:
        """Use ``value`` for ``option_name`` in this object only (e.g. ``SSDB_PASSWORD``)."""
        name = self._checked(option_name)
        self._strings[name] = check_type("value", value, str, "a str")

    # ----------------------------------------------------------------- for the Client
    def env_name(self, option_name: str) -> str:
        """The environment variable that holds ``option_name`` for this store."""
        return option_name + env_suffix(self._suffix)

    def lookup_string(self, option_name: str, *, fallback_bare: bool = False) -> str | None:
        """Override, else the (suffixed) variable, else optionally the bare one, else None."""
        if option_name in self._strings:
            return self._strings[option_name]
        value = os.environ.get(self.env_name(option_name))
        if value is None and fallback_bare:
            value = os.environ.get(option_name)
        return value

    def timeouts(self) -> Timeouts:
        """The client's retry budget (see the module docs); RedisParameterError if a value
        is not a positive integer in range."""
        conn = self._positive_int("SR_CONN_TIMEOUT", 100, _INT_MAX_SECONDS)
        conn_ms = self._positive_int("SR_CONN_INTERVAL", 1000, 2**31 - 1)
        cmd = self._positive_int("SR_CMD_TIMEOUT", 100, _INT_MAX_SECONDS)
        cmd_ms = self._positive_int("SR_CMD_INTERVAL", 1000, 2**31 - 1)
        threads = self._positive_int("SR_THREAD_COUNT", 4, 1024)
        model_ms = self._positive_int("SR_MODEL_TIMEOUT", 3_600_000, 2**31 - 1)
        spin_us = self._positive_int("INSITU_REPLY_SPIN_US", 0, 10_000_000, minimum=0)
        return Timeouts(
            conn, conn_ms / 1000, cmd, cmd_ms / 1000, threads, model_ms / 1000, spin_us / 1e6
        )

    def _positive_int(self, name: str, default: int, maximum: int, *, minimum: int = 1) -> int:
        if name in self._ints:
            value = self._ints[name]
        else:
            raw = self.lookup_string(name, fallback_bare=True)
            value = default if raw is None or not raw.strip() else _parse_int(name, raw)
        if not minimum <= value <= maximum:
            least = "greater than 0" if minimum == 1 else f"at least {minimum}"
            raise RedisParameterError(f"{name} must be {least} and at most {maximum}")
        return value

    def _checked(self, option_name: object) -> str:
        # As in SmartRedis 0.6.1, an object not made by a factory is refused before its
        # arguments are looked at (RedisRuntimeError even for a wrong type).
        if not self._is_created_via_factory:
            raise RedisRuntimeError(_NOT_FACTORY)
        name = check_type("option_name", option_name, str, "a str")
        if not name:
            raise RedisKeyError(name, "Invalid empty environment variable name detected")
        return name

    def _require(self, name: str) -> str:
        value = os.environ.get(self.env_name(name))
        if value is None:
            raise RedisKeyError(
                name, f"configuration option {name!r} is not set ({self.env_name(name)})"
            )
        return value


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise RedisParameterError(f"{name} must be an integer, not {raw!r}") from None
