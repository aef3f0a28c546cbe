"""insitu.inference: models and scripts run next to the data by Python inference workers.

One worker process per store shard (see :mod:`insitu.inference.worker`) takes run requests
from a stream on its shard (:mod:`insitu.wire.messages`), runs them with a backend
(:mod:`insitu.inference.backends`) and replies. The runtime starts workers through
:mod:`insitu.inference.launch`. Importing this package imports no ML framework.
"""
