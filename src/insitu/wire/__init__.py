"""Cross-process contracts: everything two insitu processes (or insitu and a client in
another language) must agree on, each in one module with a format/parse pair.

``addresses`` (how a store address is written), ``endpoint`` (how to reach one server:
address, credentials, TLS, timeouts), ``env`` (the environment a launched entity receives),
``keys`` (the key schema), ``tensors`` and ``datasets`` (value codecs), ``messages`` (inference
requests and replies), ``model_record`` (a stored model or script), ``devices``, ``batching``
and ``backends`` (what a model record names), ``worker`` (how an inference worker is started)
and ``record`` (the launch record of an experiment).

This package imports nothing of insitu but :mod:`insitu.errors` and :mod:`insitu._checks`
(both at the bottom), so that the client, the store, the inference workers and the launch
record's readers can all depend on it without depending on each other.
"""
