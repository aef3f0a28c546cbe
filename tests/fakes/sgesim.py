"""A behavioural simulator of Grid Engine (SGE / Son of Grid Engine) on this one machine,
over the job engine of :mod:`fakesched` (jobs really run, detached, and can be killed).

Commands (executables in ``tests/fakes/sge-bin``), in Grid Engine's own formats (its
manual pages ``qsub(1)``, ``qstat(1)``, ``qdel(1)``, ``qacct(1)``):

- ``qsub [-terse] SCRIPT``: reads the ``#$`` directives (``-N -o -e -wd -cwd -S -l -A -q
  -pe -ac -v -V -j``), refuses an unknown queue (``Unable to run job: job rejected: the
  requested queue "<q>" does not exist.`` / ``Exiting.`` on stderr, exit 1) and prints
  ``Your job <n> ("<name>") has been submitted``, or ``<n>`` alone with ``-terse``. The job
  runs with ``JOB_ID``, ``JOB_NAME``, ``QUEUE``, ``SGE_O_WORKDIR``, ``NSLOTS`` and
  ``PE_HOSTFILE`` (``host slots queue UNDEFINED`` lines) set.
- ``qstat -xml``: every unfinished job, running ones (``r``; ``dr`` once deleted, until
  gone) under ``queue_info``, pending ones (``qw``) under ``job_info``; finished jobs are
  gone at once, as in Grid Engine.
- ``qdel ID...``: ``root has registered the job <n> for deletion``; unknown or finished:
  ``denied: job "<n>" does not exist`` on stderr, exit 1.
- ``qacct -j ID``: the accounting record of a finished job (``failed``, ``exit_status``);
  ``error: job id <n> not found`` and exit 1 otherwise.

``FAKESCHED_HANG=<command>`` makes that command hang; every call is logged in
``$FAKESCHED_DIR/calls.log``.
"""

from __future__ import annotations

import getpass
import os
import shlex
import socket
import sys
import time
from pathlib import Path
from typing import NoReturn
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).parent))
import fakesched

QUEUES = ("all.q",)
WITH_VALUE = {"N", "o", "e", "wd", "S", "l", "A", "q", "pe", "ac", "sc", "dc", "v", "j", "P"}
FLAGS = {"V", "cwd", "terse"}


def die(message: str, code: int) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


def parse_options(words: list[str], found: dict[str, list[str]]) -> list[str]:
    """Options from ``words`` into ``found``; returns what is left (the script and args)."""
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        name = flag[1:]
        if name not in WITH_VALUE | FLAGS:
            die(f'qsub: Unknown option "{flag}"\nqsub: Unknown option', 7)
        if name == "pe":  # -pe name slots
            found.setdefault(name, []).append(f"{words.pop(0)} {words.pop(0)}")
        else:
            found.setdefault(name, []).append(words.pop(0) if name in WITH_VALUE else "")
    return words


def qsub(args: list[str]) -> None:
    options: dict[str, list[str]] = {}
    rest = parse_options(list(args), options)
    if len(rest) != 1:
        die("qsub: a script file is required", 2)
    script = Path(rest[0]).resolve()
    if not script.is_file():
        die(f"Unable to read script file because of error: error opening {rest[0]}", 1)
    for line in script.read_text().splitlines():
        if line.startswith("#$"):
            parse_options(shlex.split(line[2:]), options)
    queue = options.get("q", ["all.q"])[-1]
    if queue not in QUEUES:
        die(f'Unable to run job: job rejected: the requested queue "{queue}" does not exist.\n'
            "Exiting.", 1)  # fmt: skip
    cwd = options.get("wd", [os.getcwd()])[-1]
    name = options.get("N", [script.name])[-1]
    slots = options.get("pe", ["- 1"])[-1].split()[1]
    hostfile = Path(fakesched.state_dir()) / "pe_hostfiles" / "%j"
    hostfile.parent.mkdir(exist_ok=True)
    job = fakesched.enqueue(
        name, script, cwd,
        options.get("o", [os.path.join(cwd, f"{name}.o%j")])[-1],
        options.get("e", [os.path.join(cwd, f"{name}.e%j")])[-1],
        env={"JOB_ID": "%j", "JOB_NAME": name, "QUEUE": queue, "SGE_O_WORKDIR": cwd,
             "NSLOTS": slots, "PE_HOSTFILE": str(hostfile)},
    )  # fmt: skip
    host = socket.gethostname()
    Path(str(hostfile).replace("%j", str(job))).write_text(
        f"{host} {slots} {queue}@{host} UNDEFINED\n"
    )
    print(job if "terse" in options else f'Your job {job} ("{name}") has been submitted')


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(stamp))


def qstat(args: list[str]) -> None:
    if args != ["-xml"]:
        die("qstat (simulator): only -xml", 2)
    owner = escape(getpass.getuser())
    running, pending = [], []
    with fakesched.locked() as root:
        for path in sorted((root / "jobs").glob("*.json")):
            job = fakesched.load(root, path.stem)
            if job is None or job["finished"]:
                continue
            common = (
                f"      <JB_job_number>{job['id']}</JB_job_number>\n"
                f"      <JAT_prio>0.55500</JAT_prio>\n"
                f"      <JB_name>{escape(job['name'])}</JB_name>\n"
                f"      <JB_owner>{owner}</JB_owner>\n"
            )
            if job["state"] == "RUNNING":
                state = "dr" if job["cancel"] else "r"
                running.append(
                    f'    <job_list state="running">\n{common}      <state>{state}</state>\n'
                    f"      <JAT_start_time>{_when(job['start_time'])}</JAT_start_time>\n"
                    f"      <queue_name>all.q@{socket.gethostname()}</queue_name>\n"
                    "      <slots>1</slots>\n    </job_list>\n"
                )
            else:
                state = "dqw" if job["cancel"] else "hqw" if job["hold"] else "qw"
                pending.append(
                    f'    <job_list state="pending">\n{common}      <state>{state}</state>\n'
                    "      <queue_name></queue_name>\n      <slots>1</slots>\n    </job_list>\n"
                )
    print("<?xml version='1.0'?>\n<job_info  xmlns:xsd=\"http://arc.liv.ac.uk/repos/darcs/"
          "sge/source/dist/util/resources/schemas/qstat/qstat.xsd\">\n"
          f"  <queue_info>\n{''.join(running)}  </queue_info>\n"
          f"  <job_info>\n{''.join(pending)}  </job_info>\n</job_info>")  # fmt: skip


def qdel(args: list[str]) -> None:
    bad = False
    user = getpass.getuser()
    with fakesched.locked() as root:
        for job_id in args:
            job = fakesched.load(root, job_id)
            if job is None or job["finished"]:
                print(f'denied: job "{job_id}" does not exist', file=sys.stderr)
                bad = True
                continue
            job["cancel"] = True
            fakesched.save(root, job)
            print(f"{user} has registered the job {job_id} for deletion")
    sys.exit(1 if bad else 0)


def qacct(args: list[str]) -> None:
    if len(args) != 2 or args[0] != "-j":
        die("qacct (simulator): only -j ID", 2)
    with fakesched.locked() as root:
        job = fakesched.load(root, args[1])
    if job is None or not job["finished"]:
        die(f"error: job id {args[1]} not found", 1)
    cancelled = job["state"] == "CANCELLED"
    code = 137 if cancelled else job["exit_code"]
    print("=" * 62)
    for key, value in (
        ("qname", "all.q"), ("hostname", socket.gethostname()), ("jobname", job["name"]),
        ("jobnumber", job["id"]), ("failed", "100 : assumedly after job" if cancelled else "0"),
        ("exit_status", code),
    ):  # fmt: skip
        print(f"{key:<13}{value}")


COMMANDS = {"qsub": qsub, "qstat": qstat, "qdel": qdel, "qacct": qacct}


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    with fakesched.locked() as root, open(root / "calls.log", "a") as log:
        log.write(shlex.join([command, *args]) + "\n")
    if os.environ.get("FAKESCHED_HANG") == command:
        time.sleep(3600)
    COMMANDS[command](args)


if __name__ == "__main__":
    main()
