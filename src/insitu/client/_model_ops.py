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
import textwrap

from insitu._checks import check_any, check_str_list, check_type
from insitu.client._inference_requests import RequestOps, as_bytes
from insitu.connection.resp import Arg, Value, encode_text
from insitu.errors import (
    InsituError,
    ParameterTypeError,
    RedisKeyError,
    RedisParameterError,
    RedisRuntimeError,
)
from insitu.wire import backends, keys, messages
from insitu.wire.batching import check_batch_settings
from insitu.wire.devices import Device, check_gpu_range, multigpu_key, parse_device
from insitu.wire.model_record import (
    HEADER,
    MODEL,
    SCRIPT,
    ModelHeader,
    assemble,
    chunk_field,
    format_record,
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


class ModelOps(RequestOps):
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
        ModelLoadError/DeviceUnavailableError if the serving worker cannot load it."""
        key = self._model_key(name, read=False)
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
        """:meth:`set_model` with the bytes of ``model_file`` (FileNotFoundError if none)."""
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
        return self._store.exists(self._model_key(name, read=True))

    def poll_model(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """:meth:`model_exists`, up to ``num_tries`` times ``poll_frequency_ms`` apart."""
        key = self._model_key(name, read=True)
        return self._poll(lambda: self._store.exists(key), poll_frequency_ms, num_tries)

    # ------------------------------------------------------------------ scripts
    def set_script(self, name: str, script: str, device: str = "CPU") -> None:
        """Store TorchScript source ``script`` under ``name`` (run with run_script)."""
        key = self._model_key(name, read=False)
        source = encode_text(check_type("script", script, str, "a str"), "script")
        self._put_record(key, _script_header(parse_device(device)), source)

    def set_script_from_file(self, name: str, file: str, device: str = "CPU") -> None:
        """:meth:`set_script` with the text of ``file`` (FileNotFoundError if none)."""
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

    # ------------------------------------------------------------------ machinery
    def _model_key(self, name: object, *, read: bool) -> str:
        return keys.model_key(self._prefixes, check_type("name", name, str, "a str"), read=read)

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
        return ModelHeader(MODEL, name, str(device), batch, label, tuple(ins), tuple(outs))

    def _put_record(self, key: str, header: ModelHeader, blob: bytes) -> None:
        """Write the record atomically, then have a serving worker load it (see module)."""
        if header.kind == SCRIPT:
            backends.require_installed(header.backend)
        _, header_json, chunks = format_record(header, blob)
        commands: list[list[Arg]] = [["DEL", key]]
        for start in range(0, len(chunks), _CHUNKS_PER_COMMAND):
            command: list[Arg] = ["HSET", key]
            if start == 0:
                command += [HEADER, header_json]
            for index in range(start, min(start + _CHUNKS_PER_COMMAND, len(chunks))):
                command += [chunk_field(index), Value((chunks[index],))]
            commands.append(command)
        self._store.transaction(key, commands)
        if not self._worker_serving(key):
            return  # nothing can load it yet; a load failure surfaces at run time
        try:
            self._submit(messages.LOAD, key, key)
        except InsituError:
            self._store.command(key, "EVAL", _DELETE_IF_SAME, 1, key, HEADER, header_json)
            raise

    def _get_record(self, key: str, kind: str) -> bytes:
        reply = self._store.command(key, "HGETALL", key)
        if not isinstance(reply, list) or not reply:
            raise RedisKeyError(key, f"no {kind} stored under key {key!r}")
        fields = {as_bytes(reply[i]): as_bytes(reply[i + 1]) for i in range(0, len(reply), 2)}
        header, blob = assemble(fields, key)
        if header.kind != kind:
            raise RedisRuntimeError(f"{key!r} holds a {header.kind}, not a {kind}")
        return blob

    def _delete_record(self, key: str, what: str) -> None:
        if not self._store.delete(key):
            raise RedisRuntimeError(f"{what} failed: nothing is stored under key {key!r}")
        for tag in self._shard_tags():
            self._store.delete(keys.stats_key(tag, key))


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
