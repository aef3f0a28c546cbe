"""A behavioural simulator of a small batch scheduler, for the tests of insitu's BatchLauncher.

Its commands are executables in ``tests/fakes/bin`` (shell wrappers around this file):

- ``fsub SCRIPT``: reads the script's ``#FAKE --option[=value]`` directives (up to the first
  line that is not a comment, as ``sbatch`` does), refuses unknown options or more nodes than
  the cluster has (exit 1, message on stderr), queues the job and prints
  ``Submitted batch job <id>``. The job really runs: a detached runner process starts
  ``sh SCRIPT`` in the job's directory with its output files, unless ``--hold`` keeps it
  pending until ``frelease``.
- ``fstat ID...``: a table ``JOBID STATE EXITCODE`` of the jobs it still knows (finished jobs
  are forgotten ``FAKESCHED_KEEP`` seconds after they end); exit 1 with ``Invalid job id
  specified`` when it knows none of them, as ``squeue`` does.
- ``fdel ID...``: asks the runner to end the job (SIGTERM to the job's process group, SIGKILL
  two seconds later); the state becomes CANCELLED once the job has ended. Unknown or finished
  ids: a message on stderr and exit 1, the other ids are still cancelled.
- ``frelease ID...``: lets a held job start.

States: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED. State lives in ``$FAKESCHED_DIR``:
one JSON file per job, changed under a lock; every command invocation is appended to
``calls.log`` there, so tests can count status queries. ``FAKESCHED_NODES`` (default 2) is
the size of the simulated cluster. Only the standard library is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

OPTIONS = {"job-name", "output", "error", "chdir", "nodes", "time", "account", "partition"}
FLAGS = {"hold"}
KILL_AFTER = 2.0
TICK = 0.05  # the runner watches its job's record this often


def state_dir() -> Path:
    value = os.environ.get("FAKESCHED_DIR")
    if not value:
        fail("FAKESCHED_DIR is not set")
    path = Path(value)
    (path / "jobs").mkdir(parents=True, exist_ok=True)
    return path


def fail(message: str) -> NoReturn:
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    sys.exit(1)


@contextlib.contextmanager
def locked() -> Iterator[Path]:
    root = state_dir()
    with open(root / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield root


def job_path(root: Path, job_id: str) -> Path:
    return root / "jobs" / f"{job_id}.json"


def load(root: Path, job_id: str) -> dict[str, Any] | None:
    if not job_id.isdigit():
        return None
    try:
        return dict(json.loads(job_path(root, job_id).read_text()))
    except FileNotFoundError:
        return None


def save(root: Path, job: dict[str, Any]) -> None:
    path = job_path(root, str(job["id"]))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(job))
    tmp.replace(path)


def read(job_id: str) -> dict[str, Any]:
    with locked() as root:
        job = load(root, job_id)
        assert job is not None
        return job


def update(job_id: str, **changes: Any) -> dict[str, Any]:
    with locked() as root:
        job = load(root, job_id)
        assert job is not None
        job.update(changes)
        save(root, job)
        return job


def directives(script: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for number, line in enumerate(script.read_text().splitlines()):
        if number == 0 and line.startswith("#!"):
            continue
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        if not line.startswith("#FAKE "):
            continue
        for token in shlex.split(line[len("#FAKE ") :]):
            name, _, value = token.lstrip("-").partition("=")
            if not token.startswith("--") or name not in OPTIONS | FLAGS:
                fail(f"unrecognized option '{token}'")
            found[name] = True if name in FLAGS else value
    return found


def submit(args: list[str]) -> None:
    if len(args) != 1:
        fail("usage: fsub SCRIPT")
    script = Path(args[0]).resolve()
    if not script.is_file():
        fail(f"Unable to open file {args[0]}")
    options = directives(script)
    nodes = int(options.get("nodes", "1"))
    if nodes > int(os.environ.get("FAKESCHED_NODES", "2")):
        fail("Batch job submission failed: Requested node configuration is not available")
    cwd = options.get("chdir") or os.getcwd()
    job_id = enqueue(
        options.get("job-name", script.name), script, cwd,
        options.get("output", os.path.join(cwd, "fake-%j.out")),
        options.get("error", os.path.join(cwd, "fake-%j.out")),
        hold=bool(options.get("hold")),
    )  # fmt: skip
    print(f"Submitted batch job {job_id}")


def enqueue(
    name: str, script: Path, cwd: str, output: str, error: str, *, hold: bool = False,
    env: dict[str, str] | None = None,
) -> int:  # fmt: skip
    """Queue a job and start its runner; returns its number. ``%j`` in the output paths is
    the number; ``env`` is added to the job's environment (``%j`` in values too)."""
    with locked() as root:
        counter = root / "next_id"
        job_id = int(counter.read_text()) if counter.exists() else 1000
        counter.write_text(str(job_id + 1))
        number = str(job_id)
        save(root, {
            "id": job_id, "name": name, "script": str(script), "cwd": cwd,
            "output": output.replace("%j", number), "error": error.replace("%j", number),
            "hold": hold, "state": "PENDING", "cancel": False, "exit_code": None,
            "end_time": None, "start_time": None, "finished": False, "runner": None,
            "env": {k: v.replace("%j", number) for k, v in (env or {}).items()},
        })  # fmt: skip
    runner = subprocess.Popen(
        [sys.executable, __file__, "run", str(job_id)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )  # fmt: skip
    update(str(job_id), runner=runner.pid)
    return job_id


def run(job_id: str) -> None:
    """The runner: wait while held, run the script, end it when cancelled, record the end."""
    while True:
        job = read(job_id)
        if job["cancel"]:
            update(job_id, state="CANCELLED", end_time=time.time(), finished=True)
            return
        if not job["hold"]:
            break
        time.sleep(TICK)
    with open(job["output"], "ab") as out, open(job["error"], "ab") as err:
        child = subprocess.Popen(
            ["/bin/sh", job["script"]], cwd=job["cwd"], stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, start_new_session=True,
            env={**os.environ, **job.get("env", {})},
        )  # fmt: skip
    update(job_id, state="RUNNING", pid=child.pid, start_time=time.time())
    signalled: float | None = None
    while child.poll() is None:
        if signalled is None and read(job_id)["cancel"]:
            signal_group(child.pid, signal.SIGTERM)
            signalled = time.monotonic()
        elif signalled is not None and time.monotonic() - signalled > KILL_AFTER:
            signal_group(child.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(TICK)
    signal_group(child.pid, signal.SIGKILL)  # what the job left behind ends with it
    code = child.returncode if child.returncode >= 0 else 128 - child.returncode
    cancelled = read(job_id)["cancel"]
    state = "CANCELLED" if cancelled else "COMPLETED" if code == 0 else "FAILED"
    update(job_id, state=state, exit_code=code, end_time=time.time(), finished=True)


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def status(args: list[str]) -> None:
    keep = float(os.environ.get("FAKESCHED_KEEP", "300"))
    rows = []
    with locked() as root:
        for job_id in args:
            job = load(root, job_id)
            if job is None or (job["end_time"] and time.time() - job["end_time"] > keep):
                continue
            code = "-" if job["exit_code"] is None else str(job["exit_code"])
            rows.append(f"{job['id']:<8} {job['state']:<10} {code}")
    if args and not rows:
        fail("Invalid job id specified")
    print("JOBID    STATE      EXITCODE")
    for row in rows:
        print(row)


def delete(args: list[str]) -> None:
    bad = False
    with locked() as root:
        for job_id in args:
            job = load(root, job_id)
            if job is None or job["finished"]:
                why = "Invalid job id specified" if job is None else "Job already completed"
                print(f"fdel: error: Kill job error on job id {job_id}: {why}", file=sys.stderr)
                bad = True
                continue
            job["cancel"] = True
            save(root, job)
    sys.exit(1 if bad else 0)


def release(args: list[str]) -> None:
    with locked() as root:
        for job_id in args:
            job = load(root, job_id)
            if job is None:
                fail(f"Invalid job id {job_id}")
            job["hold"] = False
            save(root, job)


COMMANDS = {"submit": submit, "status": status, "delete": delete, "release": release}


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "run":
        run(args[0])
        return
    with locked() as root, open(root / "calls.log", "a") as log:
        log.write(shlex.join([command, *args]) + "\n")
    sys.argv[0] = os.environ.get("FAKESCHED_PROG", command)
    COMMANDS[command](args)


if __name__ == "__main__":
    main()
