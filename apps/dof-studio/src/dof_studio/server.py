"""The studio's web app (FastAPI) and :func:`serve`, which runs it with uvicorn.

Errors come back as ``{"error": "one line"}`` with a 4xx status (5xx for bugs, whose trace goes
to the terminal); the page shows the line as it is. The routes are in :mod:`dof_studio.routes`.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

import dof_io
import dof_smooth
from dof_studio.engine import Studio
from dof_studio.errors import ForbiddenError, StudioError
from dof_studio.jobs import JobRunner
from dof_studio.routes import router

#: the Host names the studio answers to when it listens on loopback (IPv6 in brackets)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
#: request bodies the page sends; a form or a "simple" cross-site request cannot carry them
#: (text/plain, multipart/form-data and x-www-form-urlencoded need no CORS preflight)
PAGE_CONTENT_TYPES = ("application/json", "application/octet-stream")
#: Sec-Fetch-Site values of requests the page itself makes (or the user types)
SAME_SITE = ("same-origin", "none")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: the page loads nothing from elsewhere; it can only talk to this server
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def is_loopback(host: str) -> bool:
    """Whether ``--host`` is this machine only: localhost, 127.0.0.0/8, ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cross_site_refusal(method: str, headers: dict[str, str]) -> str | None:
    """Why a request may not change anything (None: it may): the rule of every state-changing
    route. Safe methods pass; others must come from the page itself (``Sec-Fetch-Site``
    same-origin, an ``Origin`` equal to the ``Host``) and carry the page's own content type,
    which a cross-site form or ``fetch(..., {mode: "no-cors"})`` cannot send.

    Args:
        method: the HTTP method.
        headers: the request's headers, names in lower case.
    """
    if method in SAFE_METHODS:
        return None
    site = headers.get("sec-fetch-site")
    if site is not None and site not in SAME_SITE:
        return f"refused: a request from another site ({site}) cannot change the studio"
    origin = headers.get("origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc != headers.get("host")):
        return f"refused: a request from {origin} cannot change the studio"
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in PAGE_CONTENT_TYPES:
        shown = content_type or "none"
        return (
            f"refused: the studio takes {' or '.join(PAGE_CONTENT_TYPES)} from its own page, "
            f"not {shown}"
        )
    return None


async def _same_site_writes(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """403 before the route runs (nothing read, nothing changed) for a cross-site write."""
    headers = {key.lower(): value for key, value in request.headers.items()}
    reason = cross_site_refusal(request.method, headers)
    if reason is not None:
        return await _studio_error(request, ForbiddenError(reason))
    return await call_next(request)


async def _studio_error(_: Request, err: StudioError) -> JSONResponse:
    return JSONResponse({"error": err.message}, status_code=err.status)


async def _user_error(_: Request, err: Exception) -> JSONResponse:
    """A photo that cannot be read or is too large for the memory budget, options a blur
    refuses: the package's own message."""
    return JSONResponse({"error": str(err)}, status_code=400)


async def _internal_error(_: Request, err: Exception) -> JSONResponse:
    """Anything else is a bug: the page says so in one line, the terminal gets the trace."""
    traceback.print_exception(err, file=sys.stderr)
    message = "out of memory: try a smaller photo" if isinstance(err, MemoryError) else err
    return JSONResponse({"error": f"dof studio failed: {message}"}, status_code=500)


def create_app(studio: Studio, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The studio's web app.

    Args:
        studio: the engine holding the models and open photos.
        allowed_hosts: ``Host`` headers to answer (DNS-rebinding guard); default loopback
            names only; ``["*"]`` when the server listens on another interface on purpose.

    Every state-changing request must come from the page itself (:func:`cross_site_refusal`),
    whatever the Host.
    """
    jobs = JobRunner(keep=studio.config.keep_photos)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        studio.close()

    app = FastAPI(title="dof studio", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or list(LOOPBACK))
    app.state.studio, app.state.jobs = studio, jobs
    app.middleware("http")(_same_site_writes)
    app.middleware("http")(_security_headers)  # added last: outermost, on every answer
    app.add_exception_handler(StudioError, _studio_error)  # type: ignore[arg-type]
    app.add_exception_handler(dof_io.PhotoError, _user_error)  # unreadable, too large
    app.add_exception_handler(dof_smooth.SmoothError, _user_error)
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(router)
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0 = a free port), bound before the URL is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise StudioError(f"cannot listen on {host}:{port} ({err.strerror}); try --port 0") from err
    return sock


def host_policy(host: str) -> tuple[list[str], str | None]:
    """For ``--host``: the ``Host`` headers to answer and the warning to print (None).

    A loopback interface (127.0.0.1, localhost, ::1, :func:`is_loopback`) answers only the
    loopback names, so a web page elsewhere cannot reach it by DNS rebinding; any other
    interface answers every name, with a warning.
    """
    if not is_loopback(host):
        warning = (
            f"warning: listening on {host}: anyone who can reach this machine can use the page"
        )
        return ["*"], warning
    shown = f"[{host}]" if ":" in host else host
    return list(dict.fromkeys([*LOOPBACK, shown])), None


def serve(
    studio: Studio, *, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False
) -> None:
    """Run the studio until Ctrl+C; prints the URL (with the real port) first."""
    import threading
    import webbrowser

    import uvicorn

    hosts, warning = host_policy(host)
    app = create_app(studio, allowed_hosts=hosts)
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    print(f"dof studio: open {url} in a browser (Ctrl+C stops it)", flush=True)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
