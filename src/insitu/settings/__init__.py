"""User-facing builders of neutral job descriptions: RunSettings, BatchSettings, run commands."""

from insitu.launchers.run_commands import detect_run_command, translate
from insitu.settings.batch_settings import BatchSettings, BatchSpec
from insitu.settings.run_settings import RunSettings

__all__ = ["BatchSettings", "BatchSpec", "RunSettings", "detect_run_command", "translate"]
