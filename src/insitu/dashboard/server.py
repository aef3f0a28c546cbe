"""Running the dashboard: ``insitu dashboard [EXP_PATH ...] [--host H] [--port N]``.

It binds 127.0.0.1 by default. Bound to any other address it requires a token, generated
here and printed once with the address to open; nothing else shows it. A port in use is a
:class:`~insitu.errors.PortInUseError` before anything starts.
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from insitu.errors import InvalidArgumentError, PortInUseError

DEFAULT_PORT = 8265


def is_loopback(host: str) -> bool:
    """True for a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """PortInUseError if ``host:port`` is taken now; InvalidArgumentError if it cannot be
    bound for another reason (a host name that does not resolve, an address not of this
    machine, a privileged port), naming the reason."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except socket.gaierror as err:
            raise InvalidArgumentError(f"--host {host}: not a known host ({err.strerror})") from err
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortInUseError(port, host, "choose another with --port") from err
            raise InvalidArgumentError(f"cannot listen on {host}:{port}: {err.strerror}") from err


def serve(
    paths: Sequence[Path],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the experiments at ``paths`` until interrupted (SIGINT/SIGTERM).

    ``token`` is generated when ``host`` is not loopback and none is given; ``announce``
    receives the one line that says where to go (with the token).
    """
    try:
        import uvicorn

        from insitu.dashboard.app import create_app
    except ImportError as err:
        from insitu.errors import MissingDependencyError

        raise MissingDependencyError(
            f"the dashboard ({err.name})", "install it with: pip install 'insitu[dashboard]'"
        ) from err
    from insitu.dashboard.source import ExperimentSource, exp_key, find_experiments

    if not 0 < port < 65536:
        raise InvalidArgumentError(f"port {port} is not between 1 and 65535")
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(24)
    check_port(host, port)
    sources = [ExperimentSource(exp_key(i), p) for i, p in enumerate(find_experiments(list(paths)))]
    for source in sources:
        source.refresh()
    app = create_app(sources, token)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False,
        timeout_graceful_shutdown=2, lifespan="on",
    )  # fmt: skip
    server = uvicorn.Server(config)
    announce(f"insitu dashboard: {len(sources)} experiment(s) at {url}")
    server.run()
