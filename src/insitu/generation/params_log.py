"""The generation log ``smartsim_params.txt`` (SmartSim 0.8's format), pure formatting and
one writer.

``generate()`` writes ``<exp_path>/smartsim_params.txt``, replaced by every generation: a
first line ``Generation start date and time: DD/MM/YYYY HH:MM:SS``, then one entry per Model
whose ``to_configure`` files used parameters::

    Model name: <name>
    <table: File name | Parameters, each cell a Name | Value table>
    <blank line>

The same entry is written alone to ``<model.path>/smartsim_params.txt``. File names are
relative to the experiment directory. A Model whose files used no parameter has no entry.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

PARAMS_LOG = "smartsim_params.txt"


@dataclass(frozen=True)
class ConfiguredParams:
    """The parameters (name → value) one configured file of a Model used."""

    file: str
    params: Mapping[str, str]


def header_line(when: datetime.datetime) -> str:
    """The first line of the experiment's log."""
    return f"Generation start date and time: {when.strftime('%d/%m/%Y %H:%M:%S')}\n"


def model_entry(model: str, files: Sequence[ConfiguredParams]) -> str:
    """The entry of ``model`` ("" if its files used no parameter)."""
    used = [f for f in files if f.params]
    if not used:
        return ""
    tables = [(f.file, tabulate(list(f.params.items()), headers=["Name", "Value"])) for f in used]
    return f"Model name: {model}\n{tabulate(tables, headers=['File name', 'Parameters'])}\n\n"


def write_params_log(
    gen_path: Path,
    entries: Sequence[tuple[Path, str]],
    when: datetime.datetime | None = None,
) -> None:
    """Write the experiment's log under ``gen_path`` and each ``(model dir, entry)``'s own."""
    stamp = header_line(when or datetime.datetime.now())
    (gen_path / PARAMS_LOG).write_text(stamp + "".join(e for _, e in entries), encoding="utf-8")
    for model_dir, entry in entries:
        (model_dir / PARAMS_LOG).write_text(entry, encoding="utf-8")
