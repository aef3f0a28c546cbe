"""Entities of an experiment: Model, Ensemble, their attached files and parameter spaces;
SmartSim's ``smartsim.entity`` names (``DBModel``, ``DBScript``, ``DBObject`` (either), ``DBNode``,
``SmartSimEntity``, ``EntityList``, ``TelemetryConfiguration``)."""

from insitu.entities.attached_files import EntityFiles
from insitu.entities.base import EntityList, EntitySequence, SmartSimEntity
from insitu.entities.db_objects import DBModel, DBObject, DBScript
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.store.db_node import DBNode, TelemetryConfiguration

__all__ = [
    "DBModel",
    "DBNode",
    "DBObject",
    "DBScript",
    "Ensemble",
    "EntityFiles",
    "EntityList",
    "EntitySequence",
    "Model",
    "SmartSimEntity",
    "TelemetryConfiguration",
]
