"""insitu: AI-enabled simulation workflows on real Valkey/Redis stores.

The public surface mirrors SmartSim 0.8 (``Experiment``, ``Model``, ``Ensemble``,
``Orchestrator``, ``RunSettings``, ``BatchSettings``, ``SmartSimStatus``, ``Verbosity``), so
that a SmartSim driver ports by changing its imports. Errors live in :mod:`insitu.errors`,
logging in :mod:`insitu.log`.
"""

from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.experiment import Experiment
from insitu.experiment.preview import Format, Verbosity
from insitu.jobs.events import JobEvent
from insitu.jobs.status import JobState, SmartSimStatus
from insitu.settings.batch_settings import BatchSettings
from insitu.settings.run_settings import RunSettings
from insitu.store.orchestrator import Orchestrator

__version__ = "0.1.0"

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
