"""Client operations that store, fetch and delete models and scripts (SmartRedis 0.6 names,
arguments, defaults and errors).

A model or script is one record (:mod:`insitu.wire.model_record`) under its model key
(``[<prefix>.]<name>``; prefixed only after ``use_model_ensemble_prefix(True)``), written in
one MULTI/EXEC so that it appears whole or not at all. When a worker serves the record's
shard, the ``set_*`` calls then have it load the record (as RedisAI's ``MODELSTORE`` did):
bytes it cannot load, a script that does not compile or an unavailable device raise the
worker's typed error and the record is removed again. The ``*_multigpu`` calls store one
copy per GPU under ``<key>.GPU:<n>``.
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap

from insitu._checks import check_any, check_int, check_str_list, check_type
from insitu.client._execute_ops import ExecuteOps
from insitu.client._inference_requests import as_bytes
from insitu.connection.resp import encode_text
from insitu.errors import (
    ParameterTypeError,
    RedisKeyError,
    RedisParameterError,
    RedisRuntimeError,
)
from insitu.wire import backends, keys
from insitu.wire.batching import batching_warning, check_batch_settings
from insitu.wire.devices import Device, check_gpu_range, multigpu_key, parse_device
from insitu.wire.model_record import (
    MODEL,
    SCRIPT,
    ModelHeader,
    assemble,
)

_CHUNKS_PER_COMMAND = 32  # keeps each HSET well below the server's query buffer limit
# Deletes a record only if it is still the one this client wrote (a failed set_model must
# not remove a model another client stored meanwhile).
_DELETE_IF_SAME = (
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
    "return redis.call('DEL', KEYS[1]) end return 0"
)
TensorNames = str | list[str] | None


def tensor_names(arg: str, value: object) -> list[str]:
    """SmartRedis's ``inputs``/``outputs``: None, a str or a list of str."""
    if value is None:
        return []
    return check_str_list(arg, value)


def check_backend(backend: object) -> str:
    """The backend name, upper-cased; TypeError if unsupported (as SmartRedis)."""
    name = check_type("backend", backend, str, "a str").upper()
    if name not in backends.BACKEND_NAMES:
        raise ParameterTypeError(f"Backend type {name} unsupported")
    return name


class ModelOps(ExecuteOps):
    """``set_model``/``get_model``/``set_script``/... (see the module docs)."""

    # ------------------------------------------------------------------ models
    def set_model(
        self,
        name: str,
        model: bytes,
        backend: str,
        device: str = "CPU",
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: TensorNames = None,
        outputs: TensorNames = None,
    ) -> None:
        """Store a serialized ``model`` (TF, TFLITE, TORCH or ONNX) under ``name``.

        TypeError for an unknown backend or a device not starting with CPU/GPU;
        RedisParameterError for inconsistent batch settings or ``inputs``/``outputs`` on a
        non-TF model; MissingDependencyError if the backend's framework is not installed;
        ModelLoadError/DeviceUnavailableError if the serving worker cannot load it.
        Every argument's type is checked before any value (SmartRedis's order)."""
        key = self._model_key(name, read=False)
        _check_model_arg_types(backend, device, batch_size, min_batch_size, min_batch_timeout,
                               tag, inputs, outputs)  # fmt: skip
        target = parse_device(device)
        header = self._model_header(backend, target, batch_size, min_batch_size,
                                    min_batch_timeout, tag, inputs, outputs)  # fmt: skip
        self._put_record(key, header, _blob(model))

    def set_model_from_file(
        self,
        name: str,
        model_file: str,
        backend: str,
        device: str = "CPU",
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: TensorNames = None,
        outputs: TensorNames = None,
    ) -> None:
        """:meth:`set_model` with the bytes of ``model_file`` (FileNotFoundError if none,
        after every argument's type was checked)."""
        self._model_key(name, read=False)
        check_type("model_file", model_file, str, "a str")
        _check_model_arg_types(backend, device, batch_size, min_batch_size, min_batch_timeout,
                               tag, inputs, outputs)  # fmt: skip
        parse_device(device)
        check_backend(backend)  # both TypeErrors in SmartRedis, raised before the file is read
        blob = _read_file("model_file", model_file, binary=True)
        self.set_model(name, blob, backend, device, batch_size, min_batch_size,
                       min_batch_timeout, tag, inputs, outputs)  # fmt: skip

    def set_model_multigpu(
        self,
        name: str,
        model: bytes,
        backend: str,
        first_gpu: int,
        num_gpus: int,
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: TensorNames = None,
        outputs: TensorNames = None,
    ) -> None:
        """Store one copy of ``model`` per GPU ``first_gpu .. first_gpu+num_gpus-1``."""
        key = self._model_key(name, read=False)
        _check_model_arg_types(backend, None, batch_size, min_batch_size, min_batch_timeout,
                               tag, inputs, outputs,
                               first_gpu=first_gpu, num_gpus=num_gpus)  # fmt: skip
        gpus = check_gpu_range(first_gpu, num_gpus)
        blob = _blob(model)
        for gpu in gpus:
            header = self._model_header(backend, Device("GPU", gpu), batch_size, min_batch_size,
                                        min_batch_timeout, tag, inputs, outputs)  # fmt: skip
            self._put_record(multigpu_key(key, gpu), header, blob)

    def set_model_from_file_multigpu(
        self,
        name: str,
        model_file: str,
        backend: str,
        first_gpu: int,
        num_gpus: int,
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: TensorNames = None,
        outputs: TensorNames = None,
    ) -> None:
        """:meth:`set_model_multigpu` with the bytes of ``model_file``."""
        self._model_key(name, read=False)
        check_type("model_file", model_file, str, "a str")
        _check_model_arg_types(backend, None, batch_size, min_batch_size, min_batch_timeout,
                               tag, inputs, outputs,
                               first_gpu=first_gpu, num_gpus=num_gpus)  # fmt: skip
        check_backend(backend)
        blob = _read_file("model_file", model_file, binary=True)
        self.set_model_multigpu(
            name, blob, backend, first_gpu, num_gpus, batch_size,
            min_batch_size, min_batch_timeout, tag, inputs, outputs,
        )  # fmt: skip

    def get_model(self, name: str) -> bytes:
        """The serialized model stored under ``name``; RedisKeyError if there is none."""
        return self._get_record(self._model_key(name, read=True), MODEL)

    def delete_model(self, name: str) -> None:
        """Remove the model ``name``; RedisRuntimeError if there is none (as SmartRedis)."""
        self._delete_record(self._model_key(name, read=True), "delete_model")

    def delete_model_multigpu(self, name: str, first_gpu: int, num_gpus: int) -> None:
        """Remove every per-GPU copy stored by :meth:`set_model_multigpu`."""
        key = self._model_key(name, read=True)
        for gpu in check_gpu_range(first_gpu, num_gpus):
            self._delete_record(multigpu_key(key, gpu), "delete_model_multigpu")

    def model_exists(self, name: str) -> bool:
        """True if a model or script is stored under ``name``."""
        return self._record_exists(self._model_key(name, read=True))

    def poll_model(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """:meth:`model_exists`, up to ``num_tries`` times ``poll_frequency_ms`` apart."""
        key = self._model_key(name, read=True)
        return self._poll(lambda: self._record_exists(key), poll_frequency_ms, num_tries)

    # ------------------------------------------------------------------ scripts
    def set_script(self, name: str, script: str, device: str = "CPU") -> None:
        """Store TorchScript source ``script`` under ``name`` (run with run_script)."""
        key = self._model_key(name, read=False)
        source = encode_text(check_type("script", script, str, "a str"), "script")
        self._put_record(key, _script_header(parse_device(device)), source)

    def set_script_from_file(self, name: str, file: str, device: str = "CPU") -> None:
        """:meth:`set_script` with the text of ``file`` (FileNotFoundError if none, after
        the types of ``name`` and ``device`` were checked)."""
        self._model_key(name, read=False)
        check_type("file", file, str, "a str")
        parse_device(device)
        self.set_script(name, _read_file("file", file, binary=False).decode(), device)

    def set_function(self, name: str, function: object, device: str = "CPU") -> None:
        """Store the source of the Python ``function`` as a TorchScript script; TypeError
        if it is not callable. It must be valid TorchScript (typed tensors in and out)."""
        self.set_script(name, _function_source(function), device)

    def set_script_multigpu(self, name: str, script: str, first_gpu: int, num_gpus: int) -> None:
        """Store one copy of ``script`` per GPU ``first_gpu .. first_gpu+num_gpus-1``."""
        key = self._model_key(name, read=False)
        source = encode_text(check_type("script", script, str, "a str"), "script")
        for gpu in check_gpu_range(first_gpu, num_gpus):
            self._put_record(multigpu_key(key, gpu), _script_header(Device("GPU", gpu)), source)

    def set_script_from_file_multigpu(
        self, name: str, file: str, first_gpu: int, num_gpus: int
    ) -> None:
        """:meth:`set_script_multigpu` with the text of ``file``."""
        self._model_key(name, read=False)
        check_type("file", file, str, "a str")
        check_int("first_gpu", first_gpu, minimum=None)
        check_int("num_gpus", num_gpus, minimum=None)
        source = _read_file("file", file, binary=False).decode()
        self.set_script_multigpu(name, source, first_gpu, num_gpus)

    def set_function_multigpu(
        self, name: str, function: object, first_gpu: int, num_gpus: int
    ) -> None:
        """:meth:`set_function` with one copy per GPU."""
        self.set_script_multigpu(name, _function_source(function), first_gpu, num_gpus)

    def get_script(self, name: str) -> str:
        """The TorchScript source stored under ``name``; RedisKeyError if there is none."""
        return self._get_record(self._model_key(name, read=True), SCRIPT).decode("utf-8")

    def delete_script(self, name: str) -> None:
        """Remove the script ``name``; RedisRuntimeError if there is none."""
        self._delete_record(self._model_key(name, read=True), "delete_script")

    def delete_script_multigpu(self, name: str, first_gpu: int, num_gpus: int) -> None:
        """Remove every per-GPU copy stored by :meth:`set_script_multigpu`."""
        key = self._model_key(name, read=True)
        for gpu in check_gpu_range(first_gpu, num_gpus):
            self._delete_record(multigpu_key(key, gpu), "delete_script_multigpu")

    def set_model_chunk_size(self, chunk_size: int) -> None:
        """Set the store's ``MODEL_CHUNK_SIZE`` on every shard (``AI.CONFIG``, as SmartRedis
        does): ``get_model`` and ``AI.MODELGET`` then return model blobs in pieces of
        ``chunk_size`` bytes; any client reads blobs of any piece size. TypeError for a
        non-int; RedisRuntimeError unless it is positive (RedisAI refuses it)."""
        size = check_int("chunk_size", chunk_size, minimum=None)
        if size <= 0:
            raise RedisRuntimeError(f"set_model_chunk_size failed: {size} is not a positive size")
        for address in self._store.addresses():
            self._store.node_command(address, "AI.CONFIG", "MODEL_CHUNK_SIZE", size)

    # ------------------------------------------------------------------ machinery

    def _model_key(self, name: object, *, read: bool) -> str:
        text = check_type("name", name, str, "a str")
        encode_text(text, "name")  # a lone surrogate has no UTF-8 form: RedisParameterError
        return keys.model_key(self._prefixes, text, read=read)

    def _model_header(
        self,
        backend: object,
        device: Device,
        batch_size: object,
        min_batch_size: object,
        min_batch_timeout: object,
        tag: object,
        inputs: object,
        outputs: object,
    ) -> ModelHeader:
        name = check_backend(backend)
        batch = check_batch_settings(batch_size, min_batch_size, min_batch_timeout)
        label = check_type("tag", tag, str, "a str")
        ins, outs = tensor_names("inputs", inputs), tensor_names("outputs", outputs)
        if name != "TF" and ins:
            raise RedisParameterError("INPUTS in the model set command is only valid for TF models")
        if name != "TF" and outs:
            raise RedisParameterError(
                "OUTPUTS in the model set command is only valid for TF models"
            )
        backends.require_installed(name)
        warning = batching_warning(batch)
        if warning:
            # SmartRedis prints this line to stderr (its tests read it there), not to its log.
            sys.stderr.write(f"WARNING: {warning}\n")
        return ModelHeader(MODEL, name, str(device), batch, label, tuple(ins), tuple(outs))

    def _put_record(self, key: str, header: ModelHeader, blob: bytes) -> None:
        """Store the record through the module, which has a serving worker load it."""
        if header.kind == SCRIPT:
            backends.require_installed(header.backend)
        self._store_record(key, header, blob)

    def _record_exists(self, key: str) -> bool:
        address, stored = self._record_key(key)
        if address is None:
            return self._store.exists(key)
        return self._store.node_command(address, "EXISTS", stored) == 1

    def _get_record(self, key: str, kind: str) -> bytes:
        address, stored = self._record_key(key)
        if address is None:
            reply = self._store.command(key, "HGETALL", key)
        else:
            reply = self._store.node_command(address, "HGETALL", stored)
        if not isinstance(reply, list) or not reply:
            raise RedisKeyError(key, f"no {kind} stored under key {key!r}")
        fields = {as_bytes(reply[i]): as_bytes(reply[i + 1]) for i in range(0, len(reply), 2)}
        header, blob = assemble(fields, key)
        if header.kind != kind:
            raise RedisRuntimeError(f"{key!r} holds a {header.kind}, not a {kind}")
        return blob

    def _delete_record(self, key: str, what: str) -> None:
        deleted = 0
        for address, stored in self._record_copies(key):
            if address is None:
                deleted += self._store.delete(key)
            else:
                deleted += self._store.node_command(address, "DEL", stored) == 1
        if not deleted:
            raise RedisRuntimeError(f"{what} failed: nothing is stored under key {key!r}")


def _check_model_arg_types(
    backend: object,
    device: object,
    batch_size: object,
    min_batch_size: object,
    min_batch_timeout: object,
    tag: object,
    inputs: object,
    outputs: object,
    **gpus: object,
) -> None:
    """The type checks of the set_model family, all before any value check (a wrong type is
    a TypeError even when another argument names a missing file). ``device`` None: none."""
    check_type("backend", backend, str, "a str")
    if device is not None:
        check_type("device", device, str, "a str")
    for arg, value in (("batch_size", batch_size), ("min_batch_size", min_batch_size),
                       ("min_batch_timeout", min_batch_timeout), *gpus.items()):  # fmt: skip
        check_int(arg, value, minimum=None)
    check_type("tag", tag, str, "a str")
    tensor_names("inputs", inputs)
    tensor_names("outputs", outputs)


def _script_header(device: Device) -> ModelHeader:
    return ModelHeader(SCRIPT, "TORCH", str(device))


def _blob(model: object) -> bytes:
    check_any("model", model, bytes, bytearray, memoryview)
    return as_bytes(model)


def _read_file(arg: str, path: object, *, binary: bool) -> bytes:
    """The contents of the file ``path`` (SmartRedis: FileNotFoundError naming it)."""
    text = check_type(arg, path, str, "a str")
    full = os.path.abspath(text)
    if not os.path.isfile(full):
        raise FileNotFoundError(full)
    with open(full, "rb") as handle:
        data = handle.read()
    return data if binary else data.decode("utf-8").encode()


def _function_source(function: object) -> str:
    if not callable(function):
        raise ParameterTypeError(
            f"Argument provided for function, {type(function)}, is not callable"
        )
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError) as err:
        raise ParameterTypeError(f"the source of {function!r} is not available: {err}") from err
    # insitu: nested functions are indented; TorchScript wants them at column 0.
    return textwrap.dedent(source)
