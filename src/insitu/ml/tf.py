"""Keras data generators over the store (SmartSim 0.8's ``smartsim.ml.tf``); needs
TensorFlow (``pip install tensorflow``, else :class:`~insitu.errors.MissingDependencyError`
on import).

``StaticDataGenerator`` and ``DynamicDataGenerator`` are ``keras.utils.Sequence`` views of a
:class:`~insitu.ml.data.DataDownloader` (``dynamic`` forced False / True): ``gen[i]`` is
batch ``i`` as numpy arrays, targets one-hot encoded when ``num_classes`` is set;
``on_epoch_end`` reshuffles, and the dynamic one first fetches the batches producers
appended during the epoch, so ``len(gen)`` grows from one epoch to the next.

``serialize_model(model)`` and ``freeze_model(model, output_dir, file_name)`` turn a
single-input Keras model into a frozen ``GraphDef`` (bytes, or a ``.pb`` file) with its
input and output node names, ready for ``set_model(..., "TF", inputs=..., outputs=...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from insitu.errors import InvalidArgumentError, MissingDependencyError, ParameterTypeError
from insitu.ml.data import Batch, DataDownloader

try:
    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )
except ImportError as err:  # pragma: no cover - TensorFlow is in the dev extra
    raise MissingDependencyError(
        "TensorFlow (insitu.ml.tf)", "install it with: pip install tensorflow"
    ) from err


class StaticDataGenerator(DataDownloader, keras.utils.Sequence):  # type: ignore[misc]
    """The samples present when it is initialised, reshuffled after every epoch."""

    def __init__(self, **kwargs: object) -> None:
        dynamic = kwargs.pop("dynamic", type(self) is not StaticDataGenerator)
        kwargs["dynamic"] = type(self) is not StaticDataGenerator
        DataDownloader.__init__(self, **kwargs)  # type: ignore[arg-type]
        keras.utils.Sequence.__init__(self)
        if type(self) is StaticDataGenerator and dynamic:
            self.log("Static data generator cannot be started with dynamic=True; set to False")

    def __getitem__(self, index: int) -> Batch:
        if len(self) < 1:
            raise InvalidArgumentError(
                "Not enough samples in generator for one batch. Please run init_samples() "
                "or initialize generator with init_samples=True"
            )
        batch = self._data_generation(self._calc_indices(index))
        if isinstance(batch, tuple) and self.need_targets and self.num_classes is not None:
            x, y = batch
            return x, np.asarray(keras.utils.to_categorical(y, num_classes=self.num_classes))
        return batch

    def on_epoch_end(self) -> None:
        """Reshuffle (``shuffle``)."""
        if self.shuffle:
            np.random.shuffle(self.indices)


class DynamicDataGenerator(StaticDataGenerator):
    """New batches as producers append them: fetched after every epoch."""

    def __init__(self, **kwargs: object) -> None:
        dynamic = kwargs.pop("dynamic", True)
        super().__init__(**kwargs)
        if not dynamic:
            self.log("Dynamic data generator cannot be started with dynamic=False; set to True")

    def on_epoch_end(self) -> None:
        """Fetch the batches appended meanwhile, then reshuffle."""
        self.update_data()


def serialize_model(model: object) -> tuple[bytes, list[str], list[str]]:
    """``(frozen GraphDef bytes, input node names, output node names)`` of the Keras
    ``model`` (its first input's shape and dtype define the graph's input)."""
    graph = _frozen(model)
    return (
        bytes(graph.graph.as_graph_def().SerializeToString(deterministic=True)),
        _node_names(graph.inputs),
        _node_names(graph.outputs),
    )


def freeze_model(
    model: object, output_dir: str, file_name: str
) -> tuple[str, list[str], list[str]]:
    """Write the frozen graph of ``model`` to ``output_dir/file_name`` (``.pb`` added if
    missing); ``(absolute file path, input node names, output node names)``."""
    name = file_name if file_name.endswith(".pb") else f"{file_name}.pb"
    graph = _frozen(model)
    tf.io.write_graph(graph_or_graph_def=graph.graph, logdir=output_dir, name=name, as_text=False)
    return (
        str(Path(output_dir, name).resolve()),
        _node_names(graph.inputs),
        _node_names(graph.outputs),
    )


def _frozen(model: object) -> Any:  # a TensorFlow ConcreteFunction (TF is untyped)
    if not isinstance(model, keras.Model):
        raise ParameterTypeError(f"model must be a keras.Model, not {type(model).__name__}")
    spec = tf.TensorSpec(model.inputs[0].shape, model.inputs[0].dtype)
    return convert_variables_to_constants_v2(tf.function(model).get_concrete_function(spec))


def _node_names(tensors: Any) -> list[str]:
    return [str(t.name).split(":")[0] for t in tensors]


__all__ = ["DynamicDataGenerator", "StaticDataGenerator", "freeze_model", "serialize_model"]
