"""The dashboard's web app (Starlette): pages, a JSON API and server-sent events.

Routes (``{key}`` is an experiment's position in the list):

* ``/`` and ``/exp/{key}`` — the pages (static HTML and JS from this package; uPlot is
  vendored under ``static/vendor``: no CDN, the machine may be offline);
* ``/api/experiments`` — the list; ``/api/experiments/{key}`` — one experiment's snapshot;
  ``/api/experiments/{key}/timeline.svg`` — its Gantt chart;
  ``/api/experiments/{key}/logs/{entity}?stream=out|err&offset=N`` — a log tail;
* ``/api/experiments/{key}/events`` — server-sent events: ``update`` when the record or the
  telemetry changed, ``tick`` every second (log tails follow on it).

With a token (required when the server binds anything but loopback) every request must
carry it: ``?token=`` once (it is then kept in a cookie), or ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from insitu.dashboard.source import ExperimentSource, json_safe
from insitu.views.gantt import DEFAULT_WIDTH, MAX_WIDTH, MIN_WIDTH, render_svg
from insitu.views.state import timeline

STATIC = Path(__file__).parent / "static"
REFRESH = 0.5
"""Seconds between two looks at the files."""
LOG_CHUNK = 64 * 1024
"""Bytes of a log sent at most per request (the tail when starting far behind)."""
COOKIE = "insitu_dashboard_token"


def create_app(sources: Sequence[ExperimentSource], token: str | None = None) -> Starlette:
    """The app over ``sources``; ``token`` (None: no check) guards every request."""
    by_key = {s.key: s for s in sources}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_refresh_forever(sources))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for source in sources:
                source.close()

    def source_of(request: Request) -> ExperimentSource | None:
        return by_key.get(request.path_params["key"])

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def page(request: Request) -> Response:
        if source_of(request) is None:
            return PlainTextResponse("no such experiment", status_code=404)
        return FileResponse(STATIC / "experiment.html")

    async def experiments(request: Request) -> Response:
        return JSONResponse([s.summary() for s in sources])

    async def snapshot(request: Request) -> Response:
        source = source_of(request)
        if source is None:
            return JSONResponse({"error": "no such experiment"}, status_code=404)
        return JSONResponse(json_safe(source.snapshot()))

    async def timeline_svg(request: Request) -> Response:
        source = source_of(request)
        if source is None:
            return PlainTextResponse("no such experiment", status_code=404)
        run, _, _, _ = source.latest()
        try:  # the page asks for its own width; anything odd gets the default
            width = min(max(int(request.query_params.get("width", "")), MIN_WIDTH), MAX_WIDTH)
        except ValueError:
            width = DEFAULT_WIDTH
        svg = render_svg(timeline(run) if run is not None else (), width=width)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    async def logs(request: Request) -> Response:
        source = source_of(request)
        if source is None:
            return JSONResponse({"error": "no such experiment"}, status_code=404)
        entity, stream = request.path_params["entity"], request.query_params.get("stream", "out")
        try:
            offset = int(request.query_params.get("offset", "-1"))
        except ValueError:
            return JSONResponse({"error": "offset must be an integer"}, status_code=400)
        path = source.log_path(entity, stream)
        if path is None:
            return JSONResponse({"error": f"no {stream} file recorded for {entity!r}"},
                                status_code=404)  # fmt: skip
        return JSONResponse(await asyncio.to_thread(_read_log, path, offset))

    async def events(request: Request) -> Response:
        source = source_of(request)
        if source is None:
            return PlainTextResponse("no such experiment", status_code=404)
        return StreamingResponse(
            _event_stream(request, source),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    routes = [
        Route("/", index),
        Route("/exp/{key}", page),
        Route("/api/experiments", experiments),
        Route("/api/experiments/{key}", snapshot),
        Route("/api/experiments/{key}/timeline.svg", timeline_svg),
        Route("/api/experiments/{key}/logs/{entity}", logs),
        Route("/api/experiments/{key}/events", events),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [] if token is None else [Middleware(_TokenCheck, token=token)]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


async def _refresh_forever(sources: Sequence[ExperimentSource]) -> None:
    while True:
        for source in sources:
            try:
                await asyncio.to_thread(source.refresh)
            except Exception as err:  # one bad experiment must not stop the others
                print(f"insitu dashboard: {source.path}: {type(err).__name__}: {err}", flush=True)
        await asyncio.sleep(REFRESH)


async def _event_stream(request: Request, source: ExperimentSource) -> AsyncIterator[str]:
    seen = -1
    last_tick = 0.0
    while not await request.is_disconnected():
        if source.version != seen:
            seen = source.version
            yield f"event: update\ndata: {json.dumps({'version': seen})}\n\n"
        now = time.monotonic()
        if now - last_tick >= 1.0:
            last_tick = now
            yield "event: tick\ndata: {}\n\n"
        await asyncio.sleep(REFRESH / 2)


def _read_log(path: Path, offset: int) -> dict[str, object]:
    """Text of ``path`` from ``offset`` (-1: its last :data:`LOG_CHUNK` bytes)."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            if 0 <= offset <= size:
                start = max(offset, size - LOG_CHUNK)
            else:
                start = max(size - LOG_CHUNK, 0)
            file.seek(start)
            data = file.read(size - start)
    except FileNotFoundError:
        return {"path": str(path), "text": "", "offset": 0, "missing": True}
    except OSError as err:
        return {"path": str(path), "text": "", "offset": 0, "error": err.strerror}
    text = data.decode("utf-8", errors="replace")
    return {"path": str(path), "text": text, "offset": start + len(data), "missing": False}


class _TokenCheck(BaseHTTPMiddleware):
    def __init__(self, app: object, token: str) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self._token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.query_params.get("token")
        if given is not None and self._ok(given):
            # Keep it in a cookie and drop it from the address bar (and its history).
            response = RedirectResponse(request.url.remove_query_params("token"), 303)
            response.set_cookie(COOKIE, self._token, httponly=True, samesite="strict")
            return response
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self._ok(request.cookies.get(COOKIE, "")) or self._ok(bearer):
            return await call_next(request)
        return PlainTextResponse(
            "this dashboard needs its token: open the address it printed when it started",
            status_code=401,
        )

    def _ok(self, value: str) -> bool:
        return bool(value) and hmac.compare_digest(value.encode(), self._token.encode())
