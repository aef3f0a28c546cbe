"""Loading a colocated store's models and scripts on the store's own node.

A colocated store on another host (a Slurm step beside its application) listens on that
host's loopback (or a Unix socket there): the driver cannot reach it to load the Model's
``db_models``/``db_scripts``. So the driver writes them to a file in the Model's run
directory (:func:`write_manifest`; 0600, on the shared file system) and runs
``python -m insitu.experiment.node_load FILE`` as a one-task job placed beside the store,
with the application's environment (the store's address and password, as the application
gets them). It waits for the store's inference worker, stores every object with the same
Client calls the driver uses, and exits 0; on failure it names the object on stderr and
exits 1. The application starts once it has ended (the driver waits for it).

Functions (``add_function``) travel as their TorchScript source, as ``set_function``
stores them.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from insitu._files import write_private
from insitu.client import Client
from insitu.entities.db_objects import DBObject, DBScript
from insitu.errors import DBObjectLoadError, InsituError
from insitu.experiment.loading import set_object
from insitu.inference.launch import worker_is_ready
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.wire.env import StoreConnection

if TYPE_CHECKING:
    from insitu.experiment.loading import Load
    from insitu.runtime.controller import Controller
    from insitu.store.orchestrator import Orchestrator

MANIFEST_DIR = Path(".insitu") / "colocated"
"""Where the manifest goes, under the Model's run directory."""

WORKER_READY_TIMEOUT = 60.0
"""Seconds the loader waits for the store's inference worker to serve."""

LOAD_TIMEOUT = WORKER_READY_TIMEOUT + 120.0
"""Seconds the driver waits for the loader job (start on a busy node included)."""


@dataclass(frozen=True)
class NodeLoad:
    """What the loader stores: ``objects`` of Model ``owner`` into its colocated store
    ``db_identifier`` (``store`` names it in messages), whose shard has ``workers``
    inference workers."""

    owner: str
    store: str
    db_identifier: str
    workers: int
    objects: tuple[DBObject, ...]


def portable(obj: DBObject) -> DBObject:
    """``obj`` as it can travel in a file: a function becomes its TorchScript source."""
    if isinstance(obj, DBScript) and obj.function is not None:
        from insitu.client._model_ops import _function_source

        return DBScript(
            obj.name, script=_function_source(obj.function), device=obj.device,
            devices_per_node=obj.devices_per_node, first_device=obj.first_device,
        )  # fmt: skip
    return obj


def write_manifest(directory: Path, load: NodeLoad) -> Path:
    """Write ``load`` under ``directory`` (0600) and return the file."""
    folder = directory / MANIFEST_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{load.owner}.load"
    portable_load = NodeLoad(
        load.owner, load.store, load.db_identifier, load.workers,
        tuple(portable(obj) for obj in load.objects),
    )  # fmt: skip
    write_private(path, "")
    with open(path, "wb") as handle:
        pickle.dump(portable_load, handle)
    return path


def loader_spec(app: JobSpec, manifest: Path) -> JobSpec:
    """The loader job for the application ``app``: one task, its environment, run command
    and allocation (the caller places it beside the store)."""
    cwd = app.cwd
    name = f"{app.name}.load"
    return JobSpec(
        name=name, exe=sys.executable, args=("-m", "insitu.experiment.node_load", str(manifest)),
        cwd=cwd, env=dict(app.env), out_path=cwd / f"{name}.out", err_path=cwd / f"{name}.err",
        resources=Resources(tasks=1) if app.run_command else Resources(),
        run_command=app.run_command, allocation=app.allocation,
    )  # fmt: skip


def load_beside(control: Controller, store: Orchestrator, app: JobSpec, load: Load) -> None:
    """Load ``load`` into ``store`` from a job placed beside it, and wait for that job.

    Raises :class:`DBObjectLoadError` with the loader's own message when it fails, or
    when it has not ended within :data:`LOAD_TIMEOUT` seconds (it is then stopped).
    """
    owner = load.owners[0]
    node_load = NodeLoad(
        owner, store.name, store.db_identifier, store.worker_layout.per_shard, load.objects
    )
    job = store.place_beside(loader_spec(app, write_manifest(app.cwd, node_load)))
    control.submit(job, job.name)
    if not control.wait([job.name], timeout=LOAD_TIMEOUT):
        control.stop_jobs([job.name])
        raise DBObjectLoadError(
            owner, load.objects[0].name, store.name,
            f"loading on the store's node did not end within {LOAD_TIMEOUT:.0f} s",
        )  # fmt: skip
    if control.status(job.name) is not JobState.COMPLETED:
        said = _tail(job.err_path)
        raise DBObjectLoadError(
            owner, load.objects[0].name, store.name,
            f"loading on the store's node failed: {said} (log: {job.err_path})",
        )  # fmt: skip


def _tail(path: Path | None) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines() if path else []
    except OSError:
        return "no log"
    return lines[-1] if lines else "no message"


def load_here(load: NodeLoad, env: os._Environ[str] | dict[str, str]) -> None:
    """Store ``load``'s objects into its store as ``env`` names it (raises on failure)."""
    connection = StoreConnection.from_env(env, load.db_identifier)
    address = connection.addresses[0]
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    if load.workers:
        while not worker_is_ready(address, connection.password, 0):
            if time.monotonic() > deadline:
                raise InsituError(
                    f"the inference worker of {load.store} did not serve within "
                    f"{WORKER_READY_TIMEOUT:.0f} s"
                )
            time.sleep(0.05)
    with Client(connection.clustered, address, password=connection.password) as client:
        for obj in load.objects:
            try:
                set_object(client, obj)
            except Exception as err:
                raise InsituError(f"cannot load {obj.name} of {load.owner}: {err}") from err


def main(argv: Sequence[str]) -> int:
    """Load the manifest ``argv[0]`` (see the module docstring)."""
    if len(argv) != 1:
        print("usage: python -m insitu.experiment.node_load MANIFEST", file=sys.stderr)
        return 2
    try:
        with open(argv[0], "rb") as handle:
            load = pickle.load(handle)  # the driver's own 0600 file
        # Run as ``-m``, this module is ``__main__``; the manifest names the importable one.
        module = importlib.import_module("insitu.experiment.node_load")
        if not isinstance(load, module.NodeLoad):
            raise InsituError(f"{argv[0]} is not an insitu load manifest")
        module.load_here(load, os.environ)
    except (InsituError, OSError, pickle.UnpicklingError) as err:
        print(f"insitu node_load: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
