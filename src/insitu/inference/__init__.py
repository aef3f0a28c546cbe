"""insitu.inference: models and scripts run next to the data by Python inference workers.

One worker process per store shard (see :mod:`insitu.inference.worker`, started as
:mod:`insitu.wire.worker` says) takes run requests from a stream on its shard
(:mod:`insitu.wire.messages`), runs them with a backend (:mod:`insitu.inference.backends`)
and replies. :func:`worker_is_ready` tells when a worker serves. Importing this package
imports no ML framework.
"""

from insitu.inference.backends import Backend, BackendThreads, Session, get_backend
from insitu.inference.launch import worker_is_ready

__all__ = ["Backend", "BackendThreads", "Session", "get_backend", "worker_is_ready"]
