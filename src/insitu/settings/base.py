"""``SettingsBase``: SmartSim's common base name of run and batch settings.

insitu's :class:`~insitu.settings.run_settings.RunSettings` and
:class:`~insitu.settings.batch_settings.BatchSettings` share no implementation; this is an
abstract base class both are registered with, so that ``isinstance(settings, SettingsBase)``
holds for every settings object as in SmartSim.
"""

from __future__ import annotations

from abc import ABC

from insitu.settings.batch_settings import BatchSettings
from insitu.settings.run_settings import RunSettings


class SettingsBase(ABC):  # noqa: B024 - a registration point, no abstract methods
    """Any run or batch settings object."""


SettingsBase.register(RunSettings)
SettingsBase.register(BatchSettings)

__all__ = ["SettingsBase"]
