"""A fake Flickr for tests: a real HTTP server on 127.0.0.1, with fault injection.

It speaks ``flickr.photos.search`` and ``flickr.photos.licenses.getInfo`` in Flickr's JSON format
(GET or POST, ``format=json&nojsoncallback=1``), caps results like Flickr (``total`` counts every
match; pages past the cap repeat the last reachable page) and serves the image files. Faults,
per photo (``FakePhoto.faults`` for the next requests, ``FakePhoto.always`` for every request) or
for the next API calls (``api_faults``):

``"429"`` (with ``Retry-After``), ``"500"``, ``"503"``, ``"timeout"`` (answers only after
``timeout_sleep`` seconds), ``"truncate"`` (full Content-Length, half the body, connection
closed), ``"truncated-file"`` (a complete response holding half a JPEG), ``"html"`` (an HTML
page with status 200), ``"404"``; for the API also ``"fail105"`` (Flickr's "service
unavailable").
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from PIL import Image

from dof_data.licenses import FLICKR_LICENSES

_HTML = b"<!DOCTYPE html><html><body><h1>Oops</h1>Something went wrong.</body></html>"


@dataclass
class FakePhoto:
    """One photo the fake Flickr knows. ``text`` holds the words a text search matches."""

    id: str
    data: bytes
    width: int
    height: int
    text: str = "portrait"
    title: str = ""
    owner: str = "10000001@N00"
    owner_name: str = "Test Owner"
    license: int = 4
    upload: int = 1_500_000_000
    camera: str = ""
    sizes: tuple[str, ...] = ("h", "l", "c", "z")
    content_type: str = "image/jpeg"
    faults: list[str] = field(default_factory=list)
    always: str | None = None


def photos_from_folder(
    folder: str | Path, *, count: int | None = None, text: str = "portrait", first_id: int = 1000
) -> list[FakePhoto]:
    """FakePhotos from the JPEG files of a folder (sorted by name), one upload day apart."""
    files = sorted(Path(folder).glob("*.jpg"))[:count]
    photos = []
    for i, path in enumerate(files):
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        photos.append(
            FakePhoto(
                id=str(first_id + i),
                data=data,
                width=width,
                height=height,
                text=text,
                title=path.stem,
                owner=f"{20000000 + i}@N0{i % 8}",
                owner_name=f"Owner {i}",
                upload=1_500_000_000 + 86_400 * i,
            )
        )
    return photos


def jpeg_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def resized_copy(photo: FakePhoto, new_id: str, scale: float = 0.75) -> FakePhoto:
    """The same photo re-uploaded at another size (resized and re-encoded)."""
    with Image.open(io.BytesIO(photo.data)) as image:
        size = (round(image.width * scale), round(image.height * scale))
        data = jpeg_bytes(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), quality=88)
    return FakePhoto(
        id=new_id,
        data=data,
        width=size[0],
        height=size[1],
        text=photo.text,
        title=f"{photo.title} (smaller)",
        upload=photo.upload + 3600,
    )


def same_size_variant(photo: FakePhoto, new_id: str) -> FakePhoto:
    """Same pixels, width, height and byte count, other bytes: a JPEG comment changed.

    ``photo`` gets the first comment (its data changes), the returned copy the second.
    """
    data = photo.data
    if data[:2] != b"\xff\xd8":
        raise ValueError(f"photo {photo.id} is not a JPEG")
    marker = b"\xff\xfe\x00\x0aDOF-ONE!"  # COM segment, length 10 (2 + 8 bytes)
    original = data[:2] + marker + data[2:]
    variant = data[:2] + marker.replace(b"ONE!", b"TWO!") + data[2:]
    photo.data = original
    return FakePhoto(
        id=new_id,
        data=variant,
        width=photo.width,
        height=photo.height,
        text=photo.text,
        title=f"{photo.title} (again)",
        upload=photo.upload + 60,
    )


def same_bytes(photo: FakePhoto, new_id: str, text: str) -> FakePhoto:
    """The very same file under another id (and here another query's words)."""
    return FakePhoto(
        id=new_id,
        data=photo.data,
        width=photo.width,
        height=photo.height,
        text=text,
        title=f"{photo.title} (copy)",
        owner="99999999@N00",
        upload=photo.upload + 7200,
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished (killed, timed out) is part of the tests, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeFlickr:
    """Serve ``photos`` as Flickr would, on 127.0.0.1 and a free port.

    Use as a context manager; ``url`` is the REST endpoint to give the client. Counters:
    ``api_calls`` (every API request's arguments), ``api_targets`` (request paths with their
    query strings), ``image_requests`` and ``images_served`` (complete 200 answers) per photo id,
    and ``requests`` (all requests; :meth:`wait_for_requests` blocks on it).
    """

    def __init__(
        self,
        photos: list[FakePhoto],
        *,
        api_key: str,
        cap: int = 4000,
        api_faults: list[str] | None = None,
        timeout_sleep: float = 1.0,
        retry_after: str = "0",
        image_delay: float = 0.0,
        licenses: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.photos = {photo.id: photo for photo in photos}
        self.api_key = api_key
        self.cap = cap
        self.api_faults = list(api_faults or [])
        self.timeout_sleep = timeout_sleep
        self.retry_after = retry_after
        self.image_delay = image_delay
        self.licenses = licenses or {
            **{k: (v.name, v.url) for k, v in FLICKR_LICENSES.items()},
            "11": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
        }
        self.api_calls: list[dict[str, str]] = []
        self.api_targets: list[str] = []
        self.api_times: list[float] = []
        self.image_requests: Counter[str] = Counter()
        self.images_served: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Condition()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The REST endpoint."""
        return f"{self.base}/services/rest/"

    def __enter__(self) -> FakeFlickr:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until ``requests`` reaches ``count``; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self.requests >= count, timeout=timeout)

    def _count(self) -> None:
        with self._lock:
            self.requests += 1
            self._lock.notify_all()

    def next_fault(self, photo: FakePhoto | None) -> str | None:
        with self._lock:
            if photo is None:
                return self.api_faults.pop(0) if self.api_faults else None
            if photo.faults:
                return photo.faults.pop(0)
            return photo.always

    # --- the API --------------------------------------------------------------------------------

    def api(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("api_key") != self.api_key:
            return {"stat": "fail", "code": 100, "message": "Invalid API Key (Key not found)"}
        method = params.get("method")
        if method == "flickr.photos.licenses.getInfo":
            rows = [
                {"id": int(k), "name": name, "url": url} for k, (name, url) in self.licenses.items()
            ]
            return {"licenses": {"license": rows}, "stat": "ok"}
        if method != "flickr.photos.search":
            return {"stat": "fail", "code": 112, "message": f'Method "{method}" not found'}
        if not params.get("text") and not params.get("tags"):
            return {
                "stat": "fail",
                "code": 3,
                "message": "Parameterless searches have been "
                "disabled. Please use flickr.photos.getRecent instead.",
            }
        return self._search(params)

    def _matches(self, photo: FakePhoto, params: dict[str, str]) -> bool:
        words = set((photo.text + " " + photo.title).lower().split())
        terms = params.get("text", "").lower().split()
        if any(t.startswith("-") and t[1:] in words for t in terms):
            return False
        if not all(t in words for t in terms if not t.startswith("-")):
            return False
        tags = [t for t in params.get("tags", "").lower().split(",") if t]
        if tags and not (all if params.get("tag_mode") == "all" else any)(t in words for t in tags):
            return False
        if params.get("camera") and photo.camera != params["camera"]:
            return False
        if params.get("license") and str(photo.license) not in params["license"].split(","):
            return False
        lo = int(params.get("min_upload_date", "0"))
        hi = int(params.get("max_upload_date", str(2**40)))
        return lo <= photo.upload <= hi

    def _search(self, params: dict[str, str]) -> dict[str, Any]:
        found = [p for p in self.photos.values() if self._matches(p, params)]
        sort = params.get("sort", "date-posted-desc")
        found.sort(key=lambda p: (p.upload, p.id), reverse=sort != "date-posted-asc")
        per_page = min(500, int(params.get("per_page", "100")))
        reachable = found[: self.cap]
        last = max(1, math.ceil(len(reachable) / per_page))
        page = min(int(params.get("page", "1")), last)  # Flickr repeats the last page past the cap
        chosen = reachable[(page - 1) * per_page : page * per_page]
        extras = params.get("extras", "").split(",")
        return {
            "photos": {
                "page": int(params.get("page", "1")),
                "pages": math.ceil(len(found) / per_page),
                "perpage": per_page,
                "total": len(found),
                "photo": [self._describe(p, extras) for p in chosen],
            },
            "stat": "ok",
        }

    def _describe(self, photo: FakePhoto, extras: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": photo.id,
            "owner": photo.owner,
            "secret": "abc123",
            "server": "65535",
            "farm": 66,
            "title": photo.title,
            "ispublic": 1,
            "isfriend": 0,
            "isfamily": 0,
        }
        if "license" in extras:
            out["license"] = str(photo.license)
        if "owner_name" in extras:
            out["ownername"] = photo.owner_name
        if "date_upload" in extras:
            out["dateupload"] = str(photo.upload)
        if "path_alias" in extras:
            out["pathalias"] = None
        for size in photo.sizes:
            if f"url_{size}" in extras:
                out[f"url_{size}"] = f"{self.base}/photos/{photo.id}_{size}.jpg"
                out[f"width_{size}"], out[f"height_{size}"] = photo.width, photo.height
        return out


def _handler_for(fake: FakeFlickr) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read the counters instead."""

        def do_GET(self) -> None:
            self._dispatch(dict(parse_qsl(urlsplit(self.path).query)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            self._dispatch({**dict(parse_qsl(urlsplit(self.path).query)), **dict(parse_qsl(body))})

        def _dispatch(self, params: dict[str, str]) -> None:
            fake._count()
            path = urlsplit(self.path).path
            # A client that gave up (a timeout test) leaves nobody to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if path == "/services/rest/":
                    self._api(params)
                elif path.startswith("/photos/"):
                    self._image(path.rsplit("/", 1)[-1].split("_")[0])
                else:
                    self._send(404, "text/plain", b"not found")

        def _api(self, params: dict[str, str]) -> None:
            with fake._lock:
                fake.api_calls.append(params)
                fake.api_targets.append(self.path)
                fake.api_times.append(time.monotonic())
            fault = fake.next_fault(None)
            if fault == "fail105":
                body = {"stat": "fail", "code": 105, "message": "Service currently unavailable"}
                self._send(200, "application/json", json.dumps(body).encode())
            elif not self._fault(fault, _HTML):
                self._send(200, "application/json", json.dumps(fake.api(params)).encode())

        def _image(self, photo_id: str) -> None:
            photo = fake.photos.get(photo_id)
            if photo is None:
                self._send(404, "text/plain", b"no such photo")
                return
            with fake._lock:
                fake.image_requests[photo_id] += 1
            if fake.image_delay:
                time.sleep(fake.image_delay)
            if self._fault(fake.next_fault(photo), photo.data):
                return
            self._send(200, photo.content_type, photo.data)
            with fake._lock:
                fake.images_served[photo_id] += 1

        def _fault(self, fault: str | None, data: bytes) -> bool:
            """Act out a fault; False when there is none (answer normally)."""
            if fault is None:
                return False
            if fault == "timeout":
                time.sleep(fake.timeout_sleep)
                return False
            if fault in ("500", "503", "404"):
                self._send(int(fault), "text/plain", b"error")
            elif fault == "429":
                self._send(429, "text/plain", b"slow down", {"Retry-After": fake.retry_after})
            elif fault == "html":
                self._send(200, "text/html; charset=utf-8", _HTML)
            elif fault == "truncated-file":
                self._send(200, "image/jpeg", data[: len(data) // 2])
            elif fault == "truncate":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:
                raise ValueError(f"unknown fault {fault!r}")
            return True

        def _send(
            self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler
