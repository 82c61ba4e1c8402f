from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dof_data import Manifest, ManifestError
from dof_data.schema import SCHEMA_VERSION


def test_new_manifest_is_wal_and_versioned(tmp_path: Path) -> None:
    with Manifest(tmp_path / "d", create=True) as manifest:
        mode = manifest.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        version = manifest.conn.execute(
            "SELECT value FROM meta WHERE key='schema_version'"
        ).fetchone()[0]
        assert int(version) == SCHEMA_VERSION
    assert (tmp_path / "d" / "manifest.sqlite").is_file()
    with Manifest(tmp_path / "d") as again:  # reopening keeps it
        assert again.counts() == {}


def test_missing_manifest_is_an_error_unless_created(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no manifest at .*dof data scrape"):
        Manifest(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Manifest(tmp_path / "d", create=True).close()
    with sqlite3.connect(tmp_path / "d" / "manifest.sqlite") as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(ManifestError, match=r"schema version 99, newer .* upgrade dof-data"):
        Manifest(tmp_path / "d")


def test_statuses_are_checked_by_the_database(tmp_path: Path) -> None:
    row = {"id": "1", "source": "flickr", "query": "q", "domain": "A", "status": "lost"}
    with Manifest(tmp_path / "d", create=True) as manifest:
        with pytest.raises(sqlite3.IntegrityError), manifest.transaction() as conn:
            manifest.insert_photo(conn, row)
        assert manifest.get("1") is None
