"""insitu.client: the data-plane client, SmartRedis 0.6's Python API name for name.

``from smartredis import Client, Dataset, ConfigOptions, LLInfo, ...`` ports to
``from insitu.client import ...``; ``from smartredis.error import ...`` to
``from insitu.client.errors import ...``. See ``docs/wire-format.md`` for what is stored.
"""

from insitu.client.client import Client
from insitu.client.config_options import ConfigOptions
from insitu.client.dataset import Dataset
from insitu.client.logging import (
    LLDebug,
    LLDeveloper,
    LLInfo,
    LLQuiet,
    LogContext,
    SRLoggingLevel,
    SRObject,
    log_data,
    log_error,
    log_warning,
)

__all__ = [
    "Client",
    "ConfigOptions",
    "Dataset",
    "LLDebug",
    "LLDeveloper",
    "LLInfo",
    "LLQuiet",
    "LogContext",
    "SRLoggingLevel",
    "SRObject",
    "log_data",
    "log_error",
    "log_warning",
]
