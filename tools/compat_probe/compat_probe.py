"""Run SmartRedis's or SmartSim's own test suite against insitu through an import shim.

    python tools/compat_probe/compat_probe.py smartredis <SmartRedis checkout> [pytest args]
    python tools/compat_probe/compat_probe.py smartsim <SmartSim checkout> [pytest args]

Nothing is fetched: point it at a checkout of the upstream repository (its ``tests/``). The
shim is a throw-away ``smartredis`` / ``smartsim`` package written to a temporary directory
that re-exports insitu's names under SmartSim's and SmartRedis's module paths
(``smartsim.settings.slurmSettings`` -> ``insitu.settings`` ...). SmartSim's private
modules (``smartsim._core``) are not shimmed: tests that import them fail to collect, and
count as failures.

* smartredis: starts an insitu store (standalone; ``--cluster`` for a 3-shard cluster),
  exports ``SSDB``, ``SR_DB_TYPE`` and ``SSDB_PASSWORD`` as an Orchestrator exports them to
  its entities, and runs ``<checkout>/tests/python``.
* smartsim: runs ``<checkout>/tests`` with the local launcher. SmartSim's root conftest
  imports private modules, so it is not loaded (``--noconftest``); the fixtures the tests
  use come from ``probe_fixtures.py`` beside this script.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

SMARTREDIS = {
    "__init__.py": (
        "from insitu.client import *  # noqa: F403\n"
        "from insitu.client import ConfigOptions, DatasetConverter  # noqa: F401\n"
        "from . import error  # noqa: F401\n"
    ),
    "error.py": "from insitu.client.errors import *  # noqa: F403\n",
    "dataset_utils.py": "from insitu.client import DatasetConverter  # noqa: F401\n",
}

_SETTINGS = (
    "from insitu.settings import *  # noqa: F403\n"
    "from insitu.settings import _BaseMPISettings, logger  # noqa: F401\n"
)
_ENTITIES = (
    "from insitu.entities import *  # noqa: F403\n"
    "from insitu import DBNode, EntityList, EntitySequence, SmartSimEntity  # noqa: F401\n"
)
_ROOT = "from insitu import *  # noqa: F403\nfrom insitu import __version__  # noqa: F401\n"
_STATUS = (
    "from insitu.jobs.status import *  # noqa: F403\n"
    "from insitu import SmartSimStatus  # noqa: F401\n"
)
SMARTSIM = {
    "__init__.py": _ROOT,
    "settings/__init__.py": _SETTINGS,
    **{
        f"settings/{name}.py": _SETTINGS
        for name in (
            "base", "settings", "slurmSettings", "mpiSettings", "pbsSettings", "lsfSettings",
            "alpsSettings", "palsSettings", "containers", "dragonRunSettings", "sgeSettings",
        )
    },
    "entity/__init__.py": _ENTITIES,
    **{
        f"entity/{name}.py": _ENTITIES
        for name in (
            "ensemble", "model", "entity", "dbnode", "dbobject", "entityList", "strategies",
        )
    },
    "database/__init__.py": "from insitu import Orchestrator  # noqa: F401\n",
    "database/orchestrator.py": "from insitu import Orchestrator  # noqa: F401\n",
    "error/__init__.py": "from insitu.errors import *  # noqa: F403\n",
    "error/errors.py": "from insitu.errors import *  # noqa: F403\n",
    "status.py": _STATUS,
    "log.py": "from insitu.log import *  # noqa: F403\n",
    "ml/__init__.py": "from insitu.ml import *  # noqa: F403\n",
}  # fmt: skip


def write_shim(root: Path, package: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _selection(extra: list[str], default: str) -> list[str]:
    """``extra`` as given when it names tests (an argument not starting with ``-``), else
    ``default`` followed by ``extra``."""
    if any(not arg.startswith("-") for arg in extra):
        return extra
    return [default, *extra]


def run_smartredis(checkout: Path, shim: Path, extra: list[str]) -> int:
    from insitu import Experiment

    cluster = "--cluster" in extra
    extra = [a for a in extra if a != "--cluster"]
    with tempfile.TemporaryDirectory(prefix="probe-store-") as where:
        exp = Experiment("compat-probe", exp_path=where, launcher="local")
        from insitu.store.readiness import find_free_port_block

        store = exp.create_database(
            port=find_free_port_block(3 if cluster else 1), db_nodes=3 if cluster else 1
        )
        exp.start(store)
        try:
            env = dict(os.environ)
            env.update(store.connection_env())  # SSDB, SR_DB_TYPE, SSDB_PASSWORD
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
            cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=",
                   "-rfE", "--continue-on-collection-errors",
                   *_selection(extra, "tests/python")]  # fmt: skip
            return subprocess.call(cmd, cwd=checkout, env=env)
        finally:
            exp.stop(store)


def run_smartsim(checkout: Path, shim: Path, extra: list[str]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), str(HERE), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=",
           "--noconftest", "-p", "probe_fixtures", "-rfE", "--continue-on-collection-errors",
           *_selection(extra, "tests")]  # fmt: skip
    return subprocess.call(cmd, cwd=checkout, env=env)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("smartredis", "smartsim"):
        print(__doc__)
        return 2
    which, checkout, extra = argv[0], Path(argv[1]).resolve(), argv[2:]
    if not (checkout / "tests").is_dir():
        print(f"{checkout} has no tests/ directory: pass a checkout of the upstream repository")
        return 2
    with tempfile.TemporaryDirectory(prefix="probe-shim-") as tmp:
        shim = Path(tmp)
        if which == "smartredis":
            write_shim(shim, "smartredis", SMARTREDIS)
            return run_smartredis(checkout, shim, extra)
        write_shim(shim, "smartsim", SMARTSIM)
        write_shim(shim, "smartredis", SMARTREDIS)  # SmartSim's tests and apps use it too
        return run_smartsim(checkout, shim, extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
