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
    """A group of entities: ``name``, ``path``, ``entities``, ``type``.

    As in SmartSim, the base cannot be built itself: its constructor records ``name`` and
    ``path`` and asks ``_initialize_entities(**kwargs)`` for the members, which only a
    concrete group defines (``NotImplementedError`` here).
    """

    def __init__(self, name: str, path: str, **kwargs: object) -> None:
        self.name = name
        self.path = path
        self._initialize_entities(**kwargs)

    def _initialize_entities(self, **kwargs: object) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} is abstract: build an Ensemble or an Orchestrator"
        )


class EntityList(EntitySequence):
    """A group of entities of one kind (SmartSim's ``EntityList[T]``)."""


for _entity in (Model, DBNode):
    SmartSimEntity.register(_entity)
for _group in (Ensemble, Orchestrator):
    EntityList.register(_group)

__all__ = ["EntityList", "EntitySequence", "SmartSimEntity"]
