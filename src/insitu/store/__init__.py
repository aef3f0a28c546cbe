"""insitu.store: the Orchestrator (a Valkey/Redis feature store) and its building blocks."""

from insitu.store.orchestrator import Orchestrator
from insitu.store.server_binary import ServerBinary, find_server_binary

__all__ = ["Orchestrator", "ServerBinary", "find_server_binary"]
