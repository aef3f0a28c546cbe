"""The Experiment facade and its satellites.

``facade`` (the :class:`Experiment`), ``factories`` (its ``create_*`` methods), ``selection``
(which entities a call names, in launch order), ``preview`` and ``summary`` (what it shows),
``colocated`` (planning the private stores of colocated Models) and ``loading`` (models,
scripts and functions put into stores before the entities that use them start).
"""

from insitu.experiment.facade import Experiment

__all__ = ["Experiment"]
