"""How a scheduler spells batch options, on its command line and as script directives (pure).

A :class:`BatchDialect` is one scheduler's submit command: its translation of the neutral
:class:`~insitu.jobs.spec.BatchSpec` fields into native (name, value) options, and how those
options are written as flags (``--nodes=2``, ``-l select=2``) and as directive lines of a
batch script (``#SBATCH --nodes=2``). Each scheduler package (``slurm``, ``pbs``, ``lsf``)
defines its dialect in its ``commands.py``; the registry finds them by submit command.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from insitu.jobs.spec import BatchSpec, RunArgs

Spelling = Callable[[str, "str | None"], list[str]]
"""One option (name, value or ``None`` for a bare flag) as command-line tokens."""


def hms(seconds: float) -> str:
    """``H:MM:SS`` (hours unbounded), rounding partial seconds up so no time is lost."""
    total = math.ceil(seconds)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def gnu_style(name: str, value: str | None) -> list[str]:
    """``-n 4`` for one-letter names, ``--name=value`` otherwise (Slurm everywhere)."""
    if len(name) == 1:
        return [f"-{name}"] if value is None else [f"-{name}", value]
    return [f"--{name}"] if value is None else [f"--{name}={value}"]


def single_dash(name: str, value: str | None) -> list[str]:
    """``-name value`` whatever the name's length (PBS ``-l select=2``, LSF ``-nnodes 2``)."""
    return [f"-{name}"] if value is None else [f"-{name}", value]


@dataclass(frozen=True)
class BatchDialect:
    """One scheduler's batch submission: command, directive prefix, option translation.

    ``options`` turns the neutral fields of a :class:`BatchSpec` into native option pairs
    (raising ``UnsupportedOptionError`` for a field the scheduler cannot express);
    ``spelling`` writes one option as tokens.
    """

    command: str
    prefix: str
    options: Callable[[BatchSpec], RunArgs]
    spelling: Spelling

    def pairs(self, spec: BatchSpec) -> RunArgs:
        """Native options of ``spec``: its neutral fields first, then its ``batch_args``."""
        return self.options(spec) + spec.batch_args

    def flags(self, spec: BatchSpec) -> list[str]:
        """``spec`` as the submit command's flags."""
        return [token for name, value in self.pairs(spec) for token in self.spelling(name, value)]

    def directives(self, spec: BatchSpec) -> list[str]:
        """``spec`` as batch script directive lines, one per option."""
        return [
            " ".join((self.prefix, *self.spelling(name, value))) for name, value in self.pairs(spec)
        ]
