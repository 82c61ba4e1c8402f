from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dof_data import ConfigError, Manifest, import_folder
from dof_io.testing import BROKEN, DECODABLE, make_bad_files


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_import_copies_records_and_reports(tmp_path: Path, manifest: Manifest) -> None:
    folder = tmp_path / "mine"
    cases = make_bad_files(folder)
    before = digest(folder)
    summary = import_folder(manifest, folder, "B", license_id="4", owner_name="Me")
    assert digest(folder) == before  # the originals are only read
    readable = [c for c in DECODABLE if cases[c].suffix.lower() in (".jpg", ".png")]
    assert summary.added == len(readable)
    assert {path.name for path, _ in summary.failed} == set(BROKEN)
    assert all(reason for _, reason in summary.failed)
    rows = manifest.photos()
    assert {row.status for row in rows} == {"kept"} and {row.domain for row in rows} == {"B"}
    for row in rows:
        assert row.id.startswith("local-") and row.source == "import"
        assert (manifest.root / str(row.local_path)).is_file()
        assert row.source_url.startswith("file://") and row.license == "4"
        assert row.owner_name == "Me" and row.sha256 and row.phash


def test_import_twice_adds_nothing(manifest: Manifest, coco_person: Path) -> None:
    first = import_folder(manifest, coco_person / "images", "A")
    again = import_folder(manifest, coco_person / "images", "A")
    assert (first.added, again.added, again.skipped) == (45, 0, 45)
    assert len(list(manifest.images_dir("A").iterdir())) == 45


def test_import_validates_its_arguments(tmp_path: Path, manifest: Manifest) -> None:
    with pytest.raises(ConfigError, match="domain must be 'A' or 'B'"):
        import_folder(manifest, tmp_path, "C")
    with pytest.raises(ConfigError, match="is not a folder"):
        import_folder(manifest, tmp_path / "absent", "A")
