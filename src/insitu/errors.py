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
    │   │   ├── UnknownLauncherError         (name, known)
    │   │   │   └── LauncherNotAvailableError (known, not usable yet)
    │   │   └── PreviewFormatError
    │   ├── MissingDependencyError
    │   │   └── TlsNotSupportedError         (binary: a server built without TLS)
    │   ├── InvalidArgumentError             (+ ValueError)
    │   │   ├── UserStrategyError            (perm strategy problems)
    │   │   ├── ExperimentPathError          (+ NotADirectoryError)
    │   │   ├── InvalidDBNodesError
    │   │   ├── InvalidServerOptionError     (key)
    │   │   ├── UnknownInterfaceError        (interface, known)
    │   │   └── CPUPinningError              (cpus, available)
    │   ├── ParameterTypeError               (+ TypeError)
    │   ├── ExecutableNotFoundError          (+ FileNotFoundError)
    │   ├── ParameterWriterError             (tag substitution / attached files)
    │   ├── ConnectionEnvError               (variable)
    │   ├── ColocationError                  (model)
    │   │   └── AlreadyColocatedError
    │   └── RuleSyntaxError                  (path, e.g. ``rules[2].when``)
    ├── EntityExistsError                    (duplicate entity name)
    │   └── DBIDConflictError                (alias: SSDBIDConflictError)
    ├── EntityDirExistsError                 (+ FileExistsError)
    ├── EntityNotLaunchedError               (+ ValueError)
    ├── CheckpointError                      (+ ValueError; path: a store checkpoint)
    │   └── CheckpointNotFoundError          (+ FileNotFoundError)
    ├── SSReservedKeywordError, SSDBFilesNotParseable (SmartSim's names)
    ├── AlreadyRunningError
    ├── LauncherError
    │   ├── ShellError                       (command, stderr)
    │   │   └── CommandTimeoutError          (timeout; transient)
    │   ├── LauncherUnsupportedFeature
    │   └── AllocationError
    ├── EnsembleError                        (a rules ensemble failed at run time)
    ├── RecordFormatError                    (+ ValueError; path, line: a launch record line)
    │   ├── RecordVersionError               (found: a record format this reader refuses)
    │   └── TelemetryFormatError             (a telemetry line, ``.insitu/telemetry.jsonl``)
    ├── NotAnExperimentError                 (+ FileNotFoundError; path: no launch record there)
    ├── ClientError                          (+ RuntimeError; the SmartRedis error names)
    │   ├── RedisConnectionError             (address; transient)
    │   │   └── TlsVerificationError         (the server's certificate was refused)
    │   │   └── RedisConnectionLostError     (+ RedisTimeoutError; a shard failed mid-run)
    │   │       └── StoreUnavailableError    (+ RedisDatabaseError; code; refused until timeout)
    │   │           ├── ClusterDownError     (CLUSTERDOWN, MASTERDOWN, TRYAGAIN: slot unserved)
    │   │           ├── StoreLoadingError    (LOADING: the shard is loading its data set)
    │   │           ├── StoreBusyError       (BUSY: the shard runs a long script)
    │   │           └── ReadOnlyStoreError   (READONLY: a replica, e.g. a demoted master)
    │   └── RedisReplyError                  (a data-plane operation failed)
    │       ├── RedisRuntimeError
    │       │   └── WireFormatError          (key; a stored value is not valid insitu data)
    │       ├── RedisKeyError                (key; nothing stored there)
    │       │   └── NoRunInfoError           (+ RedisRuntimeError; get_ai_info of no model)
    │       ├── RedisBadAllocError
    │       ├── RedisDatabaseError           (the server refused, e.g. out of memory)
    │       │   └── StoreOutOfMemoryError    (key, limit: over the shard's maxmemory)
    │       ├── PermissionDeniedError        (key: NOPERM, the ACL user may not do that)
    │       ├── RedisInternalError
    │       ├── RedisTimeoutError            (transient)
    │       │   └── ReplicationTimeoutError  (key: written, but too few replicas confirmed)
    │       ├── RedisInvalidUseError
    │       │   └── UnknownNodeError         (+ RedisRuntimeError)
    │       ├── RedisParameterError          (+ ValueError)
    │       │   ├── BatchingParameterError   (+ RedisRuntimeError)
    │       │   └── ValueTooLargeError       (key, size, limit)
    │       └── InferenceError               (key, reason, backend_message; a model/script run)
    │           ├── ModelLoadError           (corrupt model bytes, a script that won't compile)
    │           ├── InferenceInputError      (wrong number, dtype or shape of inputs/outputs)
    │           ├── ScriptFunctionError      (no such function in the script)
    │           ├── DeviceUnavailableError   (e.g. a GPU device where there is no GPU)
    │           ├── InferenceTimeoutError    (+ RedisTimeoutError; no reply in SR_MODEL_TIMEOUT)
    │           └── WorkerLostError          (workers died twice while holding the request)
    ├── StoreError
    │   ├── PortInUseError                   (port, host)
    │   ├── SocketInUseError                 (path)
    │   ├── ShardStartError                  (shard, log_tail)
    │   ├── ClusterSetupError
    │   ├── StoreNotActiveError
    │   └── DBObjectLoadError                (entity, object_name, store)
    └── InternalError                        (alias: SSInternalError)
        └── TrainingDataError                (insitu.ml: no training data within the trials)
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


class UnknownLauncherError(UnsupportedOptionError):
    """A launcher name that insitu does not know or cannot use here.

    An ``UnsupportedOptionError`` (``option`` ``"launcher"``), as SmartSim raises
    ``SSUnsupportedError`` for a launcher it does not support.
    """

    def __init__(self, name: str, known: Sequence[str], detail: str = "") -> None:
        self.name = name
        self.known = tuple(known)
        self.option = "launcher"
        self.backend = "insitu"
        msg = f"launcher {name!r} is not available; choose one of {', '.join(self.known)}"
        ConfigurationError.__init__(self, f"{msg} ({detail})" if detail else msg)


class LauncherNotAvailableError(UnknownLauncherError, UnsupportedOptionError):
    """A launcher SmartSim has (``slurm``, ``pbs`` …) that this version of insitu cannot drive.

    Also an ``UnsupportedOptionError`` (``option`` ``"launcher"``): SmartSim raises
    ``SSUnsupportedError`` for launchers it cannot use, and so does an Orchestrator here.
    """

    def __init__(self, name: str, known: Sequence[str], detail: str = "") -> None:
        self.name = name
        self.known = tuple(known)
        self.option = "launcher"
        self.backend = "this version of insitu"
        msg = f"launcher {name!r} is not available; choose one of {', '.join(self.known)}"
        ConfigurationError.__init__(self, f"{msg} ({detail})" if detail else msg)


class MissingDependencyError(ConfigurationError):
    """An optional dependency (package or binary) is missing; the message names what to install."""

    def __init__(self, what: str, install_hint: str) -> None:
        self.what = what
        self.install_hint = install_hint
        super().__init__(f"{what} not found: {install_hint}")


class TlsNotSupportedError(MissingDependencyError):
    """TLS was asked for and the store's server binary was built without it; ``binary``
    names the binary. The message says how to get a TLS-capable server."""

    def __init__(self, binary: str, install_hint: str) -> None:
        self.binary = binary
        super().__init__(f"a TLS-capable server ({binary} is built without TLS)", install_hint)


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


class InvalidDBNodesError(InvalidArgumentError, UnsupportedOptionError):
    """``db_nodes`` is not 1 or at least 3.

    Also an ``UnsupportedOptionError`` (``option`` ``"db_nodes"``): SmartSim raises
    ``SSUnsupportedError`` for ``db_nodes=2``, so code that catches it keeps working.
    """

    def __init__(self, message: str) -> None:
        self.option = "db_nodes"
        self.backend = "insitu"
        ConfigurationError.__init__(self, message)


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


class CPUPinningError(InvalidArgumentError):
    """CPUs asked for (``custom_pinning``, ``db_cpus``) that this host cannot give.

    ``cpus`` holds the CPUs (or CPU count) in question, ``available`` the CPUs this process
    may run on.
    """

    def __init__(self, message: str, cpus: Sequence[int] = (), available: Sequence[int] = ()):
        self.cpus = tuple(cpus)
        self.available = tuple(available)
        super().__init__(message)


class ParameterTypeError(ConfigurationError, TypeError):
    """An argument has the wrong type (e.g. a model parameter that is not str/int/float)."""


class ExecutableNotFoundError(ConfigurationError, FileNotFoundError):
    """The executable of a RunSettings cannot be found or is not executable."""

    def __init__(self, exe: str) -> None:
        self.exe = exe
        super().__init__(f"could not locate executable {exe!r} (not a file on PATH or on disk)")


class NotExecutableError(ExecutableNotFoundError, TypeError):
    """The executable exists on disk but the current user may not execute it.

    Also a ``TypeError``: SmartSim raises that for a file that is not executable.
    """

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


class RuleSyntaxError(ConfigurationError):
    """A rules (ensemble) file is malformed; ``path`` names the offending item (``rules[2].when``).

    Raised while loading, before anything is started.
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path or '<file>'}: {detail}")


class ColocationError(ConfigurationError):
    """A colocated store cannot be set up as asked for; ``model`` names the Model."""

    def __init__(self, model: str, detail: str) -> None:
        self.model = model
        super().__init__(f"colocated store of model {model!r}: {detail}")


class AlreadyColocatedError(ColocationError):
    """``colocate_db_*`` called on a Model that already has a colocated store."""

    def __init__(self, model: str) -> None:
        super().__init__(
            model,
            "the model is already colocated with a store; colocate each model once "
            "(create a new Model to change the colocated store's settings)",
        )


class EntityExistsError(InsituError):
    """An entity of that name already exists in the experiment or ensemble."""


class DBIDConflictError(EntityExistsError):
    """Two orchestrators in one experiment share a ``db_identifier``."""


class EntityDirExistsError(InsituError, FileExistsError):
    """``generate`` would write into an existing directory and ``overwrite`` is False."""


class EntityNotLaunchedError(InsituError, ValueError):
    """A query about an entity that this experiment never started (a ``ValueError``, as
    SmartSim raises)."""


class ExperimentPathError(InvalidArgumentError, NotADirectoryError):
    """An experiment path that is not an existing directory (a ``NotADirectoryError``, as
    SmartSim raises, and a ``ValueError``)."""


class SSReservedKeywordError(InsituError):
    """A reserved keyword was used where a user value was expected (SmartSim's name)."""


class SSDBFilesNotParseable(InsituError):  # noqa: N818 (SmartSim's name)
    """The files a store shard writes could not be read (SmartSim's name)."""


class PreviewFormatError(UnsupportedOptionError, InvalidArgumentError):
    """An output format ``Experiment.preview`` does not support (SmartSim's name; an
    ``SSUnsupportedError`` as there, and a ``ValueError``)."""

    def __init__(self, output_format: object) -> None:
        super().__init__(
            f"output_format={output_format!r}", "Experiment.preview", "only 'plain_text'"
        )


class CheckpointError(InsituError, ValueError):
    """A store checkpoint file that cannot be used: corrupt, of another format version, or
    describing a store that is no longer running (``path``)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"store checkpoint {path}: {reason}")


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No store checkpoint at that path (a ``FileNotFoundError``, as SmartSim raises)."""


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


class CommandTimeoutError(ShellError):
    """An external command did not finish within ``timeout`` seconds and was killed."""

    transient = True

    def __init__(
        self, message: str, command: Sequence[str] = (), stderr: str = "", timeout: float = 0.0
    ) -> None:
        self.timeout = timeout
        super().__init__(message, command, stderr)


class LauncherUnsupportedFeature(LauncherError):  # noqa: N818 (SmartSim's name)
    """The launcher lacks a feature the job asks for (SmartSim's name)."""


class AllocationError(LauncherError):
    """An allocation could not be obtained or is not usable."""


class EnsembleError(InsituError):
    """A rules ensemble could not carry out an action or was used wrongly while running."""


class RecordFormatError(InsituError, ValueError):
    """A launch record (``<exp_path>/.insitu/events.jsonl``) holds a line that is not valid.

    ``path`` names the file and ``line`` the 1-based line number when known (``""`` and
    ``None`` when a single line was parsed on its own); ``detail`` says what is wrong.
    """

    def __init__(self, detail: str, path: str = "", line: int | None = None) -> None:
        self.detail = detail
        self.path = path
        self.line = line
        where = f"{path or '<record>'}:{line}: " if line is not None else ""
        super().__init__(f"{where}{detail}" if where else f"launch record: {detail}")


class RecordVersionError(RecordFormatError):
    """A launch record written in a format this reader does not know (a later major
    version, or not an insitu record at all); ``found`` is the format string read."""

    def __init__(self, found: str, supported: str, path: str = "", line: int | None = None) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"record format {found!r} is not supported (this insitu reads {supported})",
            path,
            line,
        )


class TelemetryFormatError(RecordFormatError):
    """A telemetry file (``<exp_path>/.insitu/telemetry.jsonl``) holds a line that is not
    valid, or one of a format this reader refuses; ``path``/``line`` as for records."""

    def __init__(self, detail: str, path: str = "", line: int | None = None) -> None:
        super().__init__(detail, path, line)
        where = f"{path or '<telemetry>'}:{line}: " if line is not None else "telemetry: "
        self.args = (f"{where}{detail}",)


class NotAnExperimentError(InsituError, FileNotFoundError):
    """``path`` is not an experiment directory with a launch record (it does not exist, or
    nothing was ever started there); ``detail`` says which."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class ClientError(InsituError, RuntimeError):
    """Root of the data-plane client's errors (the SmartRedis error names derive from it).

    A ``RuntimeError`` as in SmartRedis, so code catching ``RuntimeError`` keeps working.
    """


class RedisConnectionError(ClientError):
    """The store could not be reached (dead or wrong address, bad password, no ``SSDB``).

    ``address`` names the address tried (may be empty). Raised by the ``Client``
    constructor within ``SR_CONN_TIMEOUT``; retrying later may succeed.
    """

    transient = True

    def __init__(self, message: str = "", address: str = "") -> None:
        self.address = address
        super().__init__(message or f"could not connect to the store at {address or '?'}")


class TlsVerificationError(RedisConnectionError):
    """A TLS store's certificate did not verify against the CA the client trusts (a
    wrong or stale CA file, or a server that is not the store). Not transient: retrying
    cannot fix it."""

    transient = False


class RedisReplyError(ClientError):
    """A data-plane operation failed (SmartRedis's base class for operation errors)."""


class RedisRuntimeError(RedisReplyError):
    """An operation cannot be carried out on what is stored (wrong kind, bad state)."""


class WireFormatError(RedisRuntimeError):
    """A stored value is not a valid insitu tensor/dataset; ``key`` names where it was read."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        self.detail = detail
        super().__init__(f"value at key {key!r} is not valid insitu data: {detail}")


class RedisKeyError(RedisReplyError):
    """Nothing (or no such field) is stored under ``key``."""

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        super().__init__(detail or f"no data stored under key {key!r}")


class RedisBadAllocError(RedisReplyError):
    """Memory for a value could not be allocated."""


class RedisDatabaseError(RedisReplyError):
    """The store refused an operation (e.g. out of memory, read-only, cluster down)."""


class RedisInternalError(RedisReplyError):
    """A bug in insitu's client, or a protocol violation by the server."""


class RedisTimeoutError(RedisReplyError):
    """An operation did not complete within ``SR_CMD_TIMEOUT``."""

    transient = True


class ReplicationTimeoutError(RedisTimeoutError):
    """A write was applied by its master, but fewer replicas than asked for
    (``INSITU_WAIT_REPLICAS``) confirmed it in time: a failover may lose it. ``key``,
    ``confirmed`` and ``requested`` say which write and how many replicas."""

    def __init__(self, message: str, key: str = "", confirmed: int = 0, requested: int = 0):
        self.key = key
        self.confirmed = confirmed
        self.requested = requested
        super().__init__(message)


class RedisConnectionLostError(RedisConnectionError, RedisTimeoutError):
    """A shard stopped answering mid-run; raised once ``SR_CMD_TIMEOUT`` has passed.

    Both a :class:`RedisConnectionError` and (as SmartRedis reports it) a
    :class:`RedisTimeoutError`. The client reconnects by itself once the shard is back.
    """

    def __init__(self, message: str = "", address: str = "") -> None:
        RedisConnectionError.__init__(self, message, address)


class StoreUnavailableError(RedisConnectionLostError, RedisDatabaseError):
    """A shard answered, but refused to serve for ``SR_CMD_TIMEOUT`` (it was retried every
    ``SR_CMD_INTERVAL``); ``code`` is the server's reason (``CLUSTERDOWN``, ``LOADING`` …).

    A refusal means the command was not applied, so even writes are retried. Also a
    :class:`RedisDatabaseError` (the class these conditions had before).
    """

    def __init__(self, message: str = "", address: str = "", code: str = "") -> None:
        self.code = code
        RedisConnectionLostError.__init__(self, message, address)


class ClusterDownError(StoreUnavailableError):
    """The cluster did not serve the key's slot (``CLUSTERDOWN``, ``MASTERDOWN``,
    ``TRYAGAIN``, or no shard owns it): a master died and no replica has taken over."""


class StoreLoadingError(StoreUnavailableError):
    """The shard was loading its data set (after a restart from persistence files)."""


class StoreBusyError(StoreUnavailableError):
    """The shard was busy running a long script (``BUSY``)."""


class ReadOnlyStoreError(StoreUnavailableError):
    """The server is a read-only replica (``READONLY``): a standalone address that is a
    replica, or a cluster master demoted by a failover whose successor was not found."""


class StoreOutOfMemoryError(RedisDatabaseError):
    """The write would take the shard over its memory limit (``maxmemory``, ``limit``
    bytes; 0 when it could not be read) under a policy that evicts nothing. Nothing was
    written; the store keeps serving reads and deletes."""

    def __init__(self, key: str, limit: int, detail: str = "") -> None:
        self.key = key
        self.limit = limit
        shown = f"{limit} bytes" if limit else "its maxmemory"
        super().__init__(
            f"the store is out of memory writing {key!r}: the shard's limit is {shown} "
            "(maxmemory; raise it, pick an evicting maxmemory_policy, or delete data)"
            + (f": {detail}" if detail else "")
        )


class PermissionDeniedError(RedisReplyError):
    """The connection's ACL user may not run that command or touch ``key`` (``NOPERM``),
    e.g. an ensemble member writing under another member's key prefix."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        super().__init__(f"not permitted on {key!r}: {detail}")


class RedisInvalidUseError(RedisReplyError):
    """The API was used in a way it does not support (e.g. an address of another store)."""


class RedisParameterError(RedisReplyError, ValueError):
    """An argument has the right type but an unusable value (SmartRedis raises ValueError)."""


class BatchingParameterError(RedisParameterError, RedisRuntimeError):
    """Batching arguments that contradict each other (``batch_size=0`` with a minimum
    batch, a timeout without a minimum batch): a ``RedisRuntimeError``, as SmartRedis
    raises, and the precise parameter error."""


class UnknownNodeError(RedisInvalidUseError, RedisRuntimeError):
    """An address given to an address-targeted call (``get_ai_info``, ``config_get`` …)
    that is not a shard of the store: also a ``RedisRuntimeError``, as SmartRedis raises."""


class NoRunInfoError(RedisKeyError, RedisRuntimeError):
    """``get_ai_info`` for a key holding no model or script: a ``RedisKeyError`` naming
    the key, and also the ``RedisRuntimeError`` SmartRedis raises there."""


class ValueTooLargeError(RedisParameterError):
    """A value is larger than the store accepts (``proto-max-bulk-len``); nothing was sent."""

    def __init__(self, key: str, size: int, limit: int) -> None:
        self.key = key
        self.size = size
        self.limit = limit
        super().__init__(
            f"value for key {key!r} is {size} bytes; the store accepts at most {limit} bytes "
            "per value (raise it with Orchestrator.set_max_message_size or split the data)"
        )


class InferenceError(RedisReplyError):
    """A model or script could not be stored, loaded or run by an inference worker.

    ``key`` names the model or script key, ``reason`` is the wire code of the failure (see
    :mod:`insitu.wire.messages`), ``backend_message`` the backend's own words (may be
    empty). The worker that reported it keeps serving other requests.
    """

    def __init__(
        self, message: str, key: str = "", reason: str = "run", backend_message: str = ""
    ) -> None:
        self.key = key
        self.reason = reason
        self.backend_message = backend_message
        super().__init__(message)


class ModelLoadError(InferenceError):
    """The stored model bytes or script source cannot be loaded by its backend."""


class InferenceInputError(InferenceError):
    """The inputs (number, dtype, shape) or outputs do not fit the model or script."""


class ScriptFunctionError(InferenceError):
    """``run_script`` named a function the script does not define."""


class DeviceUnavailableError(InferenceError):
    """The model's device (e.g. ``GPU:1``) does not exist where the worker runs."""


class InferenceTimeoutError(InferenceError, RedisTimeoutError):
    """No reply within ``SR_MODEL_TIMEOUT``; the request is withdrawn if still queued."""

    transient = True


class WorkerLostError(InferenceError):
    """The inference workers holding a request died twice (it was retried once)."""

    transient = True


class StoreError(InsituError):
    """The feature store (Orchestrator) could not be started, reached or configured."""


class PortInUseError(StoreError):
    """A port the store needs is already taken by another process."""

    def __init__(self, port: int, host: str, detail: str = "") -> None:
        self.port = port
        self.host = host
        what = detail or "choose another port for the orchestrator"
        super().__init__(f"port {port} on {host} is already in use; {what}")


class SocketInUseError(StoreError):
    """A Unix socket the store needs is already served by another process."""

    def __init__(self, path: object, detail: str = "") -> None:
        self.path = str(path)
        what = detail or "already in use by a running server; choose another path"
        super().__init__(f"unix socket {self.path} is {what}")


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


class DBObjectLoadError(StoreError):
    """A model, script or function added to an entity (``add_ml_model`` …) could not be
    loaded into its store before the entity started; nothing of that launch is left running.

    ``entity`` names the Model, ``object_name`` the model or script, ``store`` the store
    (``""`` when there was no store to load it into). The Client's error, if any, is the
    ``__cause__``.
    """

    def __init__(self, entity: str, object_name: str, store: str, detail: str) -> None:
        self.entity = entity
        self.object_name = object_name
        self.store = store
        where = f" into orchestrator {store!r}" if store else ""
        super().__init__(f"could not load {object_name!r} of {entity!r}{where}: {detail}")


class InternalError(InsituError):
    """A bug in insitu: an invariant did not hold."""


class TrainingDataError(InternalError):
    """An ``insitu.ml`` data loader found no full batch of training data in the store
    within its fetch trials. An ``InternalError`` only because SmartSim raises
    ``SSInternalError`` there (so that code catching it keeps working)."""


# SmartSim-named aliases, so that `from smartsim.error import X` ports by changing the import.
SmartSimError = InsituError
SSConfigError = ConfigurationError
SSUnsupportedError = UnsupportedOptionError
SSInternalError = InternalError
SSDBIDConflictError = DBIDConflictError

__all__ = [
    "AllocationError",
    "AlreadyColocatedError",
    "AlreadyRunningError",
    "AttachedFileNotFoundError",
    "BatchingParameterError",
    "CPUPinningError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "ClientError",
    "ClusterDownError",
    "ClusterSetupError",
    "ColocationError",
    "CommandTimeoutError",
    "ConfigurationError",
    "ConnectionEnvError",
    "DBIDConflictError",
    "DBObjectLoadError",
    "DeviceUnavailableError",
    "EnsembleError",
    "EntityDirExistsError",
    "EntityExistsError",
    "EntityNotLaunchedError",
    "ExecutableNotFoundError",
    "ExperimentPathError",
    "InferenceError",
    "InferenceInputError",
    "InferenceTimeoutError",
    "InsituError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidDBNodesError",
    "InvalidServerOptionError",
    "LauncherError",
    "LauncherNotAvailableError",
    "LauncherUnsupportedFeature",
    "MissingDependencyError",
    "ModelLoadError",
    "NoRunInfoError",
    "NotExecutableError",
    "ParameterTypeError",
    "ParameterWriterError",
    "PermissionDeniedError",
    "PortInUseError",
    "PreviewFormatError",
    "ReadOnlyStoreError",
    "RecordFormatError",
    "RecordVersionError",
    "TelemetryFormatError",
    "NotAnExperimentError",
    "RedisBadAllocError",
    "RedisConnectionError",
    "RedisConnectionLostError",
    "RedisDatabaseError",
    "RedisInternalError",
    "RedisInvalidUseError",
    "RedisKeyError",
    "RedisParameterError",
    "RedisReplyError",
    "RedisRuntimeError",
    "RedisTimeoutError",
    "ReplicationTimeoutError",
    "RuleSyntaxError",
    "SSConfigError",
    "SSDBFilesNotParseable",
    "SSDBIDConflictError",
    "SSInternalError",
    "SSReservedKeywordError",
    "SSUnsupportedError",
    "ScriptFunctionError",
    "ShardStartError",
    "ShellError",
    "SmartSimError",
    "SocketInUseError",
    "StoreBusyError",
    "StoreError",
    "StoreLoadingError",
    "StoreNotActiveError",
    "StoreOutOfMemoryError",
    "StoreUnavailableError",
    "TlsNotSupportedError",
    "TlsVerificationError",
    "TrainingDataError",
    "UnknownInterfaceError",
    "UnknownNodeError",
    "UnknownLauncherError",
    "UnknownStrategyError",
    "UnsupportedOptionError",
    "UserStrategyError",
    "ValueTooLargeError",
    "WireFormatError",
    "WorkerLostError",
]
