"""The manifest: one SQLite file beside the images, read and updated by every stage.

Layout of a dataset folder::

    <root>/manifest.sqlite     this database (WAL mode; -wal and -shm files appear beside it)
    <root>/images/A/<id>.jpg   downloaded or imported photos, domain A (ordinary)
    <root>/images/B/<id>.jpg   domain B (shallow depth of field)

Tables: ``photos`` (one row per photo: id, query, domain, owner, licence, URLs, local path,
size, bytes, sha256, perceptual hash, status, reason), ``marks`` (why dedup or a filter removed
a photo), ``queries`` and ``slices`` (search progress, so a killed scrape resumes), ``licenses``
(Flickr's table at scrape time) and ``meta`` (the schema version). Status is one of
``pending`` (found, not downloaded), ``failed`` (download gave up; ``reason`` says why),
``kept`` (on disk, no marks) and ``removed`` (on disk, marked; ``reason`` joins the marks).
No wall-clock times are stored in these rows, so an interrupted and resumed job leaves exactly
the rows an uninterrupted one does.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dof_data.errors import ManifestError
from dof_data.licenses import License
from dof_data.schema import SCHEMA_VERSION, create_schema
from dof_data.trust import path_inside
from dof_io import FolderLock, folder_lock

MANIFEST_NAME = "manifest.sqlite"
STATUSES = ("pending", "failed", "kept", "removed")


@dataclass(frozen=True)
class PhotoRow:
    """One row of ``photos``; paths are relative to the manifest's folder."""

    id: str
    source: str
    query: str
    domain: str
    owner: str
    owner_name: str
    path_alias: str
    license: str | None
    title: str
    upload: int
    page_url: str
    source_url: str
    local_path: str | None
    width: int | None
    height: int | None
    bytes: int | None
    sha256: str | None
    phash: str | None
    camera: str | None
    status: str
    reason: str


@dataclass(frozen=True)
class Mark:
    """Why a stage removes a photo: ``rule`` ("exact", "monochrome", ...) and a readable reason;
    ``other_id`` names the photo it duplicates, when it is a duplicate."""

    photo_id: str
    stage: str
    rule: str
    reason: str
    other_id: str | None = None


@dataclass(frozen=True)
class Slice:
    """A piece of a query's upload-date range and how far its pages have been read."""

    query: str
    lo: int
    hi: int
    next_page: int
    total: int | None


_COLUMNS = tuple(f.name for f in fields(PhotoRow))


class Manifest:
    """The dataset's SQLite manifest. Use from one thread (workers hand results back).

    Args:
        root: the dataset folder; created with ``create=True``.
        create: make the folder and the database when absent (otherwise a missing manifest is
            an error, so a typo in ``--root`` does not start a new dataset by accident).
        lock: hold ``dof_io.folder_lock`` on ``root`` until :meth:`close` (every command that
            changes the dataset does; readers such as ``status`` need not).

    Raises:
        ManifestError: missing manifest without ``create``, or one from a newer dof-data.
        dof_io.FolderLockedError: ``lock`` and another process holds the dataset.
    """

    def __init__(self, root: str | Path, *, create: bool = False, lock: bool = False) -> None:
        self.root = Path(root)
        self.path = self.root / MANIFEST_NAME
        if not self.path.is_file() and not create:
            raise ManifestError(
                f"no manifest at {self.path}: run `dof data scrape` or `dof data import` with "
                "this --root first, or pass the folder that holds manifest.sqlite"
            )
        self._held = contextlib.ExitStack()
        self.lock: FolderLock | None = None
        try:
            if lock:
                self.lock = self._held.enter_context(folder_lock(self.root))
            self._connect()
        except BaseException:
            self._held.close()
            raise

    def _connect(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
        self.conn.execute("PRAGMA foreign_keys=ON")
        version = self._version()
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise ManifestError(
                f"{self.path} has schema version {version}, newer than this dof-data "
                f"({SCHEMA_VERSION}): upgrade dof-data"
            )
        with self.transaction():
            create_schema(self.conn, version)

    def _version(self) -> int:
        has_meta = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if not has_meta:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Checkpoint the WAL into the database file, close, and release the lock if held."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
        finally:
            self._held.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: everything in the block is written, or nothing is."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def images_dir(self, domain: str) -> Path:
        """Where a domain's photos live: ``<root>/images/<domain>``."""
        return self.root / "images" / domain

    def file_of(self, row: PhotoRow) -> Path:
        """The photo file of ``row``: ``local_path`` under the root, checked to stay inside it.

        Raises:
            UnsafeDataError: no local path, or one that leads outside the dataset folder.
        """
        return path_inside(self.root, row.local_path)

    # --- photos -------------------------------------------------------------------------------

    def get(self, photo_id: str) -> PhotoRow | None:
        """The row of one photo, or None."""
        row = self.conn.execute("SELECT * FROM photos WHERE id=?", (photo_id,)).fetchone()
        return _photo(row) if row else None

    def photos(
        self, *, status: str | Iterable[str] | None = None, domain: str | None = None
    ) -> list[PhotoRow]:
        """Rows filtered by status (one or several) and domain, ordered by domain then id."""
        sql, args = "SELECT * FROM photos WHERE 1=1", []
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            sql += f" AND status IN ({','.join('?' * len(wanted))})"
            args += wanted
        if domain is not None:
            sql += " AND domain=?"
            args.append(domain)
        rows = self.conn.execute(sql + " ORDER BY domain, id", args).fetchall()
        return [_photo(row) for row in rows]

    def downloaded(self) -> list[PhotoRow]:
        """Photos on disk (kept or removed): what dedup and the filters look at."""
        return self.photos(status=("kept", "removed"))

    def insert_photo(self, conn: sqlite3.Connection, values: dict[str, Any]) -> bool:
        """Add a photo unless its id is already there (inside a transaction). True if added."""
        keys = [key for key in _COLUMNS if key in values]
        cursor = conn.execute(
            # Column names come from PhotoRow's fields, never from input.
            f"INSERT INTO photos ({','.join(keys)}) "  # noqa: S608
            f"VALUES ({','.join('?' * len(keys))}) ON CONFLICT (id) DO NOTHING",
            [values[key] for key in keys],
        )
        return cursor.rowcount == 1

    def record_file(self, photo_id: str, local_path: str, info: dict[str, Any]) -> None:
        """A photo is on disk: store its path and fingerprint and make it ``kept`` (or
        ``removed`` if marks are already waiting for it)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE photos SET local_path=?, width=?, height=?, bytes=?, sha256=?, phash=?, "
                "camera=?, status='kept', reason='' WHERE id=?",
                (
                    local_path,
                    info["width"],
                    info["height"],
                    info["bytes"],
                    info["sha256"],
                    info["phash"],
                    info["camera"],
                    photo_id,
                ),
            )
            self._refresh_status(conn, photo_id)

    def record_failure(self, photo_id: str, reason: str) -> None:
        """A download gave up: status ``failed`` with the reason."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE photos SET status='failed', reason=? WHERE id=?", (reason, photo_id)
            )

    def counts(self) -> dict[tuple[str, str], int]:
        """``{(domain, status): count}`` for every pair that occurs."""
        rows = self.conn.execute(
            "SELECT domain, status, COUNT(*) FROM photos GROUP BY domain, status"
        ).fetchall()
        return {(row[0], row[1]): row[2] for row in rows}

    def status_table(self) -> str:
        """Photos per domain (rows) and status (columns), with totals, as aligned text."""
        counts = self.counts()
        lines = [f"{'domain':<8}" + "".join(f"{s:>10}" for s in STATUSES) + f"{'total':>10}"]
        for domain in ("A", "B"):
            row = [counts.get((domain, s), 0) for s in STATUSES]
            lines.append(f"{domain:<8}" + "".join(f"{n:>10}" for n in row) + f"{sum(row):>10}")
        return "\n".join(lines)

    # --- licences -----------------------------------------------------------------------------

    def save_licenses(self, table: dict[str, License]) -> None:
        """Store Flickr's licence table as the API gave it (replacing an older copy)."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO licenses (id, name, url) VALUES (?, ?, ?)",
                [(lic.id, lic.name, lic.url) for lic in table.values()],
            )

    def licenses(self) -> dict[str, License]:
        """The stored licence table, by id (empty before the first scrape)."""
        rows = self.conn.execute("SELECT id, name, url FROM licenses").fetchall()
        return {row[0]: License(row[0], row[1], row[2]) for row in rows}

    # --- marks --------------------------------------------------------------------------------

    def replace_marks(self, stage: str, marks: Iterable[Mark]) -> None:
        """Swap a stage's marks for new ones and refresh every status, in one transaction, so a
        stage rerun with other settings never leaves the old marks behind."""
        marks = list(marks)
        with self.transaction() as conn:
            conn.execute("DELETE FROM marks WHERE stage=?", (stage,))
            conn.executemany(
                "INSERT OR REPLACE INTO marks (photo_id, stage, rule, reason, other_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [(m.photo_id, stage, m.rule, m.reason, m.other_id) for m in marks],
            )
            self._refresh_status(conn, None)

    def marks(self, stage: str | None = None) -> list[Mark]:
        """Marks of one stage (or all), ordered by photo, stage and rule."""
        sql, args = "SELECT * FROM marks", []
        if stage is not None:
            sql, args = sql + " WHERE stage=?", [stage]
        rows = self.conn.execute(sql + " ORDER BY photo_id, stage, rule", args).fetchall()
        return [
            Mark(r["photo_id"], r["stage"], r["rule"], r["reason"], r["other_id"]) for r in rows
        ]

    def _refresh_status(self, conn: sqlite3.Connection, photo_id: str | None) -> None:
        """kept <-> removed from the marks, for one photo or all; the reason joins the marks."""
        downloaded = "local_path IS NOT NULL AND status IN ('kept', 'removed')"
        if photo_id is None:
            marks = conn.execute(
                "SELECT photo_id, reason FROM marks ORDER BY photo_id, stage, rule"
            )
            rows = conn.execute(f"SELECT id FROM photos WHERE {downloaded}")  # noqa: S608
        else:
            marks = conn.execute(
                "SELECT photo_id, reason FROM marks WHERE photo_id=? ORDER BY stage, rule",
                (photo_id,),
            )
            rows = conn.execute(
                f"SELECT id FROM photos WHERE id=? AND {downloaded}",  # noqa: S608
                (photo_id,),
            )
        reasons: dict[str, list[str]] = {}
        for mark_id, reason in marks.fetchall():
            reasons.setdefault(mark_id, []).append(reason)
        updates = [
            ("removed" if row[0] in reasons else "kept", "; ".join(reasons.get(row[0], [])), row[0])
            for row in rows.fetchall()
        ]
        conn.executemany("UPDATE photos SET status=?, reason=? WHERE id=?", updates)


def _photo(row: sqlite3.Row) -> PhotoRow:
    return PhotoRow(**{key: row[key] for key in _COLUMNS})
