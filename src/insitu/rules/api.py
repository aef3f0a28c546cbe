"""The Python API: run a rules file, or attach rules to an Experiment's entities.

::

    from insitu.rules import attach_rules

    session = attach_rules(exp, [
        {"trigger": "metric", "name": "count.sim.success", "when": ">= 3",
         "action": {"name": "submit", "label": "train"}},
        {"trigger": "metric", "name": "store.loss", "when": "< 0.01",
         "action": {"name": "cancel", "label": "sim"}},
    ], entities=[sim, train], store=db)
    exp.start(sim, block=False)
    session.wait()
    session.close()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from insitu.errors import RuleSyntaxError
from insitu.rules.members import create_member, member_events
from insitu.rules.members.experiment import ExperimentMember
from insitu.rules.metrics import MetricSource
from insitu.rules.parse import load_file, parse_document
from insitu.rules.runner import EnsembleResult, EnsembleRunner, Observer
from insitu.rules.store_source import StoreMetricSource
from insitu.wire.telemetry import RulesSample

if TYPE_CHECKING:
    from insitu.entities.ensemble import Ensemble
    from insitu.entities.model import Model
    from insitu.experiment import Experiment
    from insitu.store.orchestrator import Orchestrator

RulesInput = str | os.PathLike[str] | Mapping[str, object] | Sequence[Mapping[str, object]]


def run_file(
    path: str | os.PathLike[str],
    executor: str | None = None,
    observer: Observer | None = None,
    metric_source: MetricSource | None = None,
    timeout: float | None = None,
) -> EnsembleResult:
    """Run the rules file at ``path`` to completion (or ``terminate``) and return the result.

    ``executor`` overrides the file's ``executor.name`` (default ``local``). On timeout or
    an exception every job is stopped before this returns or raises.
    """
    name = executor or file_executor(path) or "local"
    spec = load_file(path, job_events=member_events(name))
    member = create_member(name, spec.executor)
    with EnsembleRunner(spec, member, metric_source, observer) as runner:
        runner.wait(timeout)
        return runner.result()


def attach_rules(
    exp: Experiment,
    rules: RulesInput,
    entities: Sequence[Model | Ensemble],
    store: Orchestrator | None = None,
    observer: Observer | None = None,
) -> EnsembleRunner:
    """Start a rules session over ``entities`` of ``exp`` and return its (started) runner.

    ``rules`` is a file path, a mapping in the file format without ``jobs``, or a list of
    rule mappings. Job groups are the entities' names (an Ensemble's members form its
    group). ``store`` is the Orchestrator whose published metrics ``store.<name>`` rules
    read. Call ``wait()`` and then ``close()`` on the runner (or use it in ``with``).
    """
    member = ExperimentMember(exp, entities)
    document, source = _document(rules)
    spec = parse_document(document, groups=member.groups, source=source)
    metrics: MetricSource | None = None
    if store is not None and spec.store_metrics():
        metrics = StoreMetricSource(
            store.get_address(), store.password, store.is_clustered, store.tls_ca
        )
    runner = EnsembleRunner(spec, member, metrics, observer)
    runner.start()
    # Its metrics join the experiment's telemetry, named after the groups it steers.
    session = ",".join(sorted(member.groups))
    runner.on_close(exp.telemetry.add_source(f"rules:{session}", _metrics_source(runner, session)))
    return runner


def _metrics_source(runner: EnsembleRunner, session: str) -> Callable[[str, float], RulesSample]:
    """A telemetry source: the session's metrics at each sampling round."""

    def sample(run: str, now: float) -> RulesSample:
        metrics = runner.result().metrics
        return RulesSample(run, now, session, metrics.counts, metrics.series, metrics.store)

    return sample


def _document(rules: RulesInput) -> tuple[object, str | None]:
    if isinstance(rules, str | os.PathLike):
        path = Path(rules)
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8")), str(path)
        except (OSError, yaml.YAMLError) as err:
            raise RuleSyntaxError("", f"cannot load {path}: {err}") from err
    if isinstance(rules, Mapping):
        return dict(rules), None
    return {"rules": list(rules)}, None


def file_executor(path: str | os.PathLike[str]) -> str | None:
    """The file's ``executor.name`` if it has one (read before choosing the member)."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None  # load_file reports the problem with its path
    if isinstance(document, dict) and isinstance(document.get("executor"), dict):
        name = document["executor"].get("name")
        return name if isinstance(name, str) else None
    return None
