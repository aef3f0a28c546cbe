"""Client operations that run stored models and scripts, and read the workers' statistics
(SmartRedis 0.6 names, arguments and errors).

Input tensor names are read with the get prefix and outputs written with the put prefix
(when tensor prefixing applies), as SmartRedis does. The call blocks until the worker has
stored the outputs and replied, or ``SR_MODEL_TIMEOUT`` passed (see
:mod:`insitu.client._execute_ops`). Failures raise typed errors carrying the
backend's message (:class:`~insitu.errors.InferenceError` and its leaves, RedisKeyError for
a missing model or input).
"""

from __future__ import annotations

from insitu._checks import check_bool, check_str_list, check_type
from insitu.client._execute_ops import INPROCESS, STREAMS, inference_path
from insitu.client._inference_requests import as_bytes
from insitu.client._model_ops import ModelOps, TensorNames, tensor_names
from insitu.errors import RedisInternalError
from insitu.wire import messages
from insitu.wire.devices import multigpu_key, multigpu_pick

_STATS = ("duration", "samples", "calls", "errors", "requests")
_TEXT = ("type", "backend", "device", "tag")  # and "key": the name asked for


class RunOps(ModelOps):
    """``run_model``/``run_script``/``get_ai_info`` (see the module docs)."""

    _path: str | None = None  # INSITU_INFERENCE_PATH on a standalone store (first run)

    def run_model(self, name: str, inputs: TensorNames = None, outputs: TensorNames = None) -> None:
        """Run the model ``name`` on the tensors ``inputs``, storing ``outputs``."""
        key = self._model_key(name, read=True)
        self._run(messages.RUN_MODEL, key, "", inputs, outputs)

    def run_model_multigpu(
        self,
        name: str,
        offset: int,
        first_gpu: int,
        num_gpus: int,
        inputs: TensorNames = None,
        outputs: TensorNames = None,
    ) -> None:
        """Run the copy of ``name`` for GPU ``first_gpu + offset % num_gpus``."""
        key = self._model_key(name, read=True)
        gpu = multigpu_pick(offset, first_gpu, num_gpus)
        self._run(messages.RUN_MODEL, multigpu_key(key, gpu), "", inputs, outputs)

    def run_script(
        self, name: str, fn_name: str, inputs: str | list[str], outputs: str | list[str]
    ) -> None:
        """Run function ``fn_name`` of the script ``name`` on ``inputs``, storing ``outputs``."""
        key = self._model_key(name, read=True)
        function = check_type("fn_name", fn_name, str, "a str")
        self._run(messages.RUN_SCRIPT, key, function, inputs, outputs)

    def run_script_multigpu(
        self,
        name: str,
        fn_name: str,
        inputs: str | list[str],
        outputs: str | list[str],
        offset: int,
        first_gpu: int,
        num_gpus: int,
    ) -> None:
        """Run the copy of the script for GPU ``first_gpu + offset % num_gpus``."""
        key = self._model_key(name, read=True)
        function = check_type("fn_name", fn_name, str, "a str")
        gpu = multigpu_pick(offset, first_gpu, num_gpus)
        self._run(messages.RUN_SCRIPT, multigpu_key(key, gpu), function, inputs, outputs)

    def get_ai_info(
        self, address: list[str], key: str, reset_stat: bool = False
    ) -> list[dict[str, str | int]]:
        """Per address (a shard), the statistics its workers kept for the model or script
        ``key``: ``key``, ``type``, ``backend``, ``device``, ``tag``, ``duration`` (µs spent
        running), ``samples`` (dimension 0 summed), ``calls`` (executions; a merged batch
        counts once), ``errors`` (failed requests) and ``requests`` (insitu: requests
        served). With ``reset_stat`` the counters are zeroed after being read.
        RedisKeyError if no model or script is stored under ``key``."""
        check_type("address", address, list, "a list of str")
        names = check_str_list("address", address, allow_str=False)
        model = self._model_key(key, read=True)
        check_bool("reset_stat", reset_stat)  # every type before any address (SmartRedis)
        nodes = [self._shard_address(a) for a in names]
        info: list[dict[str, str | int]] = []
        for node in nodes:
            reply = self._info(node, model, reset_stat)
            fields = dict(zip(reply[::2], reply[1::2], strict=False))
            entry: dict[str, str | int] = {"key": model}
            for name in (*_TEXT, *_STATS):
                value = fields.get(name.encode())
                if value is None:
                    raise RedisInternalError(f"AI.INFO of {model!r} lacks {name!r}")
                entry[name] = value if isinstance(value, int) else as_bytes(value).decode()
            info.append(entry)
        return info

    def _run(self, op: str, key: str, function: str, inputs: object, outputs: object) -> None:
        ins = [self._tensor_key(n, read=True, arg="inputs") for n in tensor_names("inputs", inputs)]
        outs = [
            self._tensor_key(n, read=False, arg="outputs") for n in tensor_names("outputs", outputs)
        ]
        if self._path is None:
            self._path = "" if self._store.clustered else inference_path()
        if self._path == INPROCESS:
            if self._local_runner is None:
                from insitu.client._local_runs import LocalRunner

                self._local_runner = LocalRunner()
            channel = self._run_channel(self._store.addresses()[0])
            if self._local_runner.run(channel, op, key, function, ins, outs):
                return
        if self._path != STREAMS:
            self._execute(op, key, function, ins, outs)
            return
        # Run beside the data: the shard holding the first input serves the request.
        route = ins[0] if ins else key
        self._submit(op, key, route, function=function, inputs=ins, outputs=outs)
