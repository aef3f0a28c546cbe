"""User-facing builders of neutral job descriptions: SmartSim 0.8's settings classes.

``from smartsim.settings import X`` ports to ``from insitu.settings import X`` (the classes
are also on the ``insitu`` package). Each class maps its setters onto the neutral
:class:`~insitu.jobs.JobSpec`/:class:`~insitu.jobs.Resources`/``run_args`` (tables in each
module's docstring); the run-command spellings live in :mod:`insitu.launchers.run_commands`.
"""

from insitu.launchers.run_commands import detect_run_command, translate
from insitu.settings.alps import AprunSettings
from insitu.settings.base import SettingsBase
from insitu.settings.batch_settings import BatchSettings, BatchSpec
from insitu.settings.containers import Container, Singularity
from insitu.settings.dragon import DragonRunSettings
from insitu.settings.factory import create_batch_settings, create_run_settings
from insitu.settings.lsf import BsubBatchSettings, JsrunSettings
from insitu.settings.mpi import (
    MpiexecSettings,
    MpirunSettings,
    OrterunSettings,
    PalsMpiexecSettings,
    _BaseMPISettings,
)
from insitu.settings.pbs import QsubBatchSettings, SgeQsubBatchSettings
from insitu.settings.run_settings import RunSettings, logger
from insitu.settings.slurm import SbatchSettings, SrunSettings

__all__ = [
    "AprunSettings",
    "BatchSettings",
    "BatchSpec",
    "BsubBatchSettings",
    "Container",
    "DragonRunSettings",
    "JsrunSettings",
    "MpiexecSettings",
    "MpirunSettings",
    "OrterunSettings",
    "PalsMpiexecSettings",
    "QsubBatchSettings",
    "RunSettings",
    "SbatchSettings",
    "SgeQsubBatchSettings",
    "SettingsBase",
    "Singularity",
    "SrunSettings",
    "_BaseMPISettings",
    "create_batch_settings",
    "create_run_settings",
    "detect_run_command",
    "logger",
    "translate",
]
