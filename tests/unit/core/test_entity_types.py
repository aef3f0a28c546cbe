"""EntityType reads, prints and serialises as SmartSim's entity type names."""

from __future__ import annotations

import json

from insitu.jobs import EntityType


def test_entity_types_are_smartsims_names_everywhere() -> None:
    assert EntityType.MODEL == "Model" and EntityType("DBNode") is EntityType.DB_NODE
    assert str(EntityType.WORKER) == "Worker" and f"{EntityType.MODEL:>7}" == "  Model"
    assert json.dumps({"t": EntityType.ENSEMBLE_JOB}) == '{"t": "EnsembleJob"}'
