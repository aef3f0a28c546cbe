"""Event-driven ensembles: ensemble-python's rules (triggers → actions) over insitu's runtime.

A rules file (or mapping) is loaded into an :class:`EnsembleSpec` (``load_file``,
``parse_document``); the pure :class:`Engine` turns events into effects; an
:class:`EnsembleRunner` feeds it from a member (executor) and carries the effects out.
``run_file`` runs a file to completion; ``attach_rules`` puts rules over an Experiment's
Models and Ensembles. The file's words are typed: :data:`Trigger`, :data:`ActionName`,
:data:`ComparisonOp` and :data:`JobEventName` (``Literal`` types; plain strings at run time).
See ``docs/rules.md``.
"""

from insitu.rules.api import attach_rules, run_file
from insitu.rules.engine import Engine
from insitu.rules.metrics import MetricsSnapshot
from insitu.rules.model import (
    Action,
    ActionName,
    ComparisonOp,
    Condition,
    EnsembleSpec,
    JobEventName,
    JobTemplate,
    Rule,
    Trigger,
)
from insitu.rules.parse import load_file, parse_document
from insitu.rules.runner import EnsembleResult, EnsembleRunner
from insitu.rules.store_source import publish_metric

__all__ = [
    "Action",
    "ActionName",
    "ComparisonOp",
    "Condition",
    "Engine",
    "EnsembleResult",
    "EnsembleRunner",
    "EnsembleSpec",
    "JobEventName",
    "JobTemplate",
    "MetricsSnapshot",
    "Rule",
    "Trigger",
    "attach_rules",
    "load_file",
    "parse_document",
    "publish_metric",
    "run_file",
]
