"""The entity selection: the entities given to ``Experiment.start``/``stop``/``preview``,
sorted by kind."""

from __future__ import annotations

from dataclasses import dataclass

from insitu.entities.colocation import colocated_store_name
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.errors import EntityExistsError, ParameterTypeError
from insitu.store.orchestrator import Orchestrator

Entity = Model | Ensemble | Orchestrator


@dataclass(frozen=True)
class Selection:
    """The entities of one call, by kind, in the order given.

    Contract: names are unique across the whole selection, ensemble members included, and
    differ from the job names of the colocated stores (``<model>.db_0``).
    """

    orchestrators: tuple[Orchestrator, ...] = ()
    models: tuple[Model, ...] = ()
    ensembles: tuple[Ensemble, ...] = ()

    @property
    def all_models(self) -> tuple[Model, ...]:
        """Stand-alone models followed by every ensemble member."""
        members = tuple(m for e in self.ensembles for m in e.models)
        return self.models + members

    @property
    def colocated_models(self) -> tuple[Model, ...]:
        """The models of :attr:`all_models` that run with a colocated store."""
        return tuple(m for m in self.all_models if m.colocated)

    @property
    def entities(self) -> tuple[Entity, ...]:
        """Every entity, stores first."""
        return (*self.orchestrators, *self.models, *self.ensembles)


def select_entities(*entities: object) -> Selection:
    """Sort ``entities`` (lists and tuples of them are flattened) into a :class:`Selection`.

    Raises ``ParameterTypeError`` (a ``TypeError``) for anything that is not a Model,
    Ensemble or Orchestrator, and ``EntityExistsError`` when a name appears twice.
    """
    stores: list[Orchestrator] = []
    models: list[Model] = []
    ensembles: list[Ensemble] = []
    for entity in _flatten(entities):
        if isinstance(entity, Orchestrator):
            stores.append(entity)
        elif isinstance(entity, Ensemble):
            ensembles.append(entity)
        elif isinstance(entity, Model):
            models.append(entity)
        else:
            raise ParameterTypeError(
                f"expected a Model, Ensemble or Orchestrator, got {type(entity).__name__}"
            )
    selection = Selection(tuple(stores), tuple(models), tuple(ensembles))
    _check_unique(selection)
    return selection


def _flatten(items: tuple[object, ...]) -> list[object]:
    out: list[object] = []
    for item in items:
        if isinstance(item, (list, tuple)):
            out.extend(_flatten(tuple(item)))
        else:
            out.append(item)
    return out


def _check_unique(selection: Selection) -> None:
    names = [s.name for s in selection.orchestrators]
    names += [m.name for m in selection.models] + [e.name for e in selection.ensembles]
    names += [m.name for e in selection.ensembles for m in e.models]
    names += [f"{colocated_store_name(m.name)}_0" for m in selection.colocated_models]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise EntityExistsError(f"two entities are named {name!r}; names must be unique")
        seen.add(name)
