"""Entities of an experiment: Model, Ensemble, their attached files and parameter spaces."""

from insitu.entities.attached_files import EntityFiles
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model

__all__ = ["Ensemble", "EntityFiles", "Model"]
