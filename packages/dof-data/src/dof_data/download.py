"""Download the manifest's pending photos: concurrent, checked, atomic, resumable.

Each photo streams into a temporary file beside its destination and is renamed onto
``images/<domain>/<id>.<ext>`` only after it decoded as an image of acceptable size, so a
partial file never carries a final name. Timeouts, dropped connections, truncated bodies,
non-image answers, HTTP 429 and 5xx are retried with backoff; what still fails is recorded as
``failed`` with the reason. A photo that is ``kept`` is never requested again.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import requests

from dof_data.errors import ConfigError, DownloadError, TransientError, UnsafeDataError
from dof_data.fingerprint import ImageInfo, describe_image
from dof_data.manifest import Manifest, PhotoRow
from dof_data.retry import RetryPolicy, parse_retry_after, with_retries
from dof_data.trust import check_photo_id, http_url
from dof_io import MAX_PIXELS, ImageReadError, atomic_path, folder_lock

#: ``progress(done, total)``: called after each photo; the app turns it into a progress bar.
ProgressFn = Callable[[int, int], None]
_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp"}


@dataclass(frozen=True)
class DownloadConfig:
    """How downloads run.

    Attributes:
        workers: photos fetched at once (threads), >= 1.
        timeout: seconds to connect and to wait for each read.
        max_bytes: larger bodies are refused (50 MiB by default).
        min_side: a decoded image with a shorter side is refused (a placeholder, not a photo).
        max_pixels: decompression-bomb limit passed to dof_io.
        retry: retry policy for transient failures.
        seed: seed of the backoff jitter.
    """

    workers: int = 4
    timeout: float = 30.0
    max_bytes: int = 50 * 2**20
    min_side: int = 64
    max_pixels: int = MAX_PIXELS
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=4))
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 1 or self.timeout <= 0 or self.max_bytes < 1 or self.min_side < 1:
            raise ConfigError(
                "download settings need workers >= 1, timeout > 0, max_bytes >= 1 and "
                f"min_side >= 1; got {self}"
            )


@dataclass
class DownloadSummary:
    """``downloaded`` fetched now, ``adopted`` found complete on disk (an earlier run was killed
    between the rename and the manifest update), ``failed`` as (photo id, reason)."""

    downloaded: int = 0
    adopted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def fetch_once(
    session: requests.Session, url: str, dest: Path, config: DownloadConfig
) -> ImageInfo:
    """One attempt: stream ``url`` to a temporary file, check it, rename it onto ``dest``.

    Raises:
        TransientError: worth another try (timeout, dropped or truncated body, 429/5xx, an
            answer that is not an image).
        DownloadError: not worth retrying (404, too large, too small, Flickr's placeholder).
    """
    try:
        response = session.get(url, stream=True, timeout=config.timeout)
    except requests.Timeout:
        raise TransientError(f"no answer within {config.timeout:g} s") from None
    except requests.RequestException as err:
        raise TransientError(f"connection failed ({type(err).__name__})") from None
    with response:
        _check_response(response, config)
        with atomic_path(dest) as tmp:
            size = _stream(response, tmp, config)
            expected = response.headers.get("Content-Length")
            if expected is not None and expected.isdigit() and int(expected) != size:
                raise TransientError(f"truncated body: {size} of {expected} bytes")
            try:
                info = describe_image(tmp, max_pixels=config.max_pixels)
            except ImageReadError as err:
                raise TransientError(f"the file does not decode: {err.reason}") from None
            if min(info.width, info.height) < config.min_side:
                raise DownloadError(
                    f"{info.width}x{info.height} is smaller than min_side={config.min_side}"
                )
    return info


def _check_response(response: requests.Response, config: DownloadConfig) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise TransientError(f"HTTP {status}", retry_after=retry_after)
    if status != 200:
        raise DownloadError(
            f"HTTP {status}" + (" (gone from Flickr)" if status in (404, 410) else "")
        )
    if "photo_unavailable" in response.url:
        raise DownloadError("Flickr served its 'photo unavailable' placeholder: deleted or private")
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not kind.startswith("image/"):
        raise TransientError(f"Content-Type {kind or 'missing'}, expected image/*")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > config.max_bytes:
        raise DownloadError(f"{int(length):,} bytes is over max_bytes={config.max_bytes:,}")


def _stream(response: requests.Response, tmp: Path, config: DownloadConfig) -> int:
    size = 0
    try:
        with tmp.open("wb") as handle:
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > config.max_bytes:
                    raise DownloadError(f"body is over max_bytes={config.max_bytes:,}")
                handle.write(chunk)
    except requests.Timeout:
        raise TransientError(f"read stalled for {config.timeout:g} s") from None
    except requests.RequestException as err:
        raise TransientError(f"body cut off ({type(err).__name__})") from None
    return size


def destination(manifest: Manifest, row: PhotoRow) -> Path:
    """``<root>/images/<domain>/<id><suffix>``, the suffix taken from the URL (default .jpg).

    Raises:
        UnsafeDataError: the id is not a photo id, the domain not A or B, or the URL not
            http(s): the row came from outside and would not stay inside the dataset.
    """
    check_photo_id(row.id)
    if row.domain not in ("A", "B") or http_url(row.source_url) is None:
        raise UnsafeDataError(
            f"photo {row.id}: domain {row.domain!r} or URL {row.source_url!r} is not usable "
            "(domains are A and B, URLs http(s)); the row was skipped"
        )
    suffix = PurePosixPath(urlsplit(row.source_url).path).suffix.lower()
    return manifest.images_dir(row.domain) / f"{row.id}{suffix if suffix in _SUFFIXES else '.jpg'}"


def remove_partial_files(manifest: Manifest) -> int:
    """Delete temporary files a killed run left in ``images/*/``. Returns the count.

    Call with the dataset locked (``dof_io.folder_lock(manifest.root)``): only temporary files
    older than the lock go, so another process's downloads in flight are never touched.
    """
    with folder_lock(manifest.root) as lock:
        return len(lock.remove_stale_temp_files(manifest.root / "images", recursive=True))


def download_pending(
    manifest: Manifest,
    config: DownloadConfig | None = None,
    *,
    retry_failed: bool = False,
    progress: ProgressFn | None = None,
) -> DownloadSummary:
    """Fetch every ``pending`` photo (and ``failed`` ones with ``retry_failed``).

    At most ``config.workers`` photos are in flight; the manifest is written from this thread
    as each one finishes, so a kill loses at most the photos in flight.
    """
    config = config or DownloadConfig()
    with folder_lock(manifest.root):  # one writer of images/ (a no-op if the caller holds it)
        remove_partial_files(manifest)
        return _download(manifest, config, retry_failed, progress)


def _download(
    manifest: Manifest, config: DownloadConfig, retry_failed: bool, progress: ProgressFn | None
) -> DownloadSummary:
    rows = manifest.photos(status=("pending", "failed") if retry_failed else "pending")
    rows = [row for row in rows if row.source == "flickr" and row.source_url]
    summary = DownloadSummary()
    todo = []
    for row in rows:
        try:
            dest = destination(manifest, row)
        except UnsafeDataError as err:
            manifest.record_failure(row.id, str(err))
            summary.failed.append((row.id, str(err)))
            continue
        if dest.is_file() and _adopt(manifest, row, dest, config):
            summary.adopted += 1
        else:
            todo.append((row, dest))
    done = summary.adopted + len(summary.failed)
    if progress:
        progress(done, len(rows))
    for row, outcome in _run_pool(todo, config):
        if isinstance(outcome, ImageInfo):
            manifest.record_file(
                row.id, _relative(manifest, destination(manifest, row)), outcome.as_dict()
            )
            summary.downloaded += 1
        else:
            manifest.record_failure(row.id, outcome)
            summary.failed.append((row.id, outcome))
        done += 1
        if progress:
            progress(done, len(rows))
    return summary


def _adopt(manifest: Manifest, row: PhotoRow, dest: Path, config: DownloadConfig) -> bool:
    try:
        info = describe_image(dest, max_pixels=config.max_pixels)
    except ImageReadError:
        dest.unlink()
        return False
    manifest.record_file(row.id, _relative(manifest, dest), info.as_dict())
    return True


def _relative(manifest: Manifest, path: Path) -> str:
    return path.relative_to(manifest.root).as_posix()


def _run_pool(
    todo: list[tuple[PhotoRow, Path]], config: DownloadConfig
) -> Iterator[tuple[PhotoRow, ImageInfo | str]]:
    """Yield (row, ImageInfo or failure reason) as downloads finish; at most 2 x workers queued."""
    local = threading.local()
    sessions: list[requests.Session] = []
    rng = random.Random(config.seed)

    def work(row: PhotoRow, dest: Path) -> ImageInfo | str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            sessions.append(local.session)
        try:
            return with_retries(
                lambda: fetch_once(local.session, row.source_url, dest, config),
                config.retry,
                what=f"photo {row.id}",
                rng=rng,
            )
        except (TransientError, DownloadError) as err:
            return err.reason

    pending: dict[Future[ImageInfo | str], PhotoRow] = {}
    queue = iter(todo)
    with ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="dof-dl") as pool:
        try:
            while True:
                while len(pending) < 2 * config.workers and (item := next(queue, None)):
                    pending[pool.submit(work, *item)] = item[0]
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: pending[f].id):
                    yield pending.pop(future), future.result()
        finally:
            for future in pending:
                future.cancel()
    for session in sessions:
        session.close()
