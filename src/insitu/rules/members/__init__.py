"""Members (executors): the workload managers an ensemble's jobs run on.

:func:`create_member` maps an executor name to a member, lazily: ``local`` (insitu's local
launcher), ``slurm`` (insitu's Slurm launcher, once registered), ``flux`` (Flux's bindings).
Which names are executors is data of the launcher registry
(:func:`insitu.launchers.registry.rules_executors`).
"""

from __future__ import annotations

from pathlib import Path

from insitu.errors import UnknownLauncherError
from insitu.launchers.registry import create_launcher, rules_executors
from insitu.rules.members.base import Member, Sink
from insitu.rules.model import ExecutorOptions

EXECUTORS = rules_executors()


def create_member(name: str, options: ExecutorOptions | None = None) -> Member:
    """A new member for executor ``name``, owning its own runtime controller.

    ``UnknownLauncherError`` for an unknown name or a launcher this installation lacks;
    ``MissingDependencyError`` for ``flux`` without Flux's Python bindings.
    """
    opts = options or ExecutorOptions()
    if name == "flux":
        from insitu.rules.members.flux import FluxMember

        return FluxMember()
    if name not in EXECUTORS:
        raise UnknownLauncherError(name, EXECUTORS, "unknown executor")
    from insitu.rules.members.local import ControllerMember
    from insitu.runtime.controller import Controller

    logs = Path(opts.logs) if opts.logs else None
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
    controller = Controller(create_launcher(name))
    return ControllerMember(controller, size=opts.size, logs=logs, owns_controller=True)


def member_events(name: str) -> tuple[str, ...]:
    """The job events executor ``name`` emits (what ``job-<event>`` rules may use)."""
    if name == "flux":
        from insitu.rules.members.flux import FLUX_EVENTS
        from insitu.rules.model import JOB_EVENTS

        return (*JOB_EVENTS, *FLUX_EVENTS)
    from insitu.rules.model import JOB_EVENTS

    return JOB_EVENTS


__all__ = ["EXECUTORS", "Member", "Sink", "create_member", "member_events"]
