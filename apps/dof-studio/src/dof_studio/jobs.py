"""Full-size renders run one at a time on a worker thread; the page polls their progress.

Results stay in memory (never on disk) until a newer job pushes them out. At most
``max_pending`` jobs wait or run at once (a further one is refused with 503, busy); a job
pushed out before it ran is cancelled. Every field of a job is written and read under the
runner's lock.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dof_gan
import dof_io
import dof_smooth
from dof_studio.errors import BusyError, NotOpenError, StudioError

#: the progress callback: (stage, fraction at its start, at its end, expected seconds or None)
Progress = Callable[[str, float, float, "float | None"], None]
#: a job's work: takes a progress callback and returns the file's bytes
Work = Callable[[Progress], bytes]


@dataclass
class Job:
    """One full-size render: its state, the stage it is in, and in the end its file."""

    id: str
    filename: str
    media_type: str
    state: str = "queued"  # queued | running | done | failed | cancelled
    stage: str = ""
    start: float = 0.0  # the progress when the stage began
    end: float = 0.0  # ... and when it will be over
    expected: float | None = None  # seconds the stage is expected to take
    stage_began: float = 0.0
    error: str | None = None
    data: bytes | None = field(default=None, repr=False)
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None
    future: Future[None] | None = field(default=None, repr=False)

    @property
    def pending(self) -> bool:
        """Queued or running."""
        return self.state in ("queued", "running")

    @property
    def progress(self) -> float:
        """In [0, 1]: stages report their span; inside a stage with an expected duration, the
        share of it that has elapsed (capped at 95% of the stage: it is an estimate)."""
        if self.state == "done":
            return 1.0
        if not self.expected:
            return self.start
        elapsed = time.monotonic() - self.stage_began
        return self.start + (self.end - self.start) * min(0.95, elapsed / self.expected)

    def status(self) -> dict[str, Any]:
        """The JSON the page polls."""
        end = self.finished if self.finished is not None else time.monotonic()
        return {
            "id": self.id,
            "state": self.state,
            "stage": self.stage,
            "progress": round(self.progress, 3),
            "error": self.error,
            "filename": self.filename,
            "seconds": round(end - self.created, 2),
            "bytes": len(self.data) if self.data is not None else None,
        }


#: a render's own faults: the page gets the package's one-line message, the log no trace
USER_ERRORS: tuple[type[BaseException], ...] = (
    dof_io.DofIOError, dof_smooth.SmoothError, dof_gan.MemoryBudgetError,
)  # fmt: skip


class JobRunner:
    """Runs :data:`Work` on one worker thread; keeps the last ``keep`` jobs, of which at most
    ``max_pending`` are queued or running."""

    def __init__(self, keep: int = 4, max_pending: int = 2) -> None:
        self._keep = max(keep, max_pending)
        self._max_pending = max_pending
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dof-studio-render")

    def submit(self, work: Work, *, filename: str, media_type: str) -> Job:
        """Queue ``work``; the oldest jobs beyond ``keep`` are forgotten (and cancelled if
        they have not started).

        Raises:
            BusyError: ``max_pending`` jobs are queued or running already.
        """
        job = Job(id=secrets.token_urlsafe(9), filename=filename, media_type=media_type)
        with self._lock:
            pending = sum(j.pending for j in self._jobs.values())
            if pending >= self._max_pending:
                raise BusyError(
                    f"{pending} renders are already waiting or running; save again when one is done"
                )
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                _, old = self._jobs.popitem(last=False)
                self._forget(old)
            job.future = self._pool.submit(self._run, job, work)
        return job

    def _forget(self, job: Job) -> None:
        """Cancel ``job`` if it has not started; a running one finishes unseen. Under the lock."""
        if job.future is not None and job.future.cancel():
            job.state, job.error = "cancelled", "the render was cancelled: save again"
        job.data = None

    def _run(self, job: Job, work: Work) -> None:
        def progress(stage: str, start: float, end: float, expected: float | None) -> None:
            with self._lock:
                job.stage, job.start, job.end, job.expected = stage, start, end, expected
                job.stage_began = time.monotonic()

        with self._lock:
            job.state = "running"
        data, error = None, None
        try:
            data = work(progress)
        except StudioError as err:
            error = err.message
        except USER_ERRORS as err:
            error = str(err)
        except MemoryError:
            error = "out of memory rendering at full size: close other programs or use a GPU"
        except Exception as err:  # the page must hear of any failure; the log keeps the trace
            traceback.print_exc(file=sys.stderr)
            error = f"the render failed: {err}"
        with self._lock:
            job.data, job.error = data, error
            job.finished = time.monotonic()
            job.state = "failed" if error is not None else "done"

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotOpenError("this render is no longer held; save again")
        return job

    def status(self, job_id: str) -> dict[str, Any]:
        """The JSON the page polls for ``job_id``, read under the lock."""
        job = self.get(job_id)
        with self._lock:
            return job.status()

    def result(self, job_id: str) -> tuple[Job, bytes | None]:
        """The job and its file (None until it is done)."""
        job = self.get(job_id)
        with self._lock:
            return job, job.data

    def shutdown(self) -> None:
        """Stop taking work, cancel queued jobs, forget every result."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for job in self._jobs.values():
                self._forget(job)
            self._jobs.clear()
