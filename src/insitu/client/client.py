"""``Client``: the SmartRedis 0.6 client, name for name, on an authenticated Valkey/Redis store.

Two constructor forms, dispatched as SmartRedis does::

    Client(config_options: ConfigOptions | None = None, logger_name: str = "Default")
    Client(cluster: bool, address: str | None = None, logger_name: str = "Default",
           *, password: str | None = None)

The first reads ``SSDB[_<id>]``, ``SR_DB_TYPE[_<id>]`` and ``SSDB_PASSWORD[_<id>]`` through
``config_options`` (default: ``ConfigOptions.create_from_environment("")``). The second
connects to ``address`` (default ``$SSDB``) with the topology given by ``cluster``;
``password`` is an insitu addition. Without a password from the arguments or the
environment, the password the Experiment in this process registered for the address is
used, so a driver needs only ``orc.get_address()[0]``. See :mod:`insitu.client.connect`.
As in SmartRedis, an ``address`` given to the second form becomes ``$SSDB`` of this process
(unless ``password`` is given: insitu's own private connections leave the environment alone).

Key prefixes come from ``SSKEYOUT``/``SSKEYIN`` (never suffixed; see
:mod:`insitu.wire.keys`). A Client is a context manager; :meth:`close` releases its
connections and later calls raise RedisInvalidUseError.
"""

from __future__ import annotations

import os
from typing import overload

from insitu._checks import check_bool, check_type
from insitu.client._admin_ops import AdminOps
from insitu.client._dataset_ops import DatasetOps
from insitu.client._run_ops import RunOps
from insitu.client._tensor_ops import TensorOps
from insitu.client.config_options import ConfigOptions
from insitu.client.connect import ConnectionSettings, open_transport, resolve_settings
from insitu.client.logging import configure_logging
from insitu.errors import ParameterTypeError
from insitu.wire.env import parse_key_prefix_env
from insitu.wire.keys import KeyPrefixes, Kind

_ADDRESS_KWARGS = ("cluster", "address", "logger_name", "password", "tls_ca")


class Client(TensorOps, DatasetOps, AdminOps, RunOps):
    """A connection to one store (standalone or cluster) with SmartRedis's operations."""

    @overload
    def __init__(
        self, config_options: ConfigOptions | None = None, logger_name: str = "Default"
    ) -> None: ...

    @overload
    def __init__(
        self,
        cluster: bool,
        address: str | None = None,
        logger_name: str = "Default",
        *,
        password: str | None = None,
        tls_ca: str | None = None,
    ) -> None: ...

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._transport = None
        if args and isinstance(args[0], bool):
            for name in kwargs:
                if name not in _ADDRESS_KWARGS:
                    raise ParameterTypeError(
                        f"__init__() got an unexpected keyword argument '{name}'"
                    )
            settings, logger_name = self.__address_construction(*args, **kwargs)
        elif args and not (args[0] is None or isinstance(args[0], ConfigOptions)):
            raise ParameterTypeError(f"Invalid type for argument 0: {type(args[0])}")
        elif not args and ("address" in kwargs or "cluster" in kwargs):
            settings, logger_name = self.__address_construction(**kwargs)
        else:
            settings, logger_name = self.__standard_construction(*args, **kwargs)
        configure_logging()
        key_out, keys_in = parse_key_prefix_env(os.environ)
        self._prefixes = KeyPrefixes.from_entities(key_out, keys_in)
        self._log_context = logger_name
        self._settings = settings
        self._transport = open_transport(settings)

    # SmartRedis names its two construction paths ``__address_construction`` and
    # ``__standard_construction`` (mangled to ``_Client__...``); code that wraps or counts
    # them (SmartRedis's own constructor tests do) finds them here under the same names.
    def __address_construction(
        self, *args: object, **kwargs: object
    ) -> tuple[ConnectionSettings, str]:
        return _address_form(*args, **kwargs)

    @staticmethod
    def __standard_construction(*args: object, **kwargs: object) -> tuple[ConnectionSettings, str]:
        return _standard_form(*args, **kwargs)

    def __str__(self) -> str:
        state = "closed" if self._transport is None else "connected"
        return f"Client({self._log_context!r}, {state} to the {self._settings.describe()})"

    def __repr__(self) -> str:
        # SmartRedis's str() is a description and its repr() the object's identity; code
        # that tells them apart keeps working.
        kind = type(self)
        name = getattr(self, "_log_context", None)  # None if the constructor failed early
        return f"<{kind.__module__}.{kind.__qualname__} {name!r} at {id(self):#x}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release every connection (idempotent)."""
        transport, self._transport = self._transport, None
        self._close_channel()
        self._close_run_channels()
        self._close_read_channel()
        if transport is not None:
            transport.close()

    # ----------------------------------------------------------------- key prefixing
    def set_data_source(self, source_id: str) -> None:
        """Read from the keys of ``source_id``, which must be listed in ``SSKEYIN``
        (RedisRuntimeError otherwise)."""
        check_type("source_id", source_id, str, "a str")
        self._prefixes = self._prefixes.with_data_source(source_id)

    def use_tensor_ensemble_prefix(self, use_prefix: bool) -> None:
        """Prefix tensor keys (default on) when ``SSKEYOUT``/``SSKEYIN`` are set."""
        self._use(Kind.TENSOR, use_prefix)

    def use_dataset_ensemble_prefix(self, use_prefix: bool) -> None:
        """Prefix dataset keys (default on) when ``SSKEYOUT``/``SSKEYIN`` are set."""
        self._use(Kind.DATASET, use_prefix)

    def use_list_ensemble_prefix(self, use_prefix: bool) -> None:
        """Prefix aggregation-list keys (default on) when ``SSKEYOUT``/``SSKEYIN`` are set."""
        self._use(Kind.LIST, use_prefix)

    def use_model_ensemble_prefix(self, use_prefix: bool) -> None:
        """Prefix model and script keys (default off) when ``SSKEYOUT``/``SSKEYIN`` are set."""
        self._use(Kind.MODEL, use_prefix)

    def _use(self, kind: Kind, use_prefix: object) -> None:
        self._prefixes = self._prefixes.using(kind, check_bool("use_prefix", use_prefix))


def _standard_form(
    config_options: object = None, logger_name: object = "Default"
) -> tuple[ConnectionSettings, str]:
    options = (
        ConfigOptions.create_from_environment("")
        if config_options is None
        else check_type("config_options", config_options, ConfigOptions, "a ConfigOptions")
    )
    name = check_type("logger_name", logger_name, str, "a str")
    if not options.is_factory_object:
        options.get_string_option("SSDB")  # raises SmartRedis's "not a factory" error
    return resolve_settings(options), name


def _address_form(
    cluster: object,
    address: object = None,
    logger_name: object = "Default",
    *,
    password: object = None,
    tls_ca: object = None,
) -> tuple[ConnectionSettings, str]:
    clustered = check_bool("cluster", cluster)
    where = None if address is None else check_type("address", address, str, "a str")
    name = check_type("logger_name", logger_name, str, "a str")
    secret = None if password is None else check_type("password", password, str, "a str")
    ca = None if tls_ca is None else check_type("tls_ca", tls_ca, str, "a str")
    if where and password is None:
        # As SmartRedis does: an explicit address becomes $SSDB of this process, so later
        # clients (and launched children) built from the environment reach the same store.
        # A call with password= is insitu's own form (the driver, rules sessions): a private
        # connection that leaves the environment alone.
        os.environ["SSDB"] = where
    options = ConfigOptions.create_from_environment("")
    settings = resolve_settings(
        options, address=where, cluster=clustered, password=secret, tls_ca=ca
    )
    return settings, name
