"""Run-directory generation: the Generator and tag substitution in configuration files."""

from insitu.generation.run_dirs import ConfiguredFile, GenerationReport, Generator
from insitu.generation.templating import Substitution, substitute

__all__ = ["ConfiguredFile", "GenerationReport", "Generator", "Substitution", "substitute"]
