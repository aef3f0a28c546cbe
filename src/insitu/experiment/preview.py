"""``Experiment.preview``: what would be launched, as plain text (pure rendering).

Three verbosity levels, as SmartSim's: ``info`` shows what the user set, ``debug`` adds what
insitu derives (paths, server type and binary, run settings), ``developer`` adds the exact
command lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from pathlib import Path

from insitu.entities.colocation import ColocationSpec
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.errors import InvalidArgumentError, PreviewFormatError
from insitu.experiment.selection import Selection
from insitu.store.orchestrator import Orchestrator


class Verbosity(str, Enum):
    """Preview verbosity, as SmartSim's ``Verbosity``."""

    INFO = "info"
    DEBUG = "debug"
    DEVELOPER = "developer"


class Format(str, Enum):
    """Preview output formats (only plain text, as SmartSim)."""

    PLAINTEXT = "plain_text"


def parse_verbosity(value: object) -> Verbosity:
    """``Verbosity`` from an enum member or its string value; anything else is an error."""
    try:
        return Verbosity(value)
    except ValueError as err:
        known = ", ".join(v.value for v in Verbosity)
        raise InvalidArgumentError(f"verbosity_level {value!r} is not one of {known}") from err


def parse_format(value: object) -> Format:
    """``Format`` from an enum member or its string value; anything else is an error."""
    try:
        return Format(value)
    except ValueError as err:
        raise PreviewFormatError(value) from err


def render_preview(
    exp_name: str,
    exp_path: str,
    launcher: str,
    selection: Selection,
    stores: Sequence[Orchestrator],
    verbosity: Verbosity,
) -> str:
    """The preview text of ``selection``; ``stores`` are the stores models will connect to."""
    lines = [
        "=== Experiment Overview ===",
        f"Experiment Name: {exp_name}",
        f"Experiment Path: {exp_path}",
        f"Launcher: {launcher}",
        "",
        "=== Entity Preview ===",
    ]
    if selection.orchestrators:
        lines += ["", "== Orchestrators =="]
        for store in selection.orchestrators:
            lines += _store_lines(store, verbosity)
    if selection.models:
        lines += ["", "== Models =="]
        for model in selection.models:
            lines += _model_lines(model, stores, verbosity, indent="")
    if selection.ensembles:
        lines += ["", "== Ensembles =="]
        for ensemble in selection.ensembles:
            lines += _ensemble_lines(ensemble, stores, verbosity)
    return "\n".join(lines) + "\n"


def _store_lines(store: Orchestrator, verbosity: Verbosity) -> list[str]:
    lines = [f"= Database Identifier: {store.db_identifier} ="]
    if verbosity is not Verbosity.INFO:
        lines.append(f"Path: {store.path}")
    lines.append(f"Shards: {store.num_shards}")
    if store.replicas:
        lines.append(f"Replicas per shard: {store.replicas}")
    if store.acl:
        lines.append(f"ACL users: {store.acl}")
    lines.append("TCP/IP Port(s):")
    lines += [f"  {port}" for port in store.ports]
    lines.append(f"Network Interface: {', '.join(store.interfaces)}")
    if store.tls_ca is not None:
        lines.append(f"TLS: on, verified against {store.tls_ca}")
    if verbosity is not Verbosity.INFO:
        binary = store.server_binary
        lines.append(f"Type: {binary.flavor}")
        lines.append(f"Executable: {binary.path}")
    if verbosity is Verbosity.DEVELOPER:
        lines.append("Launch Command(s):")
        lines += [
            f"  {binary.path} {Path(store.path) / name / f'{name}.conf'}"
            for name in store.shard_names
        ]
    return lines


def _model_lines(
    model: Model, stores: Sequence[Orchestrator], verbosity: Verbosity, indent: str
) -> list[str]:
    settings = model.run_settings
    lines = [f"= Model Name: {model.name} ="]
    if verbosity is not Verbosity.INFO:
        lines.append(f"Path: {model.path}")
    lines.append(f"Executable: {settings.exe[0]}")
    if settings.exe_args:
        lines.append("Executable Arguments:")
        lines += [f"  {arg}" for arg in settings.exe_args]
    if model.params:
        lines.append("Model Parameters:")
        lines += [f"  {key}: {value}" for key, value in model.params.items()]
    if verbosity is not Verbosity.INFO:
        lines += _run_settings_lines(model)
    if verbosity is Verbosity.DEVELOPER:
        lines.append(f"Launch Command: {' '.join([*settings.exe, *settings.exe_args])}")
    if model.colocation is not None:
        lines += _colocated_lines(model.colocation)
    lines += _client_lines(model, stores)
    return [indent + line for line in lines]


def _run_settings_lines(model: Model) -> list[str]:
    settings = model.run_settings
    lines = [f"Run Command: {settings.run_command or 'none (direct exec)'}"]
    if settings.run_args:
        lines.append("Run Arguments:")
        lines += [f"  {key}: {value}" for key, value in settings.run_args.items()]
    if settings.env_vars:
        lines.append("Environment Variables:")
        lines += [f"  {key}: {value}" for key, value in settings.env_vars.items()]
    return lines


def _colocated_lines(spec: ColocationSpec) -> list[str]:
    """The colocated store as asked for (a default endpoint may move to a free one)."""
    if spec.unix_socket is not None:
        where = [f"  Unix Socket: {spec.unix_socket}", f"  Permissions: {spec.socket_permissions}"]
    else:
        where = [
            f"  TCP/IP Port: {spec.port}",
            f"  Network Interface: {', '.join(spec.interfaces)}",
        ]
    if spec.custom_pinning is None:
        pinning = f"first {spec.db_cpus} available"
    else:
        pinning = ",".join(str(cpu) for cpu in spec.custom_pinning) or "off"
    lines = ["Colocated Database:", f"  Database Identifier: {spec.db_identifier or '(default)'}"]
    lines += [*where, f"  CPUs: {spec.db_cpus}", f"  CPU Pinning: {pinning}"]
    lines.append(f"  Debug: {'on (loglevel verbose)' if spec.debug else 'off'}")
    lines += [f"  {key}: {value}" for key, value in spec.server_options if key != "loglevel"]
    return lines


def _client_lines(model: Model, stores: Sequence[Orchestrator]) -> list[str]:
    lines: list[str] = []
    for store in stores:
        lines += [
            "Client Configuration:",
            f"  Database Identifier: {store.db_identifier}",
            f"  Database Backend: {store.server_binary.flavor}",
            "  TCP/IP Port(s):",
            *[f"    {port}" for port in store.ports],
            f"  Type: {'Clustered' if store.num_shards > 1 else 'Standalone'}",
        ]
    prefix = "On" if model.query_key_prefixing() else "Off"
    lines += ["Outgoing Key Collision Prevention (Key Prefixing):"]
    lines += [
        f"  {kind}: {prefix}"
        for kind in ("Tensors", "Datasets", "ML Models/Torch Scripts", "Aggregation Lists")
    ]
    if model.incoming_entities:
        lines.append("Incoming Entities:")
        lines += [f"  {entity.name}" for entity in model.incoming_entities]
    return lines


def _ensemble_lines(
    ensemble: Ensemble, stores: Sequence[Orchestrator], verbosity: Verbosity
) -> list[str]:
    lines = [f"= Ensemble Name: {ensemble.name} =", f"Members: {len(ensemble.models)}"]
    if verbosity is not Verbosity.INFO:
        lines.append(f"Path: {ensemble.path}")
    for member in ensemble.models:
        lines += _model_lines(member, stores, verbosity, indent="  ")
    return lines
