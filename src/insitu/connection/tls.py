"""TLS for store connections: what redis-py is told, and the ``ssl`` context of the lean
RESP connection, both from an endpoint's :class:`~insitu.wire.endpoint.TlsOptions`.

Every TLS connection verifies the server: its certificate must chain to ``ca_file``. That
file is the CA of one insitu store (:mod:`insitu.store.tls_certs`: its key never leaves the
driver's memory, and it signs that store's certificates only), so a certificate that chains
to it is that store's and the address it was reached at is not matched against the
certificate: a shard started on another host (Slurm, PBS, LSF) binds an address the driver
learns only once it runs. With no ``ca_file`` (the system's CA bundle, whose CAs sign for
anyone) the certificate must also name the address connected to. TLS 1.2 is the oldest
version accepted. A client certificate is presented when the options carry one (mutual TLS).

A failed verification surfaces as :class:`ssl.SSLCertVerificationError` (an ``OSError``)
from the lean connection, or inside redis-py's ``ConnectionError``;
:func:`is_verification_failure` tells such an error apart, so that callers can raise a
typed error at once instead of retrying a connection that cannot succeed.
"""

from __future__ import annotations

import functools
import os
import ssl

from insitu.wire.endpoint import TlsOptions

_VERIFY_MARKERS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed",
                   "Hostname mismatch", "IP address mismatch")  # fmt: skip


def redis_py_options(tls: TlsOptions) -> dict[str, object]:
    """The keyword arguments that make a redis-py client connect over verified TLS."""
    return {
        "ssl": True,
        "ssl_ca_certs": tls.ca_file,
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": tls.ca_file is None,  # see the module docs
        "ssl_certfile": tls.cert_file,
        "ssl_keyfile": tls.key_file,
        "ssl_min_version": ssl.TLSVersion.TLSv1_2,
    }


def client_context(tls: TlsOptions) -> ssl.SSLContext:
    """An SSL context that verifies the server as the module says (cached per set of
    files and their modification times: a rewritten CA file is read again)."""
    stamps = tuple(_mtime(path) for path in (tls.ca_file, tls.cert_file, tls.key_file))
    return _context(tls, stamps)


def _mtime(path: str | None) -> int:
    if path is None:
        return 0
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1  # missing: load_verify_locations will say so


@functools.lru_cache(maxsize=32)
def _context(tls: TlsOptions, _stamps: tuple[int, ...]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = tls.ca_file is None  # the chain is checked either way
    if tls.cert_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


def is_verification_failure(err: BaseException) -> bool:
    """True if ``err`` (or what it wraps) says the server's certificate was refused."""
    seen: BaseException | None = err
    for _ in range(8):  # a chain of causes is short; never follow a cycle for ever
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if any(marker in str(seen) for marker in _VERIFY_MARKERS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
