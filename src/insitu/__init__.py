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
    from insitu.entities.ensemble import Ensemble
    from insitu.entities.model import Model
    from insitu.experiment.facade import Experiment
    from insitu.experiment.preview import Format, Verbosity
    from insitu.jobs.events import JobEvent
    from insitu.jobs.status import JobState, SmartSimStatus
    from insitu.settings.batch_settings import BatchSettings
    from insitu.settings.run_settings import RunSettings
    from insitu.store.orchestrator import Orchestrator

__version__ = "0.1.0"

_SOURCES = {
    "BatchSettings": "insitu.settings.batch_settings",
    "Ensemble": "insitu.entities.ensemble",
    "Experiment": "insitu.experiment.facade",
    "Format": "insitu.experiment.preview",
    "JobEvent": "insitu.jobs.events",
    "JobState": "insitu.jobs.status",
    "Model": "insitu.entities.model",
    "Orchestrator": "insitu.store.orchestrator",
    "RunSettings": "insitu.settings.run_settings",
    "SmartSimStatus": "insitu.jobs.status",
    "Verbosity": "insitu.experiment.preview",
}

__all__ = [
    "BatchSettings",
    "Ensemble",
    "Experiment",
    "Format",
    "JobEvent",
    "JobState",
    "Model",
    "Orchestrator",
    "RunSettings",
    "SmartSimStatus",
    "Verbosity",
    "__version__",
]


__getattr__ = lazy_getattr(__name__, _SOURCES, globals())


def __dir__() -> list[str]:
    return sorted({*__all__, *(n for n in globals() if n.startswith("_"))})
