"""``add_ml_model``, ``add_script`` and ``add_function``: SmartSim 0.8's API for models,
scripts and functions loaded into an entity's store before it starts, shared by
:class:`~insitu.entities.model.Model` and :class:`~insitu.entities.ensemble.Ensemble`.

When :meth:`Experiment.start <insitu.experiment.Experiment.start>` launches a Model, every
object attached to it is stored first, through the Client's ``set_model`` /
``set_model_from_file`` / ``set_script`` / ``set_script_from_file`` / ``set_function`` (the
``*_multigpu`` variants when ``devices_per_node > 1``), under its own name:

* a colocated Model's objects go to its colocated store;
* any other Model's objects go to every orchestrator the experiment runs (SmartSim 0.8's
  rule: an application may connect to any of them by ``db_identifier``); with none running,
  the start fails with :class:`~insitu.errors.DBObjectLoadError` before anything starts.

The loading client has SmartRedis's default of no model prefixing, so names are stored as
given, also for ensemble members (as in SmartSim 0.8): an object added to an Ensemble is
stored once per store and shared by its members. A failure to load raises
:class:`~insitu.errors.DBObjectLoadError` (a missing backend
:class:`~insitu.errors.MissingDependencyError`) and nothing of that start keeps running.

Differences from SmartSim: in-memory models and functions may be attached to colocated
Models too (the driver loads them; SmartSim refused them); a second object of the same name
on one Model raises, as it already did on an Ensemble.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from insitu.entities.db_objects import (
    DBModel,
    DBObject,
    DBScript,
    make_function,
    make_model,
    make_script,
)
from insitu.errors import ParameterTypeError


class MLObjectsAPI:
    """The three ``add_*`` methods; the entity class says where a value goes."""

    def _attach(self, obj: DBObject) -> None:
        """Record ``obj`` (validated) on this entity; raise if its name is taken."""
        raise NotImplementedError

    def _objects(self) -> tuple[DBObject, ...]:
        """Every object attached to this entity itself, in order."""
        raise NotImplementedError

    def add_ml_model_object(self, db_model: DBModel) -> None:
        """Attach an already built :class:`DBModel` (SmartSim's method; ``add_ml_model``
        builds one from its arguments). ``TypeError`` for anything else; a name already
        attached raises as ``add_ml_model`` does."""
        if not isinstance(db_model, DBModel):
            raise ParameterTypeError(f"db_model must be a DBModel, not {type(db_model).__name__}")
        self._attach(db_model)

    def add_script_object(self, db_script: DBScript) -> None:
        """Attach an already built :class:`DBScript` (a script or a function), as
        :meth:`add_ml_model_object` does for models."""
        if not isinstance(db_script, DBScript):
            raise ParameterTypeError(
                f"db_script must be a DBScript, not {type(db_script).__name__}"
            )
        self._attach(db_script)

    @property
    def db_models(self) -> tuple[DBModel, ...]:
        """The ML models attached to this entity, in order."""
        return tuple(o for o in self._objects() if isinstance(o, DBModel))

    @property
    def db_scripts(self) -> tuple[DBScript, ...]:
        """The scripts and functions attached to this entity, in order."""
        return tuple(o for o in self._objects() if isinstance(o, DBScript))

    @property
    def has_db_objects(self) -> bool:
        """True when a model, script or function is attached."""
        return bool(self._objects())

    def add_ml_model(
        self,
        name: str,
        backend: str,
        model: bytes | None = None,
        model_path: str | os.PathLike[str] | None = None,
        device: str = "CPU",
        devices_per_node: int = 1,
        first_device: int = 0,
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: str | list[str] | None = None,
        outputs: str | list[str] | None = None,
    ) -> None:
        """A TF, TFLITE, TORCH or ONNX model (``model`` bytes or ``model_path``) stored
        under ``name`` before the entity starts (see the module docstring for where).

        ``device``, ``devices_per_node`` and ``first_device`` follow SmartSim's rules
        (:mod:`insitu.entities.db_objects`); the batching values and ``tag``/``inputs``/
        ``outputs`` are passed to ``Client.set_model``. Raises ``ValueError``/``TypeError``
        subclasses for bad values, ``AttachedFileNotFoundError`` (a ``FileNotFoundError``)
        for a missing file, ``UnsupportedOptionError`` for CPU with several devices or a
        name already used.
        """
        self._attach(
            make_model(
                name, backend, model, model_path, device, devices_per_node, first_device,
                (batch_size, min_batch_size, min_batch_timeout), tag, inputs, outputs,
            )
        )  # fmt: skip

    def add_script(
        self,
        name: str,
        script: str | None = None,
        script_path: str | os.PathLike[str] | None = None,
        device: str = "CPU",
        devices_per_node: int = 1,
        first_device: int = 0,
    ) -> None:
        """TorchScript source (``script``) or a file of it (``script_path``) stored under
        ``name`` before the entity starts; devices as in :meth:`add_ml_model`."""
        self._attach(make_script(name, script, script_path, device, devices_per_node, first_device))

    def add_function(
        self,
        name: str,
        function: Callable[..., object] | None = None,
        device: str = "CPU",
        devices_per_node: int = 1,
        first_device: int = 0,
    ) -> None:
        """A Python function, turned into TorchScript by ``Client.set_function``, stored
        under ``name`` before the entity starts; devices as in :meth:`add_ml_model`."""
        self._attach(make_function(name, function, device, devices_per_node, first_device))
