"""Generator: create an experiment's run directories and fill them with attached files.

Layout (SmartSim 0.8): the experiment directory; for each Model a directory at
``model.path``; for each Ensemble a directory at ``ensemble.path`` and one per member at
``member.path``; for an Orchestrator (anything whose ``type`` is ``"Orchestrator"``) a
directory at its ``path``.

Existing directories: a Model's (or member's) raises ``EntityDirExistsError`` unless
``overwrite``, which removes and recreates it. An Ensemble's or Orchestrator's directory is
reused, or recreated empty with ``overwrite``. Every check — existing directories, files
in the way, unreadable or binary ``to_configure`` files, vanished attachments — happens
before the first directory is created, so a failed generation writes nothing. SmartSim
emptied Orchestrator directories even without ``overwrite``; we keep them. The generation
log ``smartsim_params.txt`` is written as SmartSim writes it (:mod:`.params_log`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from insitu import _checks as tc
from insitu.entities.attached_files import EntityFiles
from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.errors import (
    EntityDirExistsError,
    InvalidArgumentError,
    ParameterWriterError,
    UnsupportedOptionError,
)
from insitu.generation._configure import RenderedFile, render, write_atomic
from insitu.generation.params_log import ConfiguredParams, model_entry, write_params_log
from insitu.generation.templating import DEFAULT_TAG, check_tag
from insitu.log import get_logger

logger = get_logger("insitu.generation")

Kind = Literal["model", "container", "orchestrator"]


@dataclass(frozen=True)
class ConfiguredFile:
    """A configured file of one entity and which params it used or left unused."""

    entity: str
    path: Path
    used: tuple[str, ...]
    unused: tuple[str, ...]


@dataclass(frozen=True)
class GenerationReport:
    """What :meth:`Generator.generate_experiment` created."""

    directories: tuple[Path, ...]
    configured: tuple[ConfiguredFile, ...]


@dataclass(frozen=True)
class _Target:
    path: Path
    kind: Kind
    owner: str


@dataclass(frozen=True)
class _ModelPlan:
    model: Model
    files: EntityFiles
    dirs: tuple[Path, ...]
    rendered: tuple[RenderedFile, ...]


class Generator:
    """Creates run directories under ``gen_path`` (the experiment directory).

    ``tag`` is the delimiter of parameters in ``to_configure`` files (default ``;``).
    """

    def __init__(
        self, gen_path: str | os.PathLike[str], overwrite: bool = False, tag: str | None = None
    ) -> None:
        if not isinstance(gen_path, str | os.PathLike):
            raise tc.type_error("gen_path", gen_path, "a str or os.PathLike")
        self.gen_path = Path(os.path.abspath(os.fspath(gen_path)))
        self.overwrite = tc.check_bool("overwrite", overwrite)
        self._tag = DEFAULT_TAG if tag is None else check_tag(tag)

    @property
    def tag(self) -> str:
        """The parameter delimiter used in ``to_configure`` files."""
        return self._tag

    def set_tag(self, tag: str, regex: str | None = None) -> None:
        """Use ``tag`` as the delimiter; SmartSim's ``regex`` form is not supported."""
        if regex is not None:
            raise UnsupportedOptionError("regex", "Generator", "tags are literal delimiters")
        self._tag = check_tag(tag)

    def generate_experiment(self, *entities: object) -> GenerationReport:
        """Create the directories of ``entities`` and write their attached files.

        Raises ``EntityDirExistsError`` (a ``FileExistsError``) naming the path when a
        Model's directory exists and ``overwrite`` is false, ``ParameterWriterError`` naming
        a ``to_configure`` file that is not UTF-8 text; in both cases nothing is written.
        """
        targets, models = _plan(entities)
        _check_layout(self.gen_path, targets)
        self._check_existing(targets)
        plans = [self._plan_model(model) for model in models]
        self.gen_path.mkdir(parents=True, exist_ok=True)
        # Ensemble directories first: recreating one must not remove what was just made in it.
        for target in sorted(targets, key=lambda t: (t.kind != "container", len(t.path.parts))):
            self._make_dir(target)
        configured = [item for plan in plans for item in _populate(plan)]
        entries = [(Path(p.model.path), self._params_entry(p.model, configured)) for p in plans]
        write_params_log(self.gen_path, [(path, entry) for path, entry in entries if entry])
        return GenerationReport(tuple(t.path for t in targets), tuple(configured))

    def _params_entry(self, model: Model, configured: list[ConfiguredFile]) -> str:
        """``model``'s entry of ``smartsim_params.txt`` (see :mod:`.params_log`)."""
        files = [
            ConfiguredParams(
                os.path.relpath(item.path, self.gen_path),
                {name: str(model.params[name]) for name in item.used},
            )
            for item in configured
            if item.entity == model.name
        ]
        return model_entry(model.name, files)

    def _check_existing(self, targets: list[_Target]) -> None:
        if self.gen_path.exists() and not self.gen_path.is_dir():
            raise EntityDirExistsError(
                f"Experiment directory could not be created: {self.gen_path} is not a directory"
            )
        for target in targets:
            path = target.path
            if path.exists() and not path.is_dir():
                raise EntityDirExistsError(f"{path} exists and is not a directory")
            if target.kind == "model" and path.exists() and not self.overwrite:
                raise EntityDirExistsError(
                    f"Directory for entity {target.owner} already exists in path {path}"
                )

    def _plan_model(self, model: Model) -> _ModelPlan:
        files = model.files or EntityFiles()
        for path in files:
            if not path.exists():
                raise ParameterWriterError(f"attached file {str(path)!r} of {model.name} vanished")
        dirs, rendered = render(files.tagged, model.params, self._tag)
        return _ModelPlan(model, files, tuple(dirs), tuple(rendered))

    def _make_dir(self, target: _Target) -> None:
        path = target.path
        if path.exists() and (self.overwrite or target.kind == "model"):
            _remove(path)
        path.mkdir(parents=True, exist_ok=True)
        logger.debug("created %s directory %s", target.kind, path)


def _plan(entities: Iterable[object]) -> tuple[list[_Target], list[Model]]:
    """Directories to create (containers before their members) and Models to fill."""
    targets: list[_Target] = []
    models: list[Model] = []
    for entity in entities:
        if isinstance(entity, Model):
            targets.append(_Target(Path(entity.path), "model", entity.name))
            models.append(entity)
        elif isinstance(entity, Ensemble):
            targets.append(_Target(Path(entity.path), "container", entity.name))
            for member in entity.models:
                targets.append(_Target(Path(member.path), "model", member.name))
                models.append(member)
        elif getattr(entity, "type", None) == "Orchestrator":
            path = tc.check_str("orchestrator path", getattr(entity, "path", None))
            name = str(getattr(entity, "name", "orchestrator"))
            targets.append(_Target(Path(os.path.abspath(path)), "orchestrator", name))
        else:
            raise tc.type_error("entity", entity, "a Model, Ensemble or Orchestrator")
    return targets, models


def _check_layout(gen_path: Path, targets: list[_Target]) -> None:
    """No two entities share a directory; none would remove the experiment or another."""
    seen: dict[Path, str] = {}
    for target in targets:
        if target.path in seen:
            raise InvalidArgumentError(
                f"{target.owner} and {seen[target.path]} share the directory {target.path}"
            )
        seen[target.path] = target.owner
        if target.path == gen_path or target.path in gen_path.parents:
            raise InvalidArgumentError(
                f"the directory of {target.owner} ({target.path}) would contain the experiment"
            )
    for target in targets:
        if target.kind == "container":
            continue
        inner = [t.owner for t in targets if target.path in t.path.parents]
        if inner:
            raise InvalidArgumentError(
                f"the directory of {target.owner} ({target.path}) contains those of {inner}"
            )


def _remove(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path)


def _populate(plan: _ModelPlan) -> list[ConfiguredFile]:
    """Copy, symlink, then write configured files into the Model's directory."""
    root = Path(plan.model.path)
    for source in plan.files.copy:
        _copy(source, root)
    for source in plan.files.link:
        destination = root / source.name
        try:
            os.symlink(source, destination)
        except OSError as err:
            raise ParameterWriterError(f"could not symlink {str(destination)!r}: {err}") from err
    for relpath in plan.dirs:
        (root / relpath).mkdir(parents=True, exist_ok=True)
    configured = []
    for item in plan.rendered:
        destination = root / item.relpath
        destination.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(destination, item.content, item.mode)
        configured.append(ConfiguredFile(plan.model.name, destination, item.used, item.unused))
    if plan.rendered:
        logger.debug("configured %s with params %s", plan.model.name, plan.model.params)
    return configured


def _copy(source: Path, root: Path) -> None:
    """A file keeps its name; a directory's contents merge into ``root`` (SmartSim)."""
    try:
        if source.is_dir():
            shutil.copytree(source, root, dirs_exist_ok=True)
        else:
            shutil.copy(source, root / source.name)
    except (OSError, shutil.Error) as err:
        raise ParameterWriterError(f"could not copy {str(source)!r} into {root}: {err}") from err
