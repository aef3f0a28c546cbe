"""State and helpers shared by the Client's operation groups (tensors, datasets, lists,
admin): the transport, the key prefixes, polling and argument checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from insitu._checks import check_int, check_type
from insitu.client.logging import LogContext
from insitu.client.transport import Transport
from insitu.connection.resp import encode_text
from insitu.errors import RedisInvalidUseError, RedisParameterError, UnknownNodeError
from insitu.wire import keys
from insitu.wire.addresses import Address, parse_address

if TYPE_CHECKING:
    from insitu.client._local_runs import LocalRunner


class ClientCore(LogContext):
    """Attributes every operation group relies on (set by ``Client.__init__``)."""

    _transport: Transport | None
    _prefixes: keys.KeyPrefixes
    _local_runner: LocalRunner | None = None  # the in-process path's sessions, once used

    @property
    def _store(self) -> Transport:
        if self._transport is None:
            raise RedisInvalidUseError("the client is closed")
        return self._transport

    def _tensor_key(self, name: object, *, read: bool, arg: str = "name") -> str:
        return keys.tensor_key(self._prefixes, _name(arg, name), read=read)

    def _dataset_key(self, name: object, *, read: bool, arg: str = "name") -> str:
        return keys.dataset_key(self._prefixes, _name(arg, name), read=read)

    def _list_key(self, name: object, *, read: bool, arg: str = "list_name") -> str:
        return keys.list_key(self._prefixes, _name(arg, name), read=read)

    @staticmethod
    def _shard_address(address: str) -> Address:
        """The shard address a SmartRedis admin call names. A whole comma-separated ``SSDB``
        (a cluster's) names its first entry, as SmartRedis reads it; text that is not an
        address raises UnknownNodeError (a RedisRuntimeError, SmartRedis's type)."""
        first = address.split(",", 1)[0].strip()
        try:
            return parse_address(first)
        except RedisParameterError as err:
            raise UnknownNodeError(f"{address!r} is not a valid database node address") from err

    @staticmethod
    def _poll(check: Callable[[], bool], poll_frequency_ms: object, num_tries: object) -> bool:
        """SmartRedis polling: up to ``num_tries`` checks, ``poll_frequency_ms`` apart."""
        interval = check_int("poll_frequency_ms", poll_frequency_ms, minimum=None)
        tries = check_int("num_tries", num_tries, minimum=None)
        if interval < 0:
            raise RedisParameterError(f"poll_frequency_ms must not be negative, got {interval}")
        for attempt in range(tries):
            if check():
                return True
            if attempt + 1 < tries:
                time.sleep(interval / 1000)
        return False


def _name(arg: str, value: object) -> str:
    """``value`` if it is a ``str`` that can be stored (TypeError, RedisParameterError)."""
    text = check_type(arg, value, str, "a str")
    encode_text(text, arg)
    return text
