"""The one launcher list: names, usability, auto detection, and who reads it."""

from __future__ import annotations

import argparse
import ast
import stat
from pathlib import Path

import pytest

import insitu
from insitu.errors import (
    AllocationError,
    LauncherNotAvailableError,
    UnknownLauncherError,
    UnsupportedOptionError,
)
from insitu.jobs import JobSpec, Resources
from insitu.launchers import registry
from insitu.launchers.local import LocalLauncher

SRC = Path(insitu.__file__).parent


USABLE = ("local", "slurm", "pbs", "pals", "lsf", "sge")


def test_every_smartsim_name_is_known_and_the_schedulers_are_usable() -> None:
    assert registry.KNOWN_LAUNCHERS == (
        "local",
        "slurm",
        "pbs",
        "pals",
        "lsf",
        "flux",
        "dragon",
        "sge",
    )
    assert registry.available_launchers() == USABLE
    assert tuple(i.name for i in registry.LAUNCHERS if i.usable) == USABLE


@pytest.mark.parametrize("name", ["local", "LOCAL", " Local "])
def test_names_are_case_and_space_insensitive(name: str) -> None:
    assert registry.resolve_launcher_name(name) == "local"


@pytest.mark.parametrize("name", ["flux", "dragon"])
def test_known_names_are_not_available_yet(name: str) -> None:
    with pytest.raises(LauncherNotAvailableError, match="not supported yet") as info:
        registry.resolve_launcher_name(name)
    # The Experiment's error and the Orchestrator's error (SmartSim raises SSUnsupportedError).
    assert isinstance(info.value, UnknownLauncherError)
    assert isinstance(info.value, UnsupportedOptionError)
    assert info.value.option == "launcher" and info.value.known == (*USABLE, "auto")


def test_unknown_names() -> None:
    with pytest.raises(UnknownLauncherError, match="unknown name") as info:
        registry.resolve_launcher_name("kubernetes")
    # SmartSim raises SSUnsupportedError for a launcher it does not support.
    assert isinstance(info.value, UnsupportedOptionError)
    with pytest.raises(UnknownLauncherError):
        registry.resolve_launcher_name(3)  # type: ignore[arg-type]
    with pytest.raises(UnknownLauncherError):
        registry.launcher_info("cobalt")


def _fake_bin(directory: Path, *names: str) -> Path:
    for name in names:
        path = directory / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return directory


def test_auto_detects_only_usable_launchers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INSITU_LAUNCHER", raising=False)
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path, "sbatch", "qsub", "bsub", "flux")))
    assert registry.resolve_launcher_name("auto") == "local"  # no scheduler is complete
    _fake_bin(tmp_path, "squeue", "srun", "scancel")
    assert registry.detect_launcher() == ("slurm", "sbatch, squeue, srun, scancel found on PATH")
    assert registry.resolve_launcher_name("auto") == "slurm"
    rows = {name: (ok, detail) for name, ok, detail in registry.detection_report()}
    assert rows["slurm"][0] and not rows["flux"][0]
    assert "not usable" in rows["flux"][1]
    monkeypatch.setenv("INSITU_LAUNCHER", "local")
    assert registry.detect_launcher() == ("local", "INSITU_LAUNCHER=local")
    monkeypatch.setenv("INSITU_LAUNCHER", "cobalt")
    with pytest.raises(UnknownLauncherError):
        registry.resolve_launcher_name("auto")


def test_create_launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no workload manager here
    launcher = registry.create_launcher("auto")
    try:
        assert isinstance(launcher, LocalLauncher)
    finally:
        launcher.shutdown()
    with pytest.raises(LauncherNotAvailableError):
        registry.create_launcher("dragon")


def test_check_spec_is_the_launchers_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    registry.check_spec("local", JobSpec("ok", "/bin/true"))
    wide = JobSpec("wide", "/bin/true", resources=Resources(nodes=2))
    with pytest.raises(UnsupportedOptionError, match="the local launcher"):
        registry.check_spec("local", wide)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    with pytest.raises(AllocationError, match="outside"):
        registry.check_spec("slurm", wide)
    with pytest.raises(LauncherNotAvailableError):
        registry.check_spec("dragon", wide)


def test_run_command_candidates() -> None:
    assert registry.run_command_candidates("local") is None
    assert registry.run_command_candidates("flux") is None
    assert registry.run_command_candidates("slurm") == ("srun", "mpirun", "mpiexec")
    assert registry.run_command_candidates("pals") == ("pals",)
    assert registry.run_command_candidates("auto") == ("srun", "aprun", "mpirun", "mpiexec")
    with pytest.raises(UnknownLauncherError):
        registry.run_command_candidates("cobalt")


def test_batch_commands_and_their_dialects() -> None:
    assert registry.batch_commands() == ("sbatch", "qsub", "bsub")
    for command in registry.batch_commands():
        assert registry.batch_dialect(command).command == command
    prefixes = {c: registry.batch_dialect(c).prefix for c in registry.batch_commands()}
    assert prefixes == {"sbatch": "#SBATCH", "qsub": "#PBS", "bsub": "#BSUB"}
    with pytest.raises(KeyError):
        registry.batch_dialect("msub")


def test_rules_executors_are_data_of_the_registry() -> None:
    assert registry.rules_executors() == ("local", "slurm", "pbs", "lsf", "flux")


def test_every_reader_reads_the_registry() -> None:
    from insitu.cli import ensemble as cli
    from insitu.rules import members, schema
    from insitu.settings import batch_settings

    assert registry.rules_executors() == members.EXECUTORS
    executor = schema.ensemble_schema(["start"])["properties"]["executor"]
    assert executor["properties"]["name"]["enum"] == list(registry.rules_executors())
    assert registry.batch_commands() == batch_settings.BATCH_COMMANDS
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    run = parser.parse_args(["run", "x.yaml", "--executor", "flux"])
    assert run.executor == "flux"
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "x.yaml", "--executor", "pals"])


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_scheduler_names_are_written_only_under_launchers() -> None:
    # The names of workload managers appear as values nowhere but in insitu.launchers:
    # everyone else asks the registry.
    schedulers = {"slurm", "pbs", "lsf", "dragon", "sbatch", "qsub", "bsub"}
    offenders = [
        f"{path.relative_to(SRC)}: {sorted(schedulers & _string_constants(path))}"
        for path in sorted(SRC.rglob("*.py"))
        if "launchers" not in path.relative_to(SRC).parts and schedulers & _string_constants(path)
    ]
    assert offenders == []
