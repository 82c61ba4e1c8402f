"""The page's routes: each parses its request, calls one Studio method, formats the answer.

The Studio and the job runner come from the app's state (:func:`dof_studio.server.create_app`
puts them there), so the handlers are plain functions that tests can reach through HTTP.
"""

from __future__ import annotations

import re
import time
from importlib import resources
from pathlib import PurePath
from typing import Annotated, Any, cast
from urllib.parse import unquote

from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from dof_studio.engine import FORMATS, RenderSettings, Studio, download_format
from dof_studio.errors import StudioError, UploadTooLargeError
from dof_studio.jobs import JobRunner

STATIC = {"studio.js": "text/javascript", "studio.css": "text/css"}

router = APIRouter()


def _studio(request: Request) -> Studio:
    return cast(Studio, request.app.state.studio)


def _jobs(request: Request) -> JobRunner:
    return cast(JobRunner, request.app.state.jobs)


StudioDep = Annotated[Studio, Depends(_studio)]
JobsDep = Annotated[JobRunner, Depends(_jobs)]


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


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    return HTMLResponse(_static("index.html"))


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise StudioError(f"no such file {name!r}", status=404)
    return Response(_static(name), media_type=STATIC[name])


@router.get("/api/config")
def config(studio: StudioDep) -> dict[str, Any]:
    return {
        "methods": studio.methods,
        "generator": studio.generator_name,
        "max_upload_bytes": studio.config.max_upload_bytes,
        "max_pixels": studio.config.max_pixels,
        "formats": list(FORMATS),
    }


@router.post("/api/photos")
async def upload(
    request: Request, studio: StudioDep, x_filename: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    name = safe_name(x_filename)
    with studio.opening():  # a place among the uploads at once, before the body is read
        data = await _read_limited(request, name, studio.config.max_upload_bytes)
        photo = await run_in_threadpool(studio.open, data, name)
    return studio.info(photo)


@router.get("/api/photos/{photo_id}")
def photo_info(photo_id: str, studio: StudioDep) -> dict[str, Any]:
    return studio.info(studio.get(photo_id))


@router.get("/api/photos/{photo_id}/original")
def original(photo_id: str, studio: StudioDep) -> Response:
    return Response(studio.original(studio.get(photo_id)), media_type="image/jpeg")


@router.get("/api/photos/{photo_id}/preview")
def preview(
    photo_id: str,
    studio: StudioDep,
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


@router.get("/api/photos/{photo_id}/overlay")
def overlay(photo_id: str, studio: StudioDep, people: str | None = None) -> Response:
    photo = studio.get(photo_id)
    return Response(studio.overlay(photo, parse_people(people)), media_type="image/png")


@router.post("/api/photos/{photo_id}/pick")
def pick(
    photo_id: str, studio: StudioDep, x: Annotated[float, Body()], y: Annotated[float, Body()]
) -> dict[str, int]:
    return {"person": studio.pick(studio.get(photo_id), x, y)}


@router.post("/api/photos/{photo_id}/render")
def render(
    photo_id: str,
    studio: StudioDep,
    jobs: JobsDep,
    method: Annotated[str, Body()] = "lens",
    radius: Annotated[float | None, Body()] = None,
    highlights: Annotated[float, Body()] = 0.0,
    people: Annotated[str | None, Body()] = None,
    format: Annotated[str, Body()] = "png",
) -> dict[str, Any]:
    photo = studio.get(photo_id)
    settings = studio.check(photo, _settings(method, radius, highlights, people), full=True)
    suffix, media_type = download_format(format)
    filename = f"{PurePath(photo.name).stem}_{settings.method}{suffix}"
    job = jobs.submit(
        lambda progress: studio.render_full(photo, settings, format, progress),
        filename=filename,
        media_type=media_type,
    )
    return job.status()


@router.get("/api/jobs/{job_id}")
def job_status(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    return jobs.status(job_id)


@router.get("/api/jobs/{job_id}/file")
def job_file(job_id: str, jobs: JobsDep) -> Response:
    job, data = jobs.result(job_id)
    if data is None:
        raise StudioError(job.error or "the render is not finished yet", status=409)
    disposition = f'attachment; filename="{job.filename}"'
    return Response(data, media_type=job.media_type,
                    headers={"Content-Disposition": disposition})  # fmt: skip


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
    async for chunk in request.stream():  # also without Content-Length (chunked): counted
        total += len(chunk)
        if total > limit:
            raise too_large(total)
        chunks.append(chunk)
    return b"".join(chunks)
