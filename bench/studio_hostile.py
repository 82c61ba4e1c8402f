"""The studio against a hostile web page and big photos, over real HTTP: `dof studio` runs in
the background on a free loopback port (and once on ::1), this script plays the page and the
attacker, and writes what happened and the server's peak memory.

    uv run python bench/studio_hostile.py            # -> bench/results/studio_hostile.json

Checks: a cross-site form post (403, nothing opened), a foreign Host (400), a 900 MP PNG bomb
(a few hundred bytes on disk; refused by the pixel limit) and a 140 MP one (under the limit,
refused by the memory budget before decoding), a 12 MP full-size render through the GAN
method (dof-gan's bundled defocus generator; the paper's demo ResNet, tiled within
--max-memory, with ``--paper-model``), a dozen concurrent uploads (a bounded number is
opened, the rest answered 503), and `--host ::1` (loopback: Host check on, no warning).
Loopback only; every server is stopped at the end; each request has a timeout.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from dof_io.testing import bomb_png

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "apps" / "dof-cli" / "src" / "dof_cli" / "demo_model" / "G.safetensors"
PHOTO = ROOT.parent / "shared" / "data" / "coco-person" / "images" / "000000360452.jpg"
OUT = ROOT / "bench" / "results" / "studio_hostile.json"
OCTETS = {"Content-Type": "application/octet-stream"}


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Server:
    """`dof studio` in the background (argv list, no shell), stopped on exit."""

    def __init__(self, host: str, *extra: str) -> None:
        self.host, self.port = host, free_port(host)
        dof = shutil.which("dof")
        base = [dof, "studio"] if dof else [sys.executable, "-m", "dof_studio"]
        command = [*base, "--host", host, "--port", str(self.port), *extra]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.banner = self.process.stdout.readline() if self.process.stdout else ""
        for _ in range(600):
            try:
                if self.request("GET", "/api/config")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the studio did not start: {self.banner}")

    def request(
        self, method: str, path: str, body: bytes | None = None,
        headers: dict[str, str] | None = None, timeout: float = 600,
    ) -> tuple[int, Any]:  # fmt: skip
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        kind = response.getheader("content-type", "")
        return response.status, json.loads(data) if kind.startswith("application/json") else data

    def memory(self) -> dict[str, float]:
        """The server's resident memory now and at its peak (VmHWM), MiB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return {"rss_mib": round(fields["VmRSS"]), "peak_rss_mib": round(fields["VmHWM"])}

    def stop(self) -> str:
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


def twelve_mp() -> bytes:
    """The coco ballpark photo enlarged to 4000x3000 (12 MP), as JPEG."""
    with Image.open(PHOTO) as image:
        big = image.convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def upload(server: Server, data: bytes, name: str) -> tuple[int, Any]:
    return server.request("POST", "/api/photos", data, {**OCTETS, "X-Filename": name})


def hostile_page(server: Server) -> dict[str, Any]:
    photo = PHOTO.read_bytes()
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example",
            "Sec-Fetch-Site": "cross-site"}  # fmt: skip
    status, answer = server.request("POST", "/api/photos", photo, form)
    no_cors = server.request("POST", "/api/photos", photo, {"Content-Type": "text/plain"})
    foreign = server.request("GET", "/api/config", headers={"Host": "evil.example"})
    return {
        "cross_site_form_post": {"status": status, "error": answer.get("error")},
        "no_cors_text_plain_post": {"status": no_cors[0]},
        "foreign_host": {"status": foreign[0]},
    }


def big_photos(server: Server) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (width, height) in {"bomb_900mp": (30000, 30000),
                                  "bomb_140mp": (14000, 10000)}.items():  # fmt: skip
        data = bomb_png(width, height)
        began = time.perf_counter()
        status, answer = upload(server, data, f"{name}.png")
        results[name] = {"bytes_on_disk": len(data), "status": status,
                         "error": answer.get("error"),
                         "seconds": round(time.perf_counter() - began, 3)}  # fmt: skip
    data = twelve_mp()
    began = time.perf_counter()
    status, info = upload(server, data, "ballpark_12mp.jpg")
    opened = round(time.perf_counter() - began, 1)
    results["open_12mp"] = {"status": status, "seconds": opened, **server.memory()}
    began = time.perf_counter()
    status, job = server.request("POST", f"/api/photos/{info['id']}/render",
                                 json.dumps({"method": "GAN", "format": "jpg"}).encode(),
                                 {"Content-Type": "application/json"})  # fmt: skip
    while status == 200 and job["state"] in ("queued", "running"):
        time.sleep(1)
        status, job = server.request("GET", f"/api/jobs/{job['id']}")
    results["render_12mp_generator"] = {
        "state": job.get("state"), "error": job.get("error"), "mb": (job.get("bytes") or 0) / 1e6,
        "seconds": round(time.perf_counter() - began, 1), **server.memory(),
    }  # fmt: skip
    return results


def crowd(server: Server, count: int = 12) -> dict[str, Any]:
    photo = PHOTO.read_bytes()
    answers: list[int] = []

    def one(i: int) -> None:
        answers.append(upload(server, photo, f"crowd{i}.jpg")[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return {"uploads": count, "opened": answers.count(200), "busy_503": answers.count(503),
            "other": sorted(a for a in answers if a not in (200, 503)),
            "seconds": round(time.perf_counter() - began, 1), **server.memory()}  # fmt: skip


def ipv6() -> dict[str, Any]:
    try:
        server = Server("::1", "--preview-size", "320")
    except OSError as err:
        return {"skipped": f"no IPv6 loopback here ({err})"}
    try:
        ok = server.request("GET", "/api/config")[0]
        evil = server.request("GET", "/api/config", headers={"Host": "evil.example"})[0]
    finally:
        err = server.stop()
    return {"banner": server.banner.strip(), "own_host": ok, "foreign_host": evil,
            "warned_anyone_can_reach": "anyone who can reach" in err}  # fmt: skip


def main() -> None:
    model = ("--model", str(DEMO)) if "--paper-model" in sys.argv else ()  # default: bundled
    server = Server("127.0.0.1", *model, "--preview-size", "1280")
    try:
        started = server.memory()
        results = {"started": started, **hostile_page(server)}
        results.update(big_photos(server))
        results["concurrent_uploads"] = crowd(server)
        results["server"] = server.memory()
    finally:
        server.stop()
    results["ipv6_loopback"] = ipv6()
    results["machine"] = {"cpus": os.cpu_count(), "load": os.getloadavg()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
