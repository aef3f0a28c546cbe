"""An Experiment's telemetry: SmartSim's ``Experiment.telemetry`` switch over insitu's sampler.

One notion of telemetry, SmartSim's: the experiment's switch (on by default) starts and stops
sampling as a whole; each store's own switch, ``Orchestrator.telemetry`` (off by default, as
in SmartSim, where enabling it adds the memory and client collectors), says whether that store
is sampled. While both are on, the store is sampled every ``period`` seconds into
``<exp_path>/.insitu/telemetry.jsonl`` (:mod:`insitu.runtime.telemetry`); either switch may be
turned at any time and takes effect from the next round. Rules sessions attached to the
experiment add their metrics while the experiment's switch is on.

The environment sets the defaults, read once when the Experiment is made:
``INSITU_TELEMETRY`` (``0``/``1``), ``INSITU_TELEMETRY_PERIOD`` (seconds, default 5) and
``INSITU_TELEMETRY_MAX_BYTES`` (the size at which the file is rotated, default 32 MiB).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping

from insitu.errors import InvalidArgumentError
from insitu.runtime.controller import Store
from insitu.runtime.events import StoreEvent
from insitu.runtime.telemetry import DEFAULT_MAX_BYTES, DEFAULT_PERIOD, Source, TelemetrySampler
from insitu.store.db_node import TelemetryConfiguration
from insitu.store.orchestrator import Orchestrator
from insitu.store.shard_client import shard_endpoints

ENV_ENABLED = "INSITU_TELEMETRY"
ENV_PERIOD = "INSITU_TELEMETRY_PERIOD"
ENV_MAX_BYTES = "INSITU_TELEMETRY_MAX_BYTES"


def settings_from_env(env: Mapping[str, str]) -> tuple[bool, float, int]:
    """``(enabled, period, max_bytes)`` from ``env``; InvalidArgumentError naming a variable
    whose value is not valid."""
    enabled = env.get(ENV_ENABLED, "1").strip().lower()
    if enabled not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise InvalidArgumentError(f"{ENV_ENABLED}={enabled!r}: use 1 (on) or 0 (off)")
    period = _positive(env, ENV_PERIOD, DEFAULT_PERIOD)
    max_bytes = int(_positive(env, ENV_MAX_BYTES, DEFAULT_MAX_BYTES))
    return enabled in ("1", "true", "yes", "on"), period, max_bytes


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InvalidArgumentError(f"{name}={text!r}: must be a positive number")
    return value


class ExperimentTelemetryConfiguration(TelemetryConfiguration):
    """``exp.telemetry``: ``enable()``, ``disable()``, ``is_enabled`` (SmartSim's names, and a
    :class:`~insitu.store.db_node.TelemetryConfiguration` as there) and ``period``, the
    seconds between two samples. The switch is the sampler's own, read every round."""

    def __init__(self, sampler: TelemetrySampler, enabled: bool) -> None:
        super().__init__(enabled)
        self._sampler = sampler
        sampler.enabled = enabled

    @property
    def is_enabled(self) -> bool:
        """True while stores (and rules sessions) are sampled."""
        return self._sampler.enabled

    def enable(self) -> None:
        """Sample from the next round on."""
        self._sampler.enabled = True

    def disable(self) -> None:
        """Stop sampling (the file keeps what was written)."""
        self._sampler.enabled = False

    @property
    def period(self) -> float:
        """Seconds between two samples."""
        return self._sampler.period

    @period.setter
    def period(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError("period must be a number of seconds")
        if not (math.isfinite(seconds) and seconds > 0):
            raise InvalidArgumentError(f"telemetry period must be positive, got {seconds}")
        self._sampler.period = float(seconds)

    def add_source(self, name: str, source: Source) -> Callable[[], None]:
        """Add ``source``'s sample to every round (rules sessions use this); call the
        returned function to remove it."""
        return self._sampler.add_source(name, source)

    def __repr__(self) -> str:
        state = "enabled" if self.is_enabled else "disabled"
        return f"ExperimentTelemetryConfiguration({state}, period={self.period:g}s)"


class StoreSampling:
    """A store-event listener: watch each store once ready, stop when it has stopped; the
    store's own ``telemetry`` switch decides, round by round, whether it is sampled.
    ``find`` returns the running store of a name (its password reaches the probes only)."""

    def __init__(self, sampler: TelemetrySampler, find: Callable[[str], Store | None]) -> None:
        self._sampler = sampler
        self._find = find

    def __call__(self, event: StoreEvent) -> None:
        if event.state == "stopped":
            self._sampler.unwatch(event.name)
            return
        store = self._find(event.name)
        if isinstance(store, Orchestrator):
            endpoints = shard_endpoints(event.addresses, store.password, tls_ca=store.tls_ca)
            switch = store.telemetry
            self._sampler.watch(event.name, endpoints, event.clustered, lambda: switch.is_enabled)


def watch_reconnected(sampler: TelemetrySampler, store: Orchestrator) -> None:
    """Sample ``store``, reconnected to from a checkpoint (no store event announces it), as
    :class:`StoreSampling` samples the stores this driver started: per its own switch."""
    endpoints = shard_endpoints(store.shard_addresses, store.password, tls_ca=store.tls_ca)
    switch = store.telemetry
    sampler.watch(store.name, endpoints, store.is_clustered, lambda: switch.is_enabled)


def default_settings() -> tuple[bool, float, int]:
    """The settings of this process's environment (see :func:`settings_from_env`)."""
    return settings_from_env(os.environ)
