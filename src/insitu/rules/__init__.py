"""Event-driven ensembles: ensemble-python's rules (triggers → actions) over insitu's runtime.

A rules file (or mapping) is loaded into an :class:`EnsembleSpec` (``load_file``,
``parse_document``); the pure :class:`Engine` turns events into effects; an
:class:`EnsembleRunner` feeds it from a member (executor) and carries the effects out.
``run_file`` runs a file to completion; ``attach_rules`` puts rules over an Experiment's
Models and Ensembles. See ``docs/rules.md``.
"""

from insitu.rules.api import attach_rules, run_file
from insitu.rules.engine import Engine
from insitu.rules.metrics import MetricsSnapshot
from insitu.rules.model import Action, Condition, EnsembleSpec, JobTemplate, Rule
from insitu.rules.parse import load_file, parse_document
from insitu.rules.runner import EnsembleResult, EnsembleRunner
from insitu.rules.store_source import publish_metric

__all__ = [
    "Action",
    "Condition",
    "Engine",
    "EnsembleResult",
    "EnsembleRunner",
    "EnsembleSpec",
    "JobTemplate",
    "MetricsSnapshot",
    "Rule",
    "attach_rules",
    "load_file",
    "parse_document",
    "publish_metric",
    "run_file",
]
