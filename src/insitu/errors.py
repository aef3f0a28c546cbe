"""The one exception tree of insitu.

Every error insitu raises on purpose derives from :class:`InsituError`. Leaves carry
structured fields (``command``, ``stderr``, ``port``, ``key``, ``transient``) so that callers
can react without parsing messages. Leaves that correspond to a Python built-in (``TypeError``,
``ValueError``, ``FileExistsError``) also derive from it, so code written against SmartSim,
which raises the built-ins in those places, keeps catching them.

::

    InsituError                              (alias: SmartSimError)
    ├── ConfigurationError                   (alias: SSConfigError)
    │   ├── UnsupportedOptionError           (alias: SSUnsupportedError)
    │   ├── UnknownLauncherError
    │   ├── MissingDependencyError
    │   ├── InvalidArgumentError             (+ ValueError)
    │   │   ├── UserStrategyError            (perm strategy problems)
    │   │   ├── InvalidDBNodesError
    │   │   ├── InvalidServerOptionError     (key)
    │   │   └── UnknownInterfaceError        (interface, known)
    │   ├── ParameterTypeError               (+ TypeError)
    │   ├── ExecutableNotFoundError          (+ FileNotFoundError)
    │   ├── ParameterWriterError             (tag substitution / attached files)
    │   └── ConnectionEnvError               (variable)
    ├── EntityExistsError                    (duplicate entity name)
    │   └── DBIDConflictError                (alias: SSDBIDConflictError)
    ├── EntityDirExistsError                 (+ FileExistsError)
    ├── EntityNotLaunchedError
    ├── AlreadyRunningError
    ├── LauncherError
    │   ├── ShellError                       (command, stderr)
    │   └── AllocationError
    ├── StoreError
    │   ├── PortInUseError                   (port)
    │   ├── SocketInUseError                 (path)
    │   ├── ShardStartError                  (shard, log_tail)
    │   ├── ClusterSetupError
    │   └── StoreNotActiveError
    └── InternalError                        (alias: SSInternalError)
"""

from __future__ import annotations

from collections.abc import Sequence


class InsituError(Exception):
    """Root of every error insitu raises on purpose.

    ``transient`` tells whether retrying the same call later may succeed.
    """

    transient: bool = False


class ConfigurationError(InsituError):
    """A setting, argument or environment is invalid or cannot be honoured."""


class UnsupportedOptionError(ConfigurationError):
    """An option that the chosen launcher or run command cannot honour.

    Raised before anything starts: insitu never warns and ignores an option.
    """

    def __init__(self, option: str, backend: str, detail: str = "") -> None:
        self.option = option
        self.backend = backend
        msg = f"option {option!r} is not supported by {backend}"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class UnknownLauncherError(ConfigurationError):
    """A launcher name that insitu does not know or cannot use here."""

    def __init__(self, name: str, known: Sequence[str], detail: str = "") -> None:
        self.name = name
        self.known = tuple(known)
        msg = f"launcher {name!r} is not available; choose one of {', '.join(self.known)}"
        super().__init__(f"{msg} ({detail})" if detail else msg)


class MissingDependencyError(ConfigurationError):
    """An optional dependency (package or binary) is missing; the message names what to install."""

    def __init__(self, what: str, install_hint: str) -> None:
        self.what = what
        self.install_hint = install_hint
        super().__init__(f"{what} not found: {install_hint}")


class InvalidArgumentError(ConfigurationError, ValueError):
    """An argument has the right type but a value insitu cannot use."""


class UserStrategyError(InvalidArgumentError):
    """A permutation strategy is unknown, failed, or returned something unusable."""


class UnknownStrategyError(UserStrategyError, UnsupportedOptionError):
    """``perm_strat`` names no known strategy and is not callable.

    Also an ``UnsupportedOptionError`` because SmartSim raises ``SSUnsupportedError`` here.
    """

    def __init__(self, strategy: object, known: Sequence[str]) -> None:
        self.known = tuple(known)
        UnsupportedOptionError.__init__(
            self,
            f"perm_strat={strategy!r}",
            "Ensemble",
            f"choose one of {', '.join(self.known)} or pass a callable",
        )


class InvalidDBNodesError(InvalidArgumentError):
    """``db_nodes`` is not 1 or at least 3."""


class InvalidServerOptionError(InvalidArgumentError):
    """A store server option (key or value) is malformed, reserved or rejected; ``key`` names it."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        super().__init__(f"server option {key!r}: {detail}")


class UnknownInterfaceError(InvalidArgumentError):
    """A network interface name that this machine does not have."""

    def __init__(self, interface: str, known: Sequence[str]) -> None:
        self.interface = interface
        self.known = tuple(known)
        super().__init__(
            f"network interface {interface!r} not found on this host; "
            f"known interfaces: {', '.join(self.known) or '(none)'}"
        )


class ParameterTypeError(ConfigurationError, TypeError):
    """An argument has the wrong type (e.g. a model parameter that is not str/int/float)."""


class ExecutableNotFoundError(ConfigurationError, FileNotFoundError):
    """The executable of a RunSettings cannot be found or is not executable."""

    def __init__(self, exe: str) -> None:
        self.exe = exe
        super().__init__(f"could not locate executable {exe!r} (not a file on PATH or on disk)")


class NotExecutableError(ExecutableNotFoundError):
    """The executable exists on disk but the current user may not execute it."""

    def __init__(self, exe: str) -> None:
        super().__init__(exe)
        self.args = (f"{exe!r} exists but is not executable (missing execute permission?)",)


class AttachedFileNotFoundError(ConfigurationError, FileNotFoundError):
    """A file or directory given to ``attach_generator_files`` does not exist."""

    def __init__(self, path: str, role: str) -> None:
        self.path = path
        self.role = role
        super().__init__(f"{role} file or directory {path!r} not found")


class ParameterWriterError(ConfigurationError):
    """A file to configure could not be read, written or substituted."""


class ConnectionEnvError(ConfigurationError):
    """A store-connection environment variable is missing or malformed; ``variable`` names it."""

    def __init__(self, variable: str, detail: str) -> None:
        self.variable = variable
        super().__init__(f"environment variable {variable}: {detail}")


class EntityExistsError(InsituError):
    """An entity of that name already exists in the experiment or ensemble."""


class DBIDConflictError(EntityExistsError):
    """Two orchestrators in one experiment share a ``db_identifier``."""


class EntityDirExistsError(InsituError, FileExistsError):
    """``generate`` would write into an existing directory and ``overwrite`` is False."""


class EntityNotLaunchedError(InsituError):
    """A query about an entity that this experiment never started."""


class AlreadyRunningError(InsituError):
    """An entity is started again while an earlier run of it is still active."""


class LauncherError(InsituError):
    """A launcher failed to submit, query or cancel a job."""


class ShellError(LauncherError):
    """An external command failed; carries the command line and its stderr."""

    def __init__(self, message: str, command: Sequence[str] = (), stderr: str = "") -> None:
        self.command = tuple(command)
        self.stderr = stderr
        detail = f"\ncommand: {' '.join(self.command)}" if self.command else ""
        tail = f"\nstderr: {stderr.strip()}" if stderr.strip() else ""
        super().__init__(f"{message}{detail}{tail}")


class AllocationError(LauncherError):
    """An allocation could not be obtained or is not usable."""


class StoreError(InsituError):
    """The feature store (Orchestrator) could not be started, reached or configured."""


class PortInUseError(StoreError):
    """A port the store needs is already taken by another process."""

    def __init__(self, port: int, host: str) -> None:
        self.port = port
        self.host = host
        super().__init__(
            f"port {port} on {host} is already in use; choose another port for the orchestrator"
        )


class SocketInUseError(StoreError):
    """A Unix socket the store needs is already served by another process."""

    def __init__(self, path: object) -> None:
        self.path = str(path)
        super().__init__(
            f"unix socket {self.path} is already in use by a running server; choose another path"
        )


class ShardStartError(StoreError):
    """A shard exited or never became ready during start-up; ``log_tail`` holds its last lines."""

    def __init__(self, shard: str, reason: str, log_tail: str = "") -> None:
        self.shard = shard
        self.log_tail = log_tail
        tail = f"\n--- last lines of {shard}'s log ---\n{log_tail.rstrip()}" if log_tail else ""
        super().__init__(f"shard {shard} failed to start: {reason}{tail}")


class ClusterSetupError(StoreError):
    """Slots could not be assigned or the cluster never reached ``cluster_state:ok``."""


class StoreNotActiveError(StoreError):
    """An operation needs a running store, and this one is not running."""


class InternalError(InsituError):
    """A bug in insitu: an invariant did not hold."""


# SmartSim-named aliases, so that `from smartsim.error import X` ports by changing the import.
SmartSimError = InsituError
SSConfigError = ConfigurationError
SSUnsupportedError = UnsupportedOptionError
SSInternalError = InternalError
SSDBIDConflictError = DBIDConflictError

__all__ = [
    "AllocationError",
    "AlreadyRunningError",
    "AttachedFileNotFoundError",
    "ClusterSetupError",
    "ConfigurationError",
    "ConnectionEnvError",
    "DBIDConflictError",
    "EntityDirExistsError",
    "EntityExistsError",
    "ExecutableNotFoundError",
    "EntityNotLaunchedError",
    "InsituError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidDBNodesError",
    "InvalidServerOptionError",
    "LauncherError",
    "MissingDependencyError",
    "NotExecutableError",
    "ParameterTypeError",
    "ParameterWriterError",
    "PortInUseError",
    "SSConfigError",
    "SSDBIDConflictError",
    "SSInternalError",
    "SSUnsupportedError",
    "ShardStartError",
    "ShellError",
    "SocketInUseError",
    "SmartSimError",
    "StoreError",
    "StoreNotActiveError",
    "UnknownInterfaceError",
    "UnknownLauncherError",
    "UnknownStrategyError",
    "UnsupportedOptionError",
    "UserStrategyError",
]
