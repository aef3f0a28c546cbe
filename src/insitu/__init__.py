"""insitu: AI-enabled simulation workflows on real Valkey/Redis stores.

The public surface mirrors SmartSim 0.8 (``Experiment``, ``Model``, ``Ensemble``,
``Orchestrator``, ``RunSettings``, ``BatchSettings``, ``SmartSimStatus``, ``Verbosity``), so
that a SmartSim driver ports by changing its imports. Errors live in :mod:`insitu.errors`,
logging in :mod:`insitu.log`.

The names are loaded on first use (PEP 562), so that ``import insitu.client`` in a
simulation rank or an inference worker does not load the Experiment, the store or the
runtime.
"""

from __future__ import annotations

import typing

from insitu._lazy import lazy_getattr

if typing.TYPE_CHECKING:
    from insitu.entities.base import EntityList, EntitySequence, SmartSimEntity
    from insitu.entities.db_objects import DBModel, DBScript
    from insitu.entities.ensemble import Ensemble
    from insitu.entities.model import Model
    from insitu.experiment.facade import Experiment
    from insitu.experiment.preview import Format, Verbosity
    from insitu.jobs.events import JobEvent
    from insitu.jobs.status import JobState, SmartSimStatus
    from insitu.settings.alps import AprunSettings
    from insitu.settings.batch_settings import BatchSettings
    from insitu.settings.containers import Container, Singularity
    from insitu.settings.dragon import DragonRunSettings
    from insitu.settings.factory import create_batch_settings, create_run_settings
    from insitu.settings.lsf import BsubBatchSettings, JsrunSettings
    from insitu.settings.mpi import (
        MpiexecSettings,
        MpirunSettings,
        OrterunSettings,
        PalsMpiexecSettings,
    )
    from insitu.settings.pbs import QsubBatchSettings, SgeQsubBatchSettings
    from insitu.settings.run_settings import RunSettings
    from insitu.settings.slurm import SbatchSettings, SrunSettings
    from insitu.store.db_node import DBNode, TelemetryConfiguration
    from insitu.store.orchestrator import Orchestrator

__version__ = "0.1.0"

_SOURCES = {
    "EntitySequence": "insitu.entities.base",
    "SmartSimEntity": "insitu.entities.base",
    "EntityList": "insitu.entities.base",
    "AprunSettings": "insitu.settings.alps",
    "BatchSettings": "insitu.settings.batch_settings",
    "BsubBatchSettings": "insitu.settings.lsf",
    "Container": "insitu.settings.containers",
    "DBModel": "insitu.entities.db_objects",
    "DBNode": "insitu.store.db_node",
    "DBScript": "insitu.entities.db_objects",
    "DragonRunSettings": "insitu.settings.dragon",
    "Ensemble": "insitu.entities.ensemble",
    "Experiment": "insitu.experiment.facade",
    "Format": "insitu.experiment.preview",
    "JobEvent": "insitu.jobs.events",
    "JobState": "insitu.jobs.status",
    "JsrunSettings": "insitu.settings.lsf",
    "Model": "insitu.entities.model",
    "MpiexecSettings": "insitu.settings.mpi",
    "MpirunSettings": "insitu.settings.mpi",
    "Orchestrator": "insitu.store.orchestrator",
    "OrterunSettings": "insitu.settings.mpi",
    "PalsMpiexecSettings": "insitu.settings.mpi",
    "QsubBatchSettings": "insitu.settings.pbs",
    "RunSettings": "insitu.settings.run_settings",
    "SbatchSettings": "insitu.settings.slurm",
    "SgeQsubBatchSettings": "insitu.settings.pbs",
    "Singularity": "insitu.settings.containers",
    "SmartSimStatus": "insitu.jobs.status",
    "SrunSettings": "insitu.settings.slurm",
    "TelemetryConfiguration": "insitu.store.db_node",
    "Verbosity": "insitu.experiment.preview",
    "create_batch_settings": "insitu.settings.factory",
    "create_run_settings": "insitu.settings.factory",
}

__all__ = [
    "EntitySequence",
    "SmartSimEntity",
    "EntityList",
    "AprunSettings",
    "BatchSettings",
    "BsubBatchSettings",
    "Container",
    "DBModel",
    "DBNode",
    "DBScript",
    "DragonRunSettings",
    "Ensemble",
    "Experiment",
    "Format",
    "JobEvent",
    "JobState",
    "JsrunSettings",
    "Model",
    "MpiexecSettings",
    "MpirunSettings",
    "Orchestrator",
    "OrterunSettings",
    "PalsMpiexecSettings",
    "QsubBatchSettings",
    "RunSettings",
    "SbatchSettings",
    "SgeQsubBatchSettings",
    "Singularity",
    "SmartSimStatus",
    "SrunSettings",
    "TelemetryConfiguration",
    "Verbosity",
    "create_batch_settings",
    "create_run_settings",
    "__version__",
]


__getattr__ = lazy_getattr(__name__, _SOURCES, globals())


def __dir__() -> list[str]:
    return sorted({*__all__, *(n for n in globals() if n.startswith("_"))})
