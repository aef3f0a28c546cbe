"""Test-only launcher for store shards, plus port and process hygiene helpers.

The runtime that normally starts shards is written separately; these tests start the
``JobSpec``s from ``Orchestrator.prepare()`` themselves, with ``subprocess.Popen``, and always
kill them at teardown (see the ``runner`` fixture in conftest.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import psutil

from insitu.experiment.registry_hook import PasswordRegistration
from insitu.jobs import JobSpec
from insitu.store import Orchestrator
from insitu.store.readiness import find_free_port_block
from insitu.store.server_binary import bundled_binary_path

SERVER_NAMES = ("valkey-server", "redis-server", "keydb-server")
BUNDLED = bundled_binary_path()
REDIS_SERVER = shutil.which("redis-server")


def free_port_block(count: int) -> int:
    """First port of ``count`` consecutive free ports whose bus ports (+10000) are free too."""
    return find_free_port_block(count)


class ShardRunner:
    """Starts an Orchestrator's shards as child processes; ``close()`` kills them all."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self._orchestrators: list[Orchestrator] = []

    def launch(self, orc: Orchestrator, path: Path) -> list[subprocess.Popen[bytes]]:
        """``prepare`` + start every shard, without waiting for readiness."""
        specs = orc.prepare(path)
        self._orchestrators.append(orc)
        procs = [self._spawn(spec) for spec in specs]
        self.procs.extend(procs)
        return procs

    def start(
        self, orc: Orchestrator, path: Path, timeout: float = 30.0
    ) -> list[subprocess.Popen[bytes]]:
        """Launch and wait until ready, as the runtime does (and register the password, as
        the Experiment's store hook does)."""
        procs = self.launch(orc, path)
        orc.wait_ready(lambda i: procs[i].poll() is None, timeout)
        PasswordRegistration(lambda _: None).ready(orc)
        return procs

    def stop(self, orc: Orchestrator, procs: list[subprocess.Popen[bytes]]) -> None:
        """Stop one store's shards and tell the Orchestrator."""
        for proc in procs:
            _kill(proc)
        orc.mark_stopped()
        PasswordRegistration(lambda _: None).stopped(orc)

    def close(self) -> None:
        for proc in self.procs:
            _kill(proc)
        for orc in self._orchestrators:
            orc.mark_stopped()
            PasswordRegistration(lambda _: None).stopped(orc)

    @staticmethod
    def _spawn(spec: JobSpec) -> subprocess.Popen[bytes]:
        assert spec.out_path is not None and spec.err_path is not None
        with spec.out_path.open("wb") as out, spec.err_path.open("wb") as err:
            proc = subprocess.Popen(
                list(spec.argv),
                cwd=spec.cwd,
                env={**os.environ, **spec.env},
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if spec.resources.cpu_pinning:
            os.sched_setaffinity(proc.pid, spec.resources.cpu_pinning)
        return proc


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        proc.wait(timeout=10)


def servers_under(path: Path) -> list[psutil.Process]:
    """Live server processes whose command line points into ``path``."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        info = proc.info
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(info["cmdline"] or [])
        if (
            any(n in (info["name"] or "") or n in cmdline for n in SERVER_NAMES)
            and str(path) in cmdline
        ):
            found.append(proc)
    return found
