"""The TF backend: frozen TensorFlow graphs (``GraphDef`` bytes) with named inputs and
outputs, as RedisAI's TF backend takes them. Imported only when a TF model is used; without
TensorFlow, :func:`insitu.inference.backends.get_backend` raises MissingDependencyError."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    ModelLoadError,
)
from insitu.inference.backends import BackendThreads
from insitu.wire.devices import Device
from insitu.wire.model_record import ModelHeader


class TfSession:
    """A frozen graph imported into its own tf.Graph, run in a v1 Session."""

    def __init__(
        self, graph: object, session: object, inputs: Sequence[str], outputs: Sequence[str]
    ):
        self._graph = graph
        self._session = session
        self._inputs = [f"{name}:0" for name in inputs]
        self._outputs = [f"{name}:0" for name in outputs]

    def run(self, inputs: Sequence[np.ndarray], function: str) -> list[np.ndarray]:
        if len(inputs) != len(self._inputs):
            raise InferenceInputError(
                f"the TF model takes {len(self._inputs)} input(s); {len(inputs)} given"
            )
        feed = dict(zip(self._inputs, inputs, strict=True))
        try:
            outs = self._session.run(self._outputs, feed_dict=feed)  # type: ignore[attr-defined]
        except (ValueError, tf.errors.InvalidArgumentError) as err:  # shape or dtype
            text = str(err).strip().splitlines()[0]
            raise InferenceInputError(
                f"TF inputs do not fit: {text}", backend_message=str(err)
            ) from err
        except Exception as err:
            raise InferenceError(f"TF run failed: {err}", backend_message=str(err)) from err
        return [np.asarray(out) for out in outs]


class TfBackend:
    """Loads frozen TensorFlow graphs."""

    name = "TF"

    def load(
        self, blob: bytes, header: ModelHeader, device: Device, threads: BackendThreads
    ) -> TfSession:
        if device.is_gpu and not tf.config.list_physical_devices("GPU"):
            raise DeviceUnavailableError(f"device {device} requested, but TensorFlow sees no GPU")
        try:
            graph_def = tf.compat.v1.GraphDef()
            graph_def.ParseFromString(blob)
            graph = tf.Graph()
            with graph.as_default():
                tf.compat.v1.import_graph_def(graph_def, name="")
            config = tf.compat.v1.ConfigProto(
                inter_op_parallelism_threads=threads.inter_op or 0,
                intra_op_parallelism_threads=threads.intra_op or 0,
            )
            session = tf.compat.v1.Session(graph=graph, config=config)
        except Exception as err:
            raise ModelLoadError(
                f"TensorFlow cannot load the graph: {err}", backend_message=str(err)
            ) from err
        return TfSession(graph, session, header.inputs, header.outputs)


BACKEND = TfBackend()
