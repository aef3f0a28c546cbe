"""A behavioural simulator of IBM Spectrum LSF (and ``jsrun``) on this one machine, over
the job engine of :mod:`fakesched` (jobs really run, detached, and can be killed).

Commands (executables in ``tests/fakes/lsf-bin``), in LSF's own formats (LSF command
reference):

- ``bsub < SCRIPT`` (the script on standard input, as LSF reads ``#BSUB`` lines only
  then): ``-J -o -e -cwd -nnodes -W -P -q`` understood; an unknown queue is refused
  (``<q>: No such queue. Job not submitted.``, exit 255); prints ``Job <n> is submitted to
  queue <normal>.``; the job runs with ``LSB_JOBID``, ``LSB_QUEUE``, ``LSB_HOSTS`` set.
- ``bjobs -a -noheader -o "jobid stat exit_code delimiter='|'" ID...``: one line per job
  (PEND/RUN/DONE/EXIT; ``-`` for no exit code); ``Job <n> is not found`` on stderr for
  unknown ids (exit 255 when none is known).
- ``bkill ID...``: ``Job <n> is being terminated``; the job ends EXIT with code 130.
- ``blaunch HOST PROGRAM``: runs PROGRAM "on" host HOST of the job (``LSB_HOSTS`` lists
  ``lsfnode1`` … ``lsfnode<N>`` for ``-nnodes N``; all stand on this machine).
- ``jsrun``: ``--np``, ``--nrs``, ``--tasks_per_rs``, ``--rs_per_host``, ``--cpu_per_rs``
  (``--name value`` or ``--name=value``) mapped onto the real local ``mpirun -n N``.

``FAKESCHED_HANG=<command>`` makes that command hang; every call is logged in
``$FAKESCHED_DIR/calls.log``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).parent))
import fakesched

QUEUES = ("normal",)
NODE_PREFIX = "lsfnode"
WITH_VALUE = {"J", "o", "e", "cwd", "nnodes", "W", "P", "q", "n", "m", "R", "G"}


def die(message: str, code: int) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


def bsub(args: list[str]) -> None:
    if args:
        die("bsub (simulator): give the job script on standard input", 255)
    text = sys.stdin.read()
    options: dict[str, str] = {}
    for number, line in enumerate(text.splitlines()):
        if number == 0 and line.startswith("#!"):
            continue
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        if not line.startswith("#BSUB"):
            continue
        words = shlex.split(line[5:])
        while words:
            flag = words.pop(0)
            name = flag.lstrip("-")
            if not flag.startswith("-") or name not in WITH_VALUE:
                die(f"{flag}: Illegal option. Job not submitted.", 255)
            options[name] = words.pop(0)
    queue = options.get("q", "normal")
    if queue not in QUEUES:
        die(f"{queue}: No such queue. Job not submitted.", 255)
    nodes = int(options.get("nnodes", "1"))
    if nodes > int(os.environ.get("FAKESCHED_NODES", "2")):
        die("Not enough hosts to meet the job's requirement. Job not submitted.", 255)
    cwd = options.get("cwd", os.getcwd())
    spool = Path(fakesched.state_dir()) / "spool"
    spool.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=spool, suffix=".sh", delete=False) as handle:
        handle.write(text)
    name = options.get("J", "NONAME")
    job = fakesched.enqueue(
        name, Path(handle.name), cwd,
        options.get("o", os.path.join(cwd, "%j.out")),
        options.get("e", os.path.join(cwd, "%j.out")),
        env={"LSB_JOBID": "%j", "LSB_QUEUE": queue, "LSB_JOBNAME": name,
             "LSB_HOSTS": " ".join(f"{NODE_PREFIX}{i}" for i in range(1, nodes + 1))},
    )  # fmt: skip
    print(f"Job <{job}> is submitted to queue <{queue}>.")


def bjobs(args: list[str]) -> None:
    ids = [a for a in args if a.isdigit()]
    keep = float(os.environ.get("FAKESCHED_KEEP", "300"))
    found = 0
    with fakesched.locked() as root:
        for job_id in ids:
            job = fakesched.load(root, job_id)
            if job is None or (job["end_time"] and time.time() - job["end_time"] > keep):
                print(f"Job <{job_id}> is not found", file=sys.stderr)
                continue
            found += 1
            state = {"PENDING": "PEND", "RUNNING": "RUN", "COMPLETED": "DONE"}.get(
                job["state"], "EXIT"
            )
            code = 130 if job["state"] == "CANCELLED" else job["exit_code"]
            shown = "-" if state != "EXIT" or code is None else str(code)
            print(f"{job['id']}|{state}|{shown}")
    sys.exit(0 if found or not ids else 255)


def bkill(args: list[str]) -> None:
    bad = False
    with fakesched.locked() as root:
        for job_id in args:
            job = fakesched.load(root, job_id)
            if job is None or job["finished"]:
                why = "No matching job found" if job is None else "Job has already finished"
                print(f"Job <{job_id}>: {why}", file=sys.stderr)
                bad = True
                continue
            job["cancel"] = True
            fakesched.save(root, job)
            print(f"Job <{job_id}> is being terminated")
    sys.exit(255 if bad else 0)


def jsrun(args: list[str]) -> NoReturn:
    """jsrun onto the real Open MPI mpirun (this host stands for every node)."""
    values: dict[str, str] = {}
    known = {"np", "nrs", "tasks_per_rs", "rs_per_host", "cpu_per_rs", "gpu_per_rs", "n", "a",
             "r", "c", "g", "bind", "launch_distribution", "chdir"}  # fmt: skip
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        name, eq, inline = flag.lstrip("-").partition("=")
        if name not in known:
            die(f"jsrun: unrecognized option '{flag}'", 1)
        values[name] = inline if eq else args.pop(0)
    if not args:
        die("jsrun: no executable given", 1)
    nrs = int(values.get("nrs", values.get("n", "1")))
    per_rs = int(values.get("tasks_per_rs", values.get("a", "1")))
    tasks = values.get("np") or str(nrs * per_rs)
    real = shutil.which("mpirun")
    if real is None:
        die("jsrun (simulator): needs Open MPI's mpirun", 1)
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.execv(real, [real, "--oversubscribe", "-n", tasks, *args])


def blaunch(args: list[str]) -> NoReturn:
    """``blaunch HOST PROGRAM ARGS``: the program on host HOST of this job (this machine,
    with ``LSFSIM_NODE=HOST`` so tests can tell where it "ran")."""
    if len(args) < 2:
        die("Usage: blaunch [-n] [-u host_file | -z host_name ... | host_name] command", 1)
    host, program = args[0], args[1:]
    if host not in os.environ.get("LSB_HOSTS", "").split():
        die(f"blaunch: host {host} is not allocated to this job", 1)
    os.environ["LSFSIM_NODE"] = host
    os.execvp(program[0], program)


COMMANDS = {"bsub": bsub, "bjobs": bjobs, "bkill": bkill, "jsrun": jsrun, "blaunch": blaunch}


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    with fakesched.locked() as root, open(root / "calls.log", "a") as log:
        log.write(shlex.join([command, *args]) + "\n")
    if os.environ.get("FAKESCHED_HANG") == command:
        time.sleep(3600)
    COMMANDS[command](args)


if __name__ == "__main__":
    main()
