"""The compiled part of insitu: the store module (C, ``src/insitu/store/module/``), a shared
object that every store insitu starts loads. It is built by the package build with the
system C compiler (gcc is enough) and shipped in the wheel, so users install it with no
build step. It is not a Python extension: only the server loads it, so it gets a plain
file name (``insitu_ai.so``) and the wheel is tagged ``py3-none-<platform>``."""

from __future__ import annotations

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULE = "insitu.store.module.insitu_ai"
SOURCES = sorted(str(p) for p in Path("src/insitu/store/module").glob("*.c"))


class BuildStoreModule(build_ext):
    """Build the store module under its plain name."""

    def get_ext_filename(self, fullname: str) -> str:
        # Called with the full dotted name, and with its last part alone.
        if MODULE.endswith(fullname):
            parts = fullname.split(".")
            return str(Path(*parts[:-1], parts[-1] + ".so"))
        return super().get_ext_filename(fullname)

    def get_export_symbols(self, ext: Extension) -> list[str]:
        if ext.name == MODULE:
            return ["RedisModule_OnLoad", "RedisModule_OnUnload"]
        return super().get_export_symbols(ext)


commands: dict[str, type] = {"build_ext": BuildStoreModule}
try:  # a platform wheel that any Python of that platform can install
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]


class PlatformWheel(bdist_wheel):
    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


commands["bdist_wheel"] = PlatformWheel

setup(
    ext_modules=[
        Extension(
            MODULE,
            sources=SOURCES,
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-fvisibility=hidden", "-O2"],
            # ONNX Runtime is opened at run time (dlopen), only if the store asks for it.
            libraries=["dl", "pthread"],
        )
    ],
    cmdclass=commands,
)
