"""The page and its JSON/image endpoints (FastAPI); :func:`serve` runs it with uvicorn.

Every handler parses its request, calls one :class:`~dof_studio.engine.Studio` method and
formats the answer. Errors come back as ``{"error": "one line"}`` with a 4xx status; the page
shows the line as it is.
"""

from __future__ import annotations

import re
import socket
import sys
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Body, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

import dof_io
import dof_smooth
from dof_studio.engine import FORMATS, RenderSettings, Studio
from dof_studio.errors import StudioError, UploadTooLargeError
from dof_studio.jobs import JobRunner

LOOPBACK = ("127.0.0.1", "localhost")
STATIC = {"studio.js": "text/javascript", "studio.css": "text/css"}
#: the page loads nothing from elsewhere; it can only talk to this server
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def safe_name(raw: str | None) -> str:
    """An uploaded file's name made safe to show and to send back in a header.

    Only the last path component is kept, and only letters, digits, ``.``, ``_`` and ``-``.
    """
    name = PurePath(unquote(raw or "").replace("\\", "/")).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:100]
    return name or "photo"


def parse_people(raw: str | None) -> frozenset[int] | None:
    """``people`` in a query: absent or ``all`` = everyone, ``""`` = nobody, else ``1,3``."""
    if raw is None or raw == "all":
        return None
    try:
        return frozenset(int(part) for part in raw.split(",") if part.strip())
    except ValueError as err:
        raise StudioError(f"people must be 'all' or numbers like 1,3; got {raw!r}") from err


def _settings(method: str, radius: float | None, highlights: float, people: str | None) -> Any:
    return RenderSettings(method, radius, highlights, parse_people(people))


def _static(name: str) -> str:
    return resources.files("dof_studio").joinpath("static", name).read_text(encoding="utf-8")


def create_app(studio: Studio, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The studio's web app.

    Args:
        studio: the engine holding the models and open photos.
        allowed_hosts: ``Host`` headers to answer (DNS-rebinding guard); default loopback
            names only; ``["*"]`` when the server listens on another interface on purpose.
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

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(StudioError)
    async def studio_error(_: Request, err: StudioError) -> JSONResponse:
        return JSONResponse({"error": err.message}, status_code=err.status)

    @app.exception_handler(dof_io.ImageReadError)
    async def read_error(_: Request, err: dof_io.ImageReadError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=400)

    @app.exception_handler(dof_smooth.SmoothError)
    async def smooth_error(_: Request, err: dof_smooth.SmoothError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=400)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        """Anything else is a bug: the page says so in one line, the terminal gets the trace."""
        traceback.print_exception(err, file=sys.stderr)
        message = "out of memory: try a smaller photo" if isinstance(err, MemoryError) else err
        return JSONResponse({"error": f"dof studio failed: {message}"}, status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(_static("index.html"))

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise StudioError(f"no such file {name!r}", status=404)
        return Response(_static(name), media_type=STATIC[name])

    @app.get("/api/config")
    def config() -> dict[str, Any]:
        return {
            "methods": studio.methods,
            "generator": studio.generator_name,
            "max_upload_bytes": studio.config.max_upload_bytes,
            "max_pixels": studio.config.max_pixels,
            "formats": list(FORMATS),
        }

    @app.post("/api/photos")
    async def upload(
        request: Request, x_filename: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        name = safe_name(x_filename)
        data = await _read_limited(request, name, studio.config.max_upload_bytes)
        photo = await run_in_threadpool(studio.open, data, name)
        return studio.info(photo)

    @app.get("/api/photos/{photo_id}")
    def photo_info(photo_id: str) -> dict[str, Any]:
        return studio.info(studio.get(photo_id))

    @app.get("/api/photos/{photo_id}/original")
    def original(photo_id: str) -> Response:
        return Response(studio.original(studio.get(photo_id)), media_type="image/jpeg")

    @app.get("/api/photos/{photo_id}/preview")
    def preview(
        photo_id: str,
        method: str = "lens",
        radius: float | None = None,
        highlights: float = 0.0,
        people: str | None = None,
    ) -> Response:
        photo = studio.get(photo_id)
        began = time.perf_counter()
        data = studio.preview(photo, _settings(method, radius, highlights, people))
        took = (time.perf_counter() - began) * 1000
        headers = {"Server-Timing": f"render;dur={took:.0f}"}
        return Response(data, media_type="image/jpeg", headers=headers)

    @app.get("/api/photos/{photo_id}/overlay")
    def overlay(photo_id: str, people: str | None = None) -> Response:
        photo = studio.get(photo_id)
        return Response(studio.overlay(photo, parse_people(people)), media_type="image/png")

    @app.post("/api/photos/{photo_id}/pick")
    def pick(
        photo_id: str, x: Annotated[float, Body()], y: Annotated[float, Body()]
    ) -> dict[str, int]:
        return {"person": studio.pick(studio.get(photo_id), x, y)}

    @app.post("/api/photos/{photo_id}/render")
    def render(
        photo_id: str,
        method: Annotated[str, Body()] = "lens",
        radius: Annotated[float | None, Body()] = None,
        highlights: Annotated[float, Body()] = 0.0,
        people: Annotated[str | None, Body()] = None,
        format: Annotated[str, Body()] = "png",
    ) -> dict[str, Any]:
        photo = studio.get(photo_id)
        settings = studio.check(photo, _settings(method, radius, highlights, people))
        if format not in FORMATS:
            raise StudioError(f"unknown format {format!r}; valid: {', '.join(FORMATS)}")
        suffix, media_type = FORMATS[format]
        filename = f"{PurePath(photo.name).stem}_{settings.method}{suffix}"
        job = jobs.submit(
            lambda progress: studio.render_full(photo, settings, format, progress),
            filename=filename,
            media_type=media_type,
        )
        return job.status()

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str) -> dict[str, Any]:
        return jobs.get(job_id).status()

    @app.get("/api/jobs/{job_id}/file")
    def job_file(job_id: str) -> Response:
        job = jobs.get(job_id)
        if job.data is None:
            raise StudioError(job.error or "the render is not finished yet", status=409)
        disposition = f'attachment; filename="{job.filename}"'
        return Response(job.data, media_type=job.media_type,
                        headers={"Content-Disposition": disposition})  # fmt: skip

    return app


async def _read_limited(request: Request, name: str, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes (never held whole)."""

    def too_large(size: float) -> UploadTooLargeError:
        return UploadTooLargeError(
            f"{name}: {size / 2**20:.1f} MB is over the upload limit of {limit / 2**20:.0f} MB; "
            "start the studio with a larger --max-upload-mb if the photo is genuine"
        )

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared))
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large(total)
        chunks.append(chunk)
    return b"".join(chunks)


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


def serve(
    studio: Studio, *, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False
) -> None:
    """Run the studio until Ctrl+C; prints the URL (with the real port) first."""
    import threading
    import webbrowser

    import uvicorn

    loopback = host in LOOPBACK
    app = create_app(studio, allowed_hosts=None if loopback else ["*"])
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    print(f"dof studio: open {url} in a browser (Ctrl+C stops it)", flush=True)
    if not loopback:
        print(
            f"warning: listening on {host}: anyone who can reach this machine can use the page",
            file=sys.stderr,
            flush=True,
        )
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
