"""SmartSim's entity base names: ``SmartSimEntity`` (one job: Model, DBNode) and
``EntityList``/``EntitySequence`` (a group: Ensemble, Orchestrator).

insitu's entities are not built on a shared base class; these are abstract base classes
the concrete ones are registered with, so that ``isinstance(model, SmartSimEntity)`` and
``isinstance(ensemble, EntityList)`` hold as in SmartSim.
"""

from __future__ import annotations

from abc import ABC

from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.store.db_node import DBNode
from insitu.store.orchestrator import Orchestrator


class SmartSimEntity(ABC):  # noqa: B024 - a registration point, no abstract methods
    """One launched program: ``name``, ``path``, ``run_settings``, ``type``."""


class EntitySequence(ABC):  # noqa: B024
    """A group of entities: ``name``, ``path``, ``entities``, ``type``."""


class EntityList(EntitySequence):
    """A group of entities of one kind (SmartSim's ``EntityList[T]``)."""


for _entity in (Model, DBNode):
    SmartSimEntity.register(_entity)
for _group in (Ensemble, Orchestrator):
    EntityList.register(_group)

__all__ = ["EntityList", "EntitySequence", "SmartSimEntity"]
