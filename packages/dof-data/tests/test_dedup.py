"""Dedup on the real coco-person photos served by the fake Flickr, with planted duplicates."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from dof_data import (
    ConfigError,
    DedupConfig,
    DownloadConfig,
    FlickrClient,
    Manifest,
    SearchQuery,
    dedup,
    phash_distance,
    scrape,
    write_report,
)
from dof_data.testing import FakeFlickr, FakePhoto, resized_copy, same_bytes, same_size_variant

NOW = 1_600_000_000


@pytest.fixture
def planted(
    tmp_path: Path,
    key: str,
    coco_photos: Callable[..., list[FakePhoto]],
    fast_client: Callable[..., FlickrClient],
    fast_download: Callable[..., DownloadConfig],
) -> Manifest:
    """All 45 photos in domain B, plus: photo 1003's file again under id 5000 in domain A,
    photo 1010 re-uploaded at 75% as 5001, and 1020 again with another JPEG comment as 5002."""
    photos = coco_photos(text="portrait bokeh")
    by_id = {photo.id: photo for photo in photos}
    photos += [
        same_bytes(by_id["1003"], "5000", text="portrait"),
        resized_copy(by_id["1010"], "5001"),
        same_size_variant(by_id["1020"], "5002"),
    ]
    queries = [
        SearchQuery(name="b", domain="B", text="portrait bokeh", max_photos=None),
        SearchQuery(name="a", domain="A", text="portrait", exclude=("bokeh",), max_photos=None),
    ]
    manifest = Manifest(tmp_path / "dataset", create=True)
    with FakeFlickr(photos, api_key=key) as fake:
        scrape(manifest, fast_client(fake), queries, download=fast_download(), now=NOW)
    assert len(manifest.photos(status="kept")) == 48
    return manifest


def test_dedup_finds_the_planted_duplicates_and_nothing_else(planted: Manifest) -> None:
    report = dedup(planted, DedupConfig(small_bytes=None))
    marks = {(m.photo_id, m.rule, m.other_id) for m in report.marks}
    assert marks == {("5000", "exact", "1003"), ("5001", "near", "1010"), ("5002", "paper", "1020")}
    assert report.considered == 48
    assert planted.get("5000").domain == "A"  # type: ignore[union-attr]  # across domains
    removed = {row.id: row.reason for row in planted.photos(status="removed")}
    assert set(removed) == {"5000", "5001", "5002"}
    assert "same bytes (sha256) as 1003 (domain B)" in removed["5000"]
    assert "kept 640x" in removed["5001"]  # the larger copy stays
    assert "the paper's rule" in removed["5002"]
    assert all(p.is_file() for p in (planted.root / "images").rglob("*.jpg"))  # nothing deleted
    assert len(list((planted.root / "images").rglob("*.jpg"))) == 48


def test_the_threshold_separates_reuploads_from_distinct_photos(planted: Manifest) -> None:
    rows = {row.id: row for row in planted.downloaded()}
    assert phash_distance(rows["1010"].phash, rows["5001"].phash) <= 6  # type: ignore[arg-type]
    distinct = [row for row in rows.values() if row.id.startswith("10")]
    closest = min(
        phash_distance(a.phash, b.phash)  # type: ignore[arg-type]
        for a, b in itertools.combinations(distinct, 2)
    )
    assert closest > DedupConfig().near_threshold  # type: ignore[operator]


def test_authors_small_file_filter_marks_exactly_the_small_files(planted: Manifest) -> None:
    report = dedup(planted)
    small = {
        row.id
        for row in planted.downloaded()
        if (planted.root / str(row.local_path)).stat().st_size <= 100 * 1024
    }
    assert 0 < len(small) < 48
    assert {m.photo_id for m in report.marks if m.rule == "small-file"} == small
    assert report.counts()["exact"] == 1


def test_rerun_replaces_marks_and_rules_can_be_turned_off(planted: Manifest) -> None:
    first = dedup(planted)
    assert dedup(planted).marks == first.marks  # idempotent
    off = dedup(
        planted, DedupConfig(exact=False, paper_rule=False, near_threshold=None, small_bytes=None)
    )
    assert off.marks == []
    assert {row.status for row in planted.photos()} == {"kept"}
    assert planted.marks() == []
    only_near = dedup(planted, DedupConfig(exact=False, paper_rule=False, small_bytes=None))
    # Without the exact and paper rules, those pairs are near duplicates (distance 0).
    assert {m.photo_id for m in only_near.marks} == {"5000", "5001", "5002"}


def test_report_lists_what_was_removed_and_why(planted: Manifest, tmp_path: Path) -> None:
    report = dedup(planted, DedupConfig(small_bytes=None))
    markdown = write_report([report], tmp_path / "report.md").read_text()
    assert "dedup: 3 of 48 photos marked (exact: 1, near: 1, paper: 1)" in markdown
    assert "| 5001 | dedup | near | 1010 |" in markdown
    lines = write_report([report], tmp_path / "report.csv").read_text().splitlines()
    assert lines[0] == "photo_id,stage,rule,other_id,reason"
    assert len(lines) == 4 and lines[1].startswith("5000,dedup,exact,1003,")


def test_bad_threshold_is_refused() -> None:
    with pytest.raises(ConfigError, match="0-64"):
        DedupConfig(near_threshold=65)
