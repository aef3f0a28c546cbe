"""The program of a group's batch job on PBS and LSF: it runs the group's members as steps.

``python -m insitu.launchers.step_agent SPOOL`` is the whole job script of an Ensemble
with batch settings (or a batch Orchestrator's shards) on schedulers where the driver
cannot start a step inside a job from outside it (PBS, LSF; Slurm has ``srun --jobid``).
The driver and this agent talk through files in ``SPOOL``, a directory on the file system
both see (an HPC cluster's shared file system), so members may join the job while it is
queued or running:

- ``<member>.json`` (written by the driver, 0600: it holds the member's environment):
  ``argv`` (its run command's, ``mpiexec -n 4 prog`` …), ``cwd``, ``env`` (added to the
  job's environment), ``out``/``err`` (files its output is appended to), ``node_index``
  (``null``, or the job's node to run on, modulo their number).

A member runs here, on the job's first node, unless its ``node_index`` names another: it
then runs there through the scheduler's own tool for starting a task on a node of the job
(PBS ``pbsdsh -h HOST``, LSF ``blaunch HOST``, Grid Engine ``qrsh -inherit HOST``) as
``python -m insitu.launchers.step_agent --exec <member>.json``, which takes the member's
directory, environment and output files from that file (no value on a command line) and
becomes its program.
- ``<member>.start`` (written here once started): ``{"pid", "host", "time"}``.
- ``<member>.rc`` (written here once ended): its exit status (128 + N for signal N).
- ``<member>.cancel`` (written by the driver): end that member (SIGTERM to its process
  group, SIGKILL after :data:`KILL_AFTER` seconds); one not yet started is never started
  and gets ``<member>.rc`` 143 at once.
- ``hosts`` (written here at start): the job's hosts, one per line, from the scheduler's
  host file (``PBS_NODEFILE``, ``LSB_DJOB_HOSTFILE``) or ``LSB_HOSTS``.

The agent never ends by itself: the driver cancels the job (``qdel``, ``bkill``) once every
member has ended. On SIGTERM (the scheduler's cancel, a walltime) it ends every member it
started, records their status, and exits. Files are written atomically (rename), so the
driver never reads half a file. Members die with the agent even when the scheduler
SIGKILLs it (:mod:`insitu.launchers.spawn`'s parent-death signal). Standard library and that
module only: this runs on a compute node.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from insitu.launchers import spawn

TICK = 0.1
"""Seconds between two scans of the spool directory."""

KILL_AFTER = 5.0
"""Seconds a cancelled member has between SIGTERM and SIGKILL."""

STOP_GRACE = 1.0
"""Seconds members have to end when the job itself is cancelled (schedulers SIGKILL the
job a few seconds after their SIGTERM: PBS's ``kill_delay``, LSF's ``bkill`` sequence)."""

CANCELLED_BEFORE_START = 128 + signal.SIGTERM


@dataclass
class _Step:
    proc: subprocess.Popen[bytes]
    files: list[IO[bytes]]
    term_sent: float | None = None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary name and a rename."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(text)
    partial.replace(path)


def job_hosts(env: Mapping[str, str]) -> list[str]:
    """The job's hosts, in order, each once: from the scheduler's host file (one host per
    slot: ``PBS_NODEFILE``, LSF's ``LSB_DJOB_HOSTFILE``; Grid Engine's ``PE_HOSTFILE``),
    else ``LSB_HOSTS`` (one word per slot), else this host."""
    for variable in ("PBS_NODEFILE", "LSB_DJOB_HOSTFILE", "PE_HOSTFILE"):
        name = env.get(variable)
        if name:
            with contextlib.suppress(OSError):
                # Grid Engine's lines are "host slots queue processors": the host first.
                lines = Path(name).read_text().splitlines()
                return list(dict.fromkeys(line.split()[0] for line in lines if line.strip()))
    if env.get("LSB_HOSTS"):
        return list(dict.fromkeys(env["LSB_HOSTS"].split()))
    return [socket.gethostname()]


def remote_prefix(env: Mapping[str, str], host: str) -> list[str] | None:
    """The command that starts a task on ``host`` of the job ``env`` belongs to (``None``:
    no scheduler job known)."""
    if env.get("PBS_JOBID"):
        return ["pbsdsh", "-h", host, "--"]
    if env.get("LSB_JOBID"):
        return ["blaunch", host]
    if env.get("JOB_ID") and env.get("PE_HOSTFILE"):
        return ["qrsh", "-inherit", host]
    return None


def exec_member(order_file: Path) -> None:
    """Become the member ``order_file`` describes (its directory, environment, output
    files, program); returns only by raising ``OSError``."""
    order: dict[str, Any] = json.loads(order_file.read_text())
    out = os.open(order["out"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    err = os.open(order["err"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    if order.get("cwd"):
        os.chdir(order["cwd"])
    env = {**os.environ, **{str(k): str(v) for k, v in order.get("env", {}).items()}}
    argv = [str(word) for word in order["argv"]]
    os.execvpe(argv[0], argv, env)


def exit_status(returncode: int) -> int:
    """A shell's exit status for a process's return code (``-N``: killed by signal N)."""
    return 128 - returncode if returncode < 0 else returncode


class Agent:
    """Runs the members found in ``spool`` until told to stop (see the module docstring)."""

    def __init__(self, spool: Path, hosts: Sequence[str] = ()) -> None:
        self.spool = spool
        self.hosts = list(hosts)
        self.steps: dict[str, _Step] = {}
        self.handled: set[str] = set()
        self.stopping = False

    def scan(self) -> None:
        """Start new members, reap ended ones, signal cancelled ones (one pass)."""
        for request in sorted(self.spool.glob("*.json")):
            member = request.stem
            if member in self.handled:
                continue
            self.handled.add(member)
            if (self.spool / f"{member}.cancel").exists():
                write_atomic(self.spool / f"{member}.rc", f"{CANCELLED_BEFORE_START}\n")
                request.unlink(missing_ok=True)  # the order holds the member's environment
                continue
            self._start(member, request)
        now = time.monotonic()
        for member, step in list(self.steps.items()):
            if step.proc.poll() is not None:
                self._finish(member, step)
            elif (self.spool / f"{member}.cancel").exists():
                if step.term_sent is None:
                    step.term_sent = now
                    _signal_group(step.proc.pid, signal.SIGTERM)
                elif now - step.term_sent >= KILL_AFTER:
                    _signal_group(step.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        """End every member still running (SIGTERM, then SIGKILL) and record them."""
        for step in self.steps.values():
            _signal_group(step.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline and any(
            s.proc.poll() is None for s in self.steps.values()
        ):
            time.sleep(0.02)
        for member, step in list(self.steps.items()):
            _signal_group(step.proc.pid, signal.SIGKILL)
            step.proc.wait()
            self._finish(member, step)

    def _start(self, member: str, request: Path) -> None:
        try:
            order: dict[str, Any] = json.loads(request.read_text())
            files: list[IO[bytes]] = [open(order["out"], "ab"), open(order["err"], "ab")]  # noqa: SIM115
        except (OSError, ValueError, KeyError) as err:
            print(f"step_agent: cannot read {request.name}: {err}", file=sys.stderr)
            write_atomic(self.spool / f"{member}.rc", "127\n")
            return
        argv = [str(word) for word in order["argv"]]
        host = self._host_of(order.get("node_index"))
        if host is not None:
            prefix = remote_prefix(os.environ, host)
            if prefix is None:
                print(f"step_agent: no way to start {member} on {host}; here", file=sys.stderr)
            else:
                here = [sys.executable, "-m", "insitu.launchers.step_agent", "--exec"]
                argv = [*prefix, *here, str(request.resolve())]
        try:
            proc = spawn.popen(
                argv,
                cwd=order.get("cwd") or None,
                env={**os.environ, **{str(k): str(v) for k, v in order.get("env", {}).items()}},
                stdin=subprocess.DEVNULL,
                stdout=files[0],
                stderr=files[1],
                start_new_session=True,  # its own group: a cancel ends all it started
            )
        except OSError as err:
            files[1].write(f"step_agent: cannot start {member}: {err}\n".encode())
            for handle in files:
                handle.close()
            write_atomic(self.spool / f"{member}.rc", "127\n")
            return
        self.steps[member] = _Step(proc, files)
        start = {"pid": proc.pid, "host": socket.gethostname(), "time": time.time()}
        write_atomic(self.spool / f"{member}.start", json.dumps(start))

    def _host_of(self, node_index: object) -> str | None:
        """The job's node ``node_index`` names, when it is not this (the first) one."""
        if not isinstance(node_index, int) or len(self.hosts) < 2:
            return None
        host = self.hosts[node_index % len(self.hosts)]
        return None if host == self.hosts[0] else host

    def _finish(self, member: str, step: _Step) -> None:
        for handle in step.files:
            handle.close()
        code = exit_status(step.proc.returncode if step.proc.returncode is not None else -9)
        write_atomic(self.spool / f"{member}.rc", f"{code}\n")
        # Its order holds the member's environment, the store's password included, and was
        # read when it started (here, or by --exec on its node).
        (self.spool / f"{member}.json").unlink(missing_ok=True)
        del self.steps[member]


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def main(argv: list[str]) -> int:
    """Run the agent over ``argv[0]`` (the spool directory) until SIGTERM."""
    if len(argv) == 2 and argv[0] == "--exec":
        try:
            exec_member(Path(argv[1]))
        except (OSError, ValueError, KeyError) as err:
            print(f"step_agent: cannot start {argv[1]}: {err}", file=sys.stderr)
        return 127
    if len(argv) != 1:
        print("usage: python -m insitu.launchers.step_agent SPOOL", file=sys.stderr)
        return 2
    spool = Path(argv[0])
    hosts = job_hosts(os.environ)
    agent = Agent(spool, hosts)
    write_atomic(spool / "hosts", "".join(f"{host}\n" for host in hosts))

    def on_signal(signum: int, frame: FrameType | None) -> None:
        agent.stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR2):
        signal.signal(sig, on_signal)
    while not agent.stopping:
        agent.scan()
        time.sleep(TICK)
    agent.stop()
    return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
