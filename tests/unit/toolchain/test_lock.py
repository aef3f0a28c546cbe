"""The committed lock (requirements/dev.txt) pins everything `make test` and `make demo` install.

These tests read files only; they fail when pyproject.toml asks for something the lock does not
satisfy (someone changed a range and forgot `make lock`), or when the lock stops being exact.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "requirements" / "dev.txt"
PINS = ROOT / "requirements" / "pins.in"
LOCKED_EXTRAS = ("dev", "server")
LOCK_PYTHON = "3.11"


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        data: dict[str, object] = tomllib.load(handle)
    return data


def _locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for raw in LOCK.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line)
        assert match, f"lock line is not an exact pin: {raw!r}"
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def _environment(extra: str = "") -> dict[str, str]:
    return {
        "python_version": LOCK_PYTHON,
        "python_full_version": f"{LOCK_PYTHON}.0",
        "extra": extra,
    }


def _closure() -> list[Requirement]:
    """Every requirement the locked extras reach, following insitu's own ``insitu[...]``."""
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    name = canonicalize_name(project["name"])
    extras: dict[str, list[str]] = project["optional-dependencies"]
    todo, seen, found = (
        list(LOCKED_EXTRAS),
        set(),
        [Requirement(r) for r in project["dependencies"]],
    )
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in extras[extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == name:
                todo.extend(requirement.extras)
            elif requirement.marker is None or requirement.marker.evaluate(_environment(extra)):
                found.append(requirement)
    return found


def _pin_requirements() -> list[Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in PINS.read_text().splitlines()]
    build = _pyproject()["build-system"]
    assert isinstance(build, dict)
    return [Requirement(line) for line in lines if line] + [
        Requirement(r) for r in build["requires"]
    ]


def test_lock_is_generated_by_make_lock() -> None:
    head = LOCK.read_text().splitlines()[:6]
    assert any("make lock" in line for line in head)
    assert any(f"Python {LOCK_PYTHON}" in line for line in head)


def test_lock_holds_only_exact_pins_without_machine_paths() -> None:
    text = LOCK.read_text()
    assert "file://" not in text and "--find-links" not in text and "--index-url" not in text
    assert _locked()


@pytest.mark.parametrize("requirement", _closure() + _pin_requirements(), ids=str)
def test_every_requirement_is_pinned_within_its_range(requirement: Requirement) -> None:
    pins = _locked()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement} is not in {LOCK.name}: run make lock"
    assert requirement.specifier.contains(pins[name], prereleases=True), (
        f"{LOCK.name} pins {name}=={pins[name]}, outside {requirement}: run make lock"
    )


def test_torch_is_the_local_cpu_build() -> None:
    assert _locked()["torch"].local == "cpu"


def test_the_venv_make_test_built_holds_exactly_the_lock() -> None:
    if not Path(sys.prefix, ".insitu-lock").exists():
        pytest.skip("not the venv make test builds from the lock (make test-latest, or by hand)")
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" == LOCK_PYTHON
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    wrong = {
        name: installed.get(name)
        for name, version in _locked().items()
        if installed.get(name) is None or Version(installed[name]) != version
    }
    assert not wrong, f"installed versions differ from the lock: {wrong}"
