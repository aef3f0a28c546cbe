"""Containers as values: ``Container`` and ``Singularity``, as in SmartSim 0.8.

``Singularity._container_cmds()`` gives the command placed before the executable
(``singularity exec [--pwd wd] [args] [--bind a,b] image``). insitu launches no container
engine yet: a Model whose settings hold a container is refused at start
(``UnsupportedOptionError``); the values exist so that drivers that build them port.
"""

from __future__ import annotations

import shutil

from insitu import _checks as tc

MountSpec = str | list[str] | dict[str, str | None]


class Container:
    """A container image with engine arguments, mounts and a working directory."""

    def __init__(
        self,
        image: str,
        args: str | list[str] = "",
        mount: MountSpec = "",
        working_directory: str = "",
    ) -> None:
        self.image = tc.check_type("image", image, str, "a str")
        if not isinstance(args, str | list):
            raise tc.type_error("args", args, "a str or a list of str")
        if not isinstance(mount, str | list | dict):
            raise tc.type_error("mount", mount, "a str, a list or a dict")
        self.args = args
        self.mount = mount
        self.working_directory = tc.check_type("working_directory", working_directory, str, "a str")

    def _containerized_run_command(self, run_command: str) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no run command of its own")


class Singularity(Container):
    """A Singularity (Apptainer) container."""

    def _container_cmds(self, default_working_directory: str = "") -> list[str]:
        """``[singularity, "exec", …, image]`` for this container."""
        args = self.args if isinstance(self.args, str) else " ".join(self.args)
        mounts: list[str] = []
        if isinstance(self.mount, str) and self.mount:
            mounts = [self.mount]
        elif isinstance(self.mount, list):
            mounts = list(self.mount)
        elif isinstance(self.mount, dict):
            mounts = [f"{src}:{dst}" if dst else src for src, dst in self.mount.items()]
        workdir = self.working_directory or default_working_directory
        if workdir and workdir not in (m.split(":")[0] for m in mounts):
            mounts.append(workdir)
        cmd = [shutil.which("singularity") or "singularity", "exec"]
        if workdir:
            cmd += ["--pwd", workdir]
        if args:
            cmd += args.split()
        if mounts:
            cmd += ["--bind", ",".join(mounts)]
        return [*cmd, self.image]


__all__ = ["Container", "Singularity"]
