"""Keras data generators over the store (SmartSim 0.8's ``smartsim.ml.tf``); needs
TensorFlow (``pip install tensorflow``, else :class:`~insitu.errors.MissingDependencyError`
on import).

``StaticDataGenerator`` and ``DynamicDataGenerator`` are ``keras.utils.Sequence`` views of a
:class:`~insitu.ml.data.DataDownloader` (``dynamic`` forced False / True): ``gen[i]`` is
batch ``i`` as numpy arrays, targets one-hot encoded when ``num_classes`` is set;
``on_epoch_end`` reshuffles, and the dynamic one first fetches the batches producers
appended during the epoch, so ``len(gen)`` grows from one epoch to the next.
"""

from __future__ import annotations

import numpy as np

from insitu.errors import InvalidArgumentError, MissingDependencyError
from insitu.ml.data import Batch, DataDownloader

try:
    from tensorflow import keras
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


__all__ = ["DynamicDataGenerator", "StaticDataGenerator"]
