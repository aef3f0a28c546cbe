"""Model: one program of an experiment, with SmartSim 0.8's ``Model`` API.

Differences from SmartSim: ``params_as_args`` are checked against ``params`` and turned into
executable arguments when the Model is created (SmartSim only does so for ensemble
members, so a standalone Model silently ignored them); :meth:`Model.params_to_args` adds
each parameter once however often it is called; a value such as ``"a b"`` stays one
argument.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from insitu import _checks as tc
from insitu.entities.attached_files import EntityFiles
from insitu.entities.colocation import (
    DEFAULT_PORT,
    DEFAULT_UNIX_SOCKET,
    ColocateDbDeprecationWarning,
    ColocationSpec,
    tcp_spec,
    uds_spec,
)
from insitu.entities.colocation_view import smartsim_settings
from insitu.entities.db_objects import DBObject, check_unique
from insitu.entities.ml_api import MLObjectsAPI
from insitu.errors import (
    AlreadyColocatedError,
    EntityExistsError,
    InvalidArgumentError,
    UnsupportedOptionError,
)
from insitu.hosts import available_cpus
from insitu.settings.batch_settings import BatchSettings
from insitu.settings.run_settings import RunSettings

CPUPinning = Iterable[int | Iterable[int]]
"""``custom_pinning``: CPU ids and iterables of ids, e.g. ``[0, range(2, 4)]``."""


class Named(Protocol):
    """Anything with a name (an entity that data can come from)."""

    @property
    def name(self) -> str: ...


def check_entity_name(name: object) -> str:
    """An entity name: a non-empty ``str`` usable as one directory name."""
    text = tc.check_str("name", name)
    if os.sep in text or text in {".", ".."} or "\0" in text:
        raise InvalidArgumentError(f"entity name {text!r} cannot be a directory name")
    return text


def entity_path(path: object, name: str) -> str:
    """Absolute directory of an entity: ``path`` if given, else the current directory."""
    if path is None:
        return os.getcwd()
    if not isinstance(path, str | os.PathLike):
        raise tc.type_error(f"path of {name}", path, "a str or os.PathLike")
    return os.path.abspath(os.fspath(path))


def parse_params(params: object) -> dict[str, str]:
    """Model parameters with values as ``str`` (SmartSim 0.8 stringifies them too)."""
    if params is None:
        return {}
    mapping = tc.check_type("params", params, Mapping, "a dict")  # type: ignore[type-abstract]
    out: dict[str, str] = {}
    for key, value in mapping.items():
        name = tc.check_str("a params key", key)
        out[name] = str(tc.check_scalar(f"params[{name!r}]", value))
    return out


def param_to_args(name: str, value: str) -> list[str]:
    """Command-line form of one parameter (SmartSim's ``cat_arg_and_value`` rules).

    ``--x`` → ``--x=v``; ``-x`` → ``-x v``; one letter ``x`` → ``-x v``; ``name`` →
    ``--name=v``.
    """
    if name.startswith("--"):
        return [f"{name}={value}"]
    if name.startswith("-"):
        return [name, value]
    if len(name) == 1:
        return [f"-{name}", value]
    return [f"--{name}={value}"]


def check_params_as_args(
    params_as_args: object, params: Mapping[str, object], owner: str
) -> list[str]:
    """``params_as_args`` as a list of names that all occur in ``params``."""
    if params_as_args is None:
        return []
    names = tc.check_str_list("params_as_args", params_as_args)
    missing = [n for n in names if n not in params]
    if missing:
        raise InvalidArgumentError(
            f"params_as_args of {owner} name {missing}, which are not in its params"
        )
    return names


class Model(MLObjectsAPI):
    """One program (simulation, analysis, ML job) and the settings to run it.

    Contract: ``params`` values are ``str``; ``path`` is absolute; two Models are equal
    when their names are (SmartSim semantics), so a name is unique within an experiment.
    ``run_settings`` is used as given, not copied (later changes to it apply); the
    ``params_as_args`` arguments are appended to it. Models, scripts and functions added
    with ``add_ml_model``/``add_script``/``add_function`` are loaded into its store before
    it starts (see :mod:`insitu.entities.ml_api`).
    """

    def __init__(
        self,
        name: str,
        params: Mapping[str, str | int | float] | None,
        run_settings: RunSettings,
        path: str | os.PathLike[str] | None = None,
        params_as_args: Sequence[str] | None = None,
        batch_settings: BatchSettings | None = None,
    ) -> None:
        self.name = check_entity_name(name)
        self.params = parse_params(params)
        self.run_settings = tc.check_type("run_settings", run_settings, RunSettings)
        if batch_settings is not None:
            tc.check_type("batch_settings", batch_settings, BatchSettings)
        self.batch_settings = batch_settings
        self.path = entity_path(path, self.name)
        self.params_as_args = check_params_as_args(params_as_args, self.params, self.name)
        self.incoming_entities: list[Named] = []
        self.files: EntityFiles | None = None
        self._key_prefixing_enabled = False
        self._colocation: ColocationSpec | None = None
        self._args_added: set[str] = set()
        self._db_objects: list[DBObject] = []
        self.params_to_args()

    @property
    def type(self) -> str:
        """The entity type shown in summaries."""
        return "Model"

    def _attach(self, obj: DBObject) -> None:
        check_unique(self._db_objects, obj, f"model {self.name}")
        self._db_objects.append(obj)

    def _objects(self) -> tuple[DBObject, ...]:
        return tuple(self._db_objects)

    @property
    def colocated(self) -> bool:
        """True once a store is colocated with this Model (``colocate_db_tcp``/``_uds``)."""
        return self._colocation is not None

    @property
    def colocation(self) -> ColocationSpec | None:
        """The colocated store's settings, or ``None`` (an insitu addition)."""
        return self._colocation

    def colocate_db(self, *args: object, **kwargs: object) -> None:
        """Deprecated alias of :meth:`colocate_db_tcp` (warns, as SmartSim 0.8 does)."""
        warnings.warn(
            "`colocate_db` has been deprecated and will be removed in a future release. "
            "Please use `colocate_db_tcp` or `colocate_db_uds`.",
            ColocateDbDeprecationWarning,
            stacklevel=2,
        )
        self.colocate_db_tcp(*args, **kwargs)  # type: ignore[arg-type]

    def colocate_db_tcp(
        self,
        port: int = DEFAULT_PORT,
        ifname: str | list[str] = "lo",
        db_cpus: int = 1,
        custom_pinning: CPUPinning | None = None,
        debug: bool = False,
        db_identifier: str = "",
        **kwargs: object,
    ) -> None:
        """Run a single-shard store beside this Model, reached over TCP on ``port``.

        When the Experiment starts this Model, the store starts first on this host, pinned
        to ``custom_pinning`` or to the first ``db_cpus`` CPUs, and is ready before the
        application starts; the application finds it through ``SSDB[_<db_identifier>]``
        (``127.0.0.1:<port>``), ``SR_DB_TYPE[...]`` and ``SSDB_PASSWORD[...]``. The store
        is stopped when the application ends, fails or is stopped. It listens on loopback
        and on the other interfaces in ``ifname``. ``kwargs`` are server options
        (``maxclients=100000``) or inference-thread settings (``threads_per_queue``,
        ``inter_op_threads``, ``intra_op_threads``); ``debug=True`` sets the server's
        ``loglevel verbose``. Left at its default, ``port`` moves to the next free port
        when 6379 is taken. See :mod:`insitu.entities.colocation` for the rules.

        Raises :class:`~insitu.errors.AlreadyColocatedError` if the Model is already
        colocated, :class:`~insitu.errors.CPUPinningError` for CPUs this host cannot give,
        ``TypeError``/``ValueError`` subclasses for malformed arguments.
        """
        self._check_colocatable()
        self._colocate(
            tcp_spec(
                port,
                ifname,
                db_cpus,
                custom_pinning,
                debug,
                db_identifier,
                kwargs,
                available_cpus(),
            )
        )

    def colocate_db_uds(
        self,
        unix_socket: str = DEFAULT_UNIX_SOCKET,
        socket_permissions: int = 755,
        db_cpus: int = 1,
        custom_pinning: CPUPinning | None = None,
        debug: bool = False,
        db_identifier: str = "",
        **kwargs: object,
    ) -> None:
        """Run a single-shard store beside this Model, reached over the Unix socket
        ``unix_socket`` (created with ``socket_permissions``, octal digits as in ``755``);
        the application finds it as ``SSDB[_<db_identifier>]=unix://<path>``. Left at its
        default, the socket moves to a free name when ``/tmp/redis.socket`` is taken.
        Everything else is as in :meth:`colocate_db_tcp`; ``ifname`` is refused (a socket
        store has no network interface).
        """
        self._check_colocatable()
        self._colocate(
            uds_spec(
                unix_socket,
                socket_permissions,
                db_cpus,
                custom_pinning,
                debug,
                db_identifier,
                kwargs,
                available_cpus(),
            )
        )

    def _check_colocatable(self) -> None:
        if self._colocation is not None:
            raise AlreadyColocatedError(self.name)
        if self.run_settings.mpmd:
            raise UnsupportedOptionError(
                "colocate_db", f"model {self.name}", "colocated models cannot be MPMD workloads"
            )

    def _set_colocation(self, spec: ColocationSpec) -> None:
        """Colocate with an already validated ``spec`` (used by Ensemble.colocate_db_*)."""
        self._check_colocatable()
        self._colocate(spec)

    def _colocate(self, spec: ColocationSpec) -> None:
        self._colocation = spec
        # SmartSim code reads the colocation from the run settings; mirror it there in
        # SmartSim's layout (read-only in effect: the launch uses ``self._colocation``).
        self.run_settings.colocated_db_settings = smartsim_settings(
            spec, available_cpus(), self._db_objects
        )

    def set_path(self, path: str | os.PathLike[str]) -> None:
        """Move the Model's directory (absolute, or relative to the current directory)."""
        self.path = entity_path(path, self.name)

    def register_incoming_entity(self, incoming_entity: Named) -> None:
        """Allow this Model to read keys written by ``incoming_entity`` (by its prefix).

        Raises ``EntityExistsError`` if an entity of that name is already registered.
        """
        name = tc.check_str("incoming_entity.name", getattr(incoming_entity, "name", None))
        if any(entity.name == name for entity in self.incoming_entities):
            raise EntityExistsError(f"'{name}' has already been registered as an incoming entity")
        self.incoming_entities.append(incoming_entity)

    def enable_key_prefixing(self) -> None:
        """Prefix the keys this Model writes with its name."""
        self._key_prefixing_enabled = True

    def disable_key_prefixing(self) -> None:
        """Write keys without a prefix."""
        self._key_prefixing_enabled = False

    def query_key_prefixing(self) -> bool:
        """Whether keys are prefixed with this Model's name."""
        return self._key_prefixing_enabled

    def attach_generator_files(
        self,
        to_copy: str | list[str] | None = None,
        to_symlink: str | list[str] | None = None,
        to_configure: str | list[str] | None = None,
    ) -> None:
        """Files to copy, symlink or configure into this Model's directory on generate.

        Each argument is a path or a list of paths; they must exist now
        (``AttachedFileNotFoundError`` names the first missing one). A new call replaces
        the files attached before.
        """
        self.files = EntityFiles.attach(to_copy, to_symlink, to_configure)

    @property
    def attached_files_table(self) -> str:
        """The attached files as a plain-text table."""
        if not self.files:
            return "No file attached to this model."
        return self.files.table()

    def print_attached_files(self) -> None:
        """Print :attr:`attached_files_table` to standard output."""
        print(self.attached_files_table)

    def params_to_args(self) -> None:
        """Append each ``params_as_args`` parameter to the executable arguments, once."""
        for name in self.params_as_args:
            if name not in self.params:
                raise InvalidArgumentError(
                    f"Tried to convert {name} to a command line argument for Model "
                    f"{self.name}, but its value was not found in the model params"
                )
            if name not in self._args_added:
                self.run_settings.add_exe_args(param_to_args(name, self.params[name]))
                self._args_added.add(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return f"Name: {self.name}\nType: {self.type}\n{self.run_settings}\n"
