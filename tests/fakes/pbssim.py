"""A behavioural simulator of PBS Pro (and Cray PALS' ``mpiexec``) on this one machine, over
the job engine of :mod:`fakesched` (jobs really run, detached, and can be killed).

Commands (executables in ``tests/fakes/pbs-bin``), in PBS's own formats (PBS Professional
reference guide):

- ``qsub SCRIPT``: reads the ``#PBS`` directives (``-N -o -e -l -A -q -j -V``), refuses an
  unknown queue (``qsub: Unknown queue``, exit 170) or more nodes than the cluster has
  (``qsub: Job exceeds queue and/or server resource limits``, exit 188), and prints the new
  job's id ``<n>.pbssim``. The job runs with ``PBS_JOBID``, ``PBS_QUEUE``,
  ``PBS_O_WORKDIR``, ``PBS_NODEFILE`` set.
- ``qstat -f -F json [-x] ID...``: PBS's JSON (``Jobs`` → ``job_state`` Q/R/F,
  ``Exit_status``, ``stime``, ``obittime``); finished jobs only with ``-x``; unknown ids
  ``qstat: Unknown Job Id ID`` on stderr and exit 153.
- ``qdel ID...``: ends the job (SIGTERM, then SIGKILL); it becomes F with Exit_status 271
  (256 + SIGTERM, as PBS reports a job killed by qdel).
- ``pbsdsh -h HOST -- PROGRAM``: runs PROGRAM "on" node HOST of the job (``PBS_NODEFILE``
  lists ``pbsnode1`` … ``pbsnode<N>`` for ``select=N``; all stand on this machine).
- ``mpiexec`` (PALS): ``-n/--np N``, ``--ppn``, ``--depth``, ``--hosts``, ``--cpu-bind``,
  ``--env K=V`` mapped onto the real local Open MPI ``mpirun -n N``.

``FAKESCHED_HANG=<command>`` makes that command hang (for timeout tests); every call is
logged in ``$FAKESCHED_DIR/calls.log``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).parent))
import fakesched

SUFFIX = ".pbssim"
NODE_PREFIX = "pbsnode"
QUEUES = ("workq",)
OPTIONS_WITH_VALUE = set("NoelAqjWSMmk")
FLAGS = set("V")


def die(message: str, code: int) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


def parse_directives(script: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for number, line in enumerate(script.read_text().splitlines()):
        if number == 0 and line.startswith("#!"):
            continue
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        if not line.startswith("#PBS"):
            continue
        words = shlex.split(line[4:])
        while words:
            flag = words.pop(0)
            name = flag.lstrip("-")
            if not flag.startswith("-") or (name not in OPTIONS_WITH_VALUE | FLAGS):
                die(f"qsub: illegal -- {name}\nusage: qsub [-a date_time] ...", 2)
            found.setdefault(name, []).append(words.pop(0) if name in OPTIONS_WITH_VALUE else "")
    return found


def qsub(args: list[str]) -> None:
    if len(args) != 1:
        die("usage: qsub script", 2)
    script = Path(args[0]).resolve()
    if not script.is_file():
        die(f"qsub: script file:: No such file or directory {args[0]}", 2)
    options = parse_directives(script)
    queue = options.get("q", ["workq"])[-1]
    if queue not in QUEUES:
        die("qsub: Unknown queue", 170)
    nodes = 1
    for resource in options.get("l", []):
        for item in resource.split(","):
            key, _, value = item.partition("=")
            if key in ("select", "nodes"):
                nodes = int(value.split(":")[0])
    if nodes > int(os.environ.get("FAKESCHED_NODES", "2")):
        die("qsub: Job exceeds queue and/or server resource limits", 188)
    cwd = os.getcwd()
    name = options.get("N", [script.name])[-1]
    nodefile = Path(fakesched.state_dir()) / "nodefiles" / "%j"
    nodefile.parent.mkdir(exist_ok=True)
    job = fakesched.enqueue(
        name, script, cwd,
        options.get("o", [os.path.join(cwd, f"{name}.o%j")])[-1],
        options.get("e", [os.path.join(cwd, f"{name}.e%j")])[-1],
        env={
            "PBS_JOBID": f"%j{SUFFIX}", "PBS_QUEUE": queue, "PBS_O_WORKDIR": cwd,
            "PBS_NODEFILE": str(nodefile), "PBS_JOBNAME": name,
        },
    )  # fmt: skip
    # One line per node (mpiprocs=1): the simulated nodes all stand on this machine.
    names = "".join(f"{NODE_PREFIX}{i}\n" for i in range(1, nodes + 1))
    Path(str(nodefile).replace("%j", str(job))).write_text(names)
    print(f"{job}{SUFFIX}")


def _number(job_id: str) -> str:
    return job_id.split(".", maxsplit=1)[0]


def _when(stamp: float | None) -> str | None:
    return None if stamp is None else time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(stamp))


def qstat(args: list[str]) -> None:
    history = "-x" in args
    ids = [a for a in args if not a.startswith("-") and a != "json"]
    if "-F" not in args or "-f" not in args:
        die("qstat: this simulator prints only -f -F json", 2)
    jobs: dict[str, Any] = {}
    unknown = False
    keep = float(os.environ.get("FAKESCHED_KEEP", "300"))
    with fakesched.locked() as root:
        for job_id in ids:
            job = fakesched.load(root, _number(job_id))
            gone = job is None or (job["end_time"] and time.time() - job["end_time"] > keep)
            if job is None or gone or (job["finished"] and not history):
                print(f"qstat: Unknown Job Id {job_id}", file=sys.stderr)
                unknown = True
                continue
            state = {"PENDING": "Q", "RUNNING": "R"}.get(job["state"], "F")
            if job["hold"] and state == "Q":
                state = "H"
            entry: dict[str, Any] = {
                "Job_Name": job["name"], "job_state": state, "queue": "workq",
                "Output_Path": f"{socket.gethostname()}:{job['output']}",
            }  # fmt: skip
            if job.get("start_time"):
                entry["stime"] = _when(job["start_time"])
            if state == "F":
                entry["Exit_status"] = 271 if job["state"] == "CANCELLED" else job["exit_code"]
                entry["obittime"] = _when(job["end_time"])
            jobs[f"{job['id']}{SUFFIX}"] = entry
    if jobs:
        print(json.dumps({
            "timestamp": int(time.time()), "pbs_version": "2022.1.0-sim",
            "pbs_server": "pbssim", "Jobs": jobs,
        }, indent=4))  # fmt: skip
    sys.exit(153 if unknown else 0)


def qdel(args: list[str]) -> None:
    bad = False
    with fakesched.locked() as root:
        for job_id in args:
            job = fakesched.load(root, _number(job_id))
            if job is None or job["finished"]:
                why = "Unknown Job Id" if job is None else "Job has finished"
                print(f"qdel: {why} {job_id}", file=sys.stderr)
                bad = True
                continue
            job["cancel"] = True
            fakesched.save(root, job)
    sys.exit(35 if bad else 0)


def mpiexec(args: list[str]) -> NoReturn:
    """PALS mpiexec onto the real Open MPI mpirun (this host stands for every node)."""
    tasks = "1"
    env: dict[str, str] = {}
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        name, eq, inline = flag.partition("=")
        takes = name in ("-n", "--np", "-np", "--ppn", "--depth", "-d", "--hosts", "--cpu-bind",
                         "--env", "--envlist")  # fmt: skip
        if not takes:
            die(f"mpiexec: unknown option {flag}", 1)
        value = inline if eq else args.pop(0)
        if name in ("-n", "--np", "-np"):
            tasks = value
        elif name == "--env":
            key, _, val = value.partition("=")
            env[key] = val
    if not args:
        die("mpiexec: no executable given", 1)
    real = shutil.which("mpirun")
    if real is None:
        die("mpiexec (PALS simulator): needs Open MPI's mpirun", 1)
    os.environ.update(env)
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.execv(real, [real, "--oversubscribe", "-n", tasks, *args])


def pbsdsh(args: list[str]) -> NoReturn:
    """``pbsdsh -h HOST -- PROGRAM ARGS``: the program on node HOST of this job (this
    machine, with ``PBSSIM_NODE=HOST`` so tests can tell where it "ran")."""
    if len(args) < 4 or args[0] != "-h" or args[2] != "--":
        die("usage: pbsdsh [-h hostname] -- program [args]", 1)
    host, program = args[1], args[3:]
    nodefile = os.environ.get("PBS_NODEFILE")
    if not nodefile or host not in Path(nodefile).read_text().split():
        die(f"pbsdsh: host {host} is not a node of this job", 1)
    os.environ["PBSSIM_NODE"] = host
    os.execvp(program[0], program)


COMMANDS = {"qsub": qsub, "qstat": qstat, "qdel": qdel, "mpiexec": mpiexec, "pbsdsh": pbsdsh}


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    with fakesched.locked() as root, open(root / "calls.log", "a") as log:
        log.write(shlex.join([command, *args]) + "\n")
    if os.environ.get("FAKESCHED_HANG") == command:
        time.sleep(3600)
    COMMANDS[command](args)


if __name__ == "__main__":
    main()
