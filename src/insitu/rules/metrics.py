"""Per-group metrics: river's streaming statistics, outcome counts and store metrics (pure).

Paths are ensemble-python's: ``count.<group>.<finished|success|failed|cancelled>`` and
``<stat>.<group>-<duration|pending>`` with ``stat`` one of ``variance``, ``mean``, ``iqr``,
``max``, ``min``, ``mad`` (river's ``Var``, ``Mean``, ``IQR``, ``Max``, ``Min``, ``MAD``).
Group names may contain dots: the group is everything between the first and the last part.
``store.<name>`` reads a value an application published to the feature store (see
:class:`MetricSource` and ``docs/rules.md`` for the key layout).

Pending time (queue wait) of jobs still waiting is *provisional*: a heartbeat sets it to the
current wait, and it is replaced — never added twice — by the final wait when the job starts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from river import stats
from typing_extensions import assert_never

from insitu.rules.model import match_choice

STATS: Mapping[str, Callable[[], stats.base.Univariate]] = {
    "variance": stats.Var,
    "mean": stats.Mean,
    "iqr": stats.IQR,
    "max": stats.Max,
    "min": stats.Min,
    "mad": stats.MAD,
}
# Literals, as the rules file's words (see insitu.rules.model): they are spelled in metric paths.
Counter = Literal["finished", "success", "failed", "cancelled"]
"""The counters of ``count.<group>.<counter>``."""
MetricKind = Literal["count", "stat", "store"]
"""The three forms of a metric path."""

COUNTS: tuple[Counter, ...] = get_args(Counter)
SERIES: tuple[str, ...] = ("duration", "pending")
STORE_PREFIX = "store."

METRIC_KEY_PREFIX = "insitu:metric:"
"""Store key of an application-published metric: ``insitu:metric:<name>``, a decimal string."""


_SPREADS = frozenset({"iqr", "mad"})
"""Statistics that measure a spread: never negative."""


@dataclass(frozen=True)
class MetricPath:
    """A parsed metric path: ``kind`` is ``count``, ``stat`` or ``store``.

    ``stat`` is the statistic (or counter) name; ``key`` is the group (count), series
    (stat, ``<group>-<series>``) or store metric name.
    """

    kind: MetricKind
    stat: str
    key: str

    def __str__(self) -> str:
        match self.kind:
            case "count":
                return f"count.{self.key}.{self.stat}"
            case "store":
                return f"{STORE_PREFIX}{self.key}"
            case "stat":
                return f"{self.stat}.{self.key}"
            case _:
                assert_never(self.kind)


def parse_metric_path(text: str, groups: Iterable[str]) -> MetricPath:
    """Parse ``text``; ``ValueError`` naming the accepted forms if it is not a known metric."""
    known = set(groups)
    if text.startswith(STORE_PREFIX) and len(text) > len(STORE_PREFIX):
        return MetricPath("store", "value", text[len(STORE_PREFIX) :])
    head, _, rest = text.partition(".")
    if head == "count" and "." in rest:
        group, _, name = rest.rpartition(".")
        counter = match_choice(name, COUNTS)
        if counter is None:
            raise ValueError(f"unknown counter {name!r}; use one of {', '.join(COUNTS)}")
        _check_group(group, known)
        return MetricPath("count", counter, group)
    if head in STATS and "-" in rest:
        group, _, series = rest.rpartition("-")
        if series not in SERIES:
            raise ValueError(f"unknown series {series!r}; use <group>-duration or <group>-pending")
        _check_group(group, known)
        return MetricPath("stat", head, rest)
    raise ValueError(
        f"unknown metric {text!r}; use count.<group>.<{'|'.join(COUNTS)}>, "
        f"<{'|'.join(STATS)}>.<group>-<duration|pending> or store.<name>"
    )


def _check_group(group: str, known: set[str]) -> None:
    if group not in known:
        raise ValueError(f"unknown job group {group!r}; known: {', '.join(sorted(known))}")


class Series:
    """Every statistic of one stream of numbers (e.g. ``sleep-duration``)."""

    def __init__(self) -> None:
        self._stats = {name: factory() for name, factory in STATS.items()}
        self.n = 0

    def update(self, value: float) -> None:
        """Add one observation to every statistic."""
        for stat in self._stats.values():
            stat.update(value)
        self.n += 1

    def get(self, stat: str) -> float | None:
        """Current value of ``stat`` (None before the first observation); river's value, with
        the spreads (``iqr``, ``mad``) never below 0."""
        if self.n == 0:
            return None
        value = self._stats[stat].get()
        if value is None:
            return None
        if stat in _SPREADS:
            # river's streaming quantiles (P²) can cross on a few observations and give a
            # slightly negative spread; a spread is never below 0, and rules compare it to 0.
            return max(0.0, float(value))
        return float(value)

    def values(self) -> dict[str, float | None]:
        """Every statistic by name."""
        return {name: self.get(name) for name in STATS}

    def with_extra(self, extra: Iterable[float]) -> Series:
        """A copy that has also seen ``extra`` (self is unchanged)."""
        out = copy.deepcopy(self)
        for value in extra:
            out.update(value)
        return out


@dataclass(frozen=True)
class MetricsSnapshot:
    """A read-only copy of every metric at one moment (given to custom actions, CLI, JSON).

    ``counts[group][counter]``, ``series[name][stat]``, ``store[name]``.
    """

    counts: Mapping[str, Mapping[str, int]]
    series: Mapping[str, Mapping[str, float | None]]
    store: Mapping[str, float]

    def get(self, path: str) -> float | None:
        """The value at an ensemble-python path (None when it has no value yet)."""
        head, _, rest = path.partition(".")
        if head == "count":
            group, _, counter = rest.rpartition(".")
            count = self.counts.get(group, {}).get(counter)
            return None if count is None else float(count)
        if head == "store":
            return self.store.get(rest)
        return self.series.get(rest, {}).get(head)

    @property
    def models(self) -> dict[str, dict[str, object]]:
        """ensemble-python's layout: ``models["mean"]["sleep-duration"]``, ``models["count"]``."""
        out: dict[str, dict[str, object]] = {stat: {} for stat in STATS}
        for name, values in self.series.items():
            for stat, value in values.items():
                out[stat][name] = value
        out["count"] = {group: dict(counts) for group, counts in self.counts.items()}
        return out

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form: ``{"counts": …, "series": …, "store": …}``."""
        return {
            "counts": {g: dict(c) for g, c in self.counts.items()},
            "series": {s: dict(v) for s, v in self.series.items()},
            "store": dict(self.store),
        }


class Metrics:
    """The live metrics of one ensemble (mutated only by the engine)."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.series: dict[str, Series] = {}
        self.store: dict[str, float] = {}
        self._provisional: dict[str, dict[str, float]] = {}
        self._views: dict[str, Series] = {}

    def ensure_group(self, group: str) -> None:
        """Create the (zero) counters of ``group``: count paths resolve once it has jobs."""
        if group not in self.counts:
            self.counts[group] = dict.fromkeys(COUNTS, 0)

    def increment(self, group: str, counter: Counter) -> None:
        """Add one to ``count.<group>.<counter>``."""
        self.ensure_group(group)
        self.counts[group][counter] += 1

    def record(self, series: str, value: float) -> None:
        """Add a final observation to ``series``."""
        self.series.setdefault(series, Series()).update(value)
        self._views.pop(series, None)

    def set_provisional(self, series: str, job: str, value: float) -> None:
        """Count ``job`` in ``series`` with ``value`` until it is finalised or cleared."""
        self._provisional.setdefault(series, {})[job] = value
        self._views.pop(series, None)

    def clear_provisional(self, series: str, job: str) -> None:
        """Drop ``job``'s provisional value (its final one is recorded separately)."""
        pending = self._provisional.get(series)
        if pending is not None and pending.pop(job, None) is not None:
            self._views.pop(series, None)

    def value(self, path: MetricPath) -> float | None:
        """Current value at ``path`` (None while it has none)."""
        match path.kind:
            case "count":
                group = self.counts.get(path.key)
                return None if group is None else float(group[path.stat])
            case "store":
                return self.store.get(path.key)
            case "stat":
                view = self._view(path.key)
                return None if view is None else view.get(path.stat)
            case _:
                assert_never(path.kind)

    def snapshot(self) -> MetricsSnapshot:
        """A frozen copy of every metric."""
        names = set(self.series) | {s for s, p in self._provisional.items() if p}
        series: dict[str, Mapping[str, float | None]] = {}
        for name in sorted(names):
            view = self._view(name)
            if view is not None:
                series[name] = view.values()
        counts = {g: dict(c) for g, c in self.counts.items()}
        return MetricsSnapshot(counts, series, dict(self.store))

    def _view(self, name: str) -> Series | None:
        pending = self._provisional.get(name)
        base = self.series.get(name)
        if not pending:
            return base
        view = self._views.get(name)
        if view is None:
            view = (base or Series()).with_extra(pending.values())
            self._views[name] = view
        return view


class MetricSource(Protocol):
    """Where ``store.<name>`` metrics come from (redis-py today, the Client later).

    ``read`` returns the current value of each name that has one; names without a value
    (or with one that is not a number) are left out.
    """

    def read(self, names: Sequence[str]) -> Mapping[str, float]: ...

    def close(self) -> None: ...


def metric_key(name: str) -> str:
    """The store key under which an application publishes metric ``name``."""
    return f"{METRIC_KEY_PREFIX}{name}"


def parse_metric_value(raw: bytes | str | None) -> float | None:
    """A published value as a float; None when absent or not a number."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        return float(text.strip())
    except ValueError:
        return None
