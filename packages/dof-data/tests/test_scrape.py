"""Search and download against the fake Flickr: the paper's queries, the cap, faults, reruns."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from dof_data import (
    ConfigError,
    DownloadConfig,
    FlickrClient,
    Manifest,
    SearchQuery,
    download_pending,
    paper_queries,
    scrape,
    search,
)
from dof_data.testing import FakeFlickr, FakePhoto
from dof_io import read_rgb

NOW = 1_600_000_000
Photos = Callable[..., list[FakePhoto]]
Client = Callable[..., FlickrClient]
Download = Callable[..., DownloadConfig]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in (root / "images").rglob("*") if p.is_file())


def test_paper_preset_reaches_the_server_with_the_papers_arguments(
    key: str,
    coco_photos: Photos,
    fast_client: Client,
    fast_download: Download,
    manifest: Manifest,
) -> None:
    photos = coco_photos(12)
    for photo in photos[:4]:
        photo.text, photo.camera = "portrait", "apple/iphone_7"  # domain A: iPhone 7 portraits
    for photo in photos[4:7]:
        photo.text = "portrait"  # other cameras: not domain A
    for photo in photos[7:11]:
        photo.text = "portrait bokeh"  # domain B
    photos[11].text = "portrait bokeh blackandwhite"  # excluded by a minus term
    photos[3].text += " dog"  # excluded too
    with FakeFlickr(photos, api_key=key) as fake:
        scrape(manifest, fast_client(fake), paper_queries(), download=fast_download(), now=NOW)
    searches = [c for c in fake.api_calls if c["method"] == "flickr.photos.search"]
    assert len(searches) == 2
    by_text = {c["text"].split(" -")[0]: c for c in searches}
    ordinary, bokeh = by_text["portrait"], by_text["portrait bokeh"]
    assert ordinary["camera"] == "apple/iphone_7" and "camera" not in bokeh
    for call in (ordinary, bokeh):
        assert call["api_key"] == key
        assert call["text"].endswith(
            "-blackandwhite -BW -monochrome -animal -cat -dog -bird -flower"
        )
        assert (call["content_type"], call["media"], call["per_page"]) == ("1", "photos", "500")
        assert "url_h" in call["extras"].split(",") and "license" in call["extras"]
        assert call["min_upload_date"] == "1072915200" and call["max_upload_date"] == str(NOW)
    a = [row.id for row in manifest.photos(domain="A")]
    b = [row.id for row in manifest.photos(domain="B")]
    assert a == ["1000", "1001", "1002"]
    assert b == ["1007", "1008", "1009", "1010"]
    assert {row.status for row in manifest.photos()} == {"kept"}


def test_date_slicing_gets_past_the_cap(
    key: str, coco_photos: Photos, fast_client: Client, manifest: Manifest
) -> None:
    photos = coco_photos(13)
    query = SearchQuery(name="all", domain="B", text="portrait", per_page=2, max_photos=None)
    with FakeFlickr(photos, api_key=key, cap=5) as fake:
        summary = search(manifest, fast_client(fake), query, cap=5, now=NOW)
    assert summary.found == 13 and summary.splits >= 2
    assert sorted(row.id for row in manifest.photos()) == sorted(p.id for p in photos)
    pages = [int(c["page"]) for c in fake.api_calls]
    assert max(pages) <= 3  # never past the cap (5 results = 3 pages of 2)


def test_without_slicing_the_cap_hides_photos(
    key: str, coco_photos: Photos, fast_client: Client, manifest: Manifest
) -> None:
    """The oracle for the test above: one slice (no date range to split) reaches only 5."""
    photos = coco_photos(13)
    for photo in photos:
        photo.upload = 1_500_000_000  # all in one second: nothing to split
    query = SearchQuery(name="all", domain="B", text="portrait", per_page=2, max_photos=None)
    with FakeFlickr(photos, api_key=key, cap=5) as fake:
        summary = search(manifest, fast_client(fake), query, cap=5, now=NOW)
    assert summary.found == 5


def test_max_photos_stops_the_search(
    key: str, coco_photos: Photos, fast_client: Client, manifest: Manifest
) -> None:
    query = SearchQuery(name="some", domain="A", text="portrait", per_page=2, max_photos=7)
    with FakeFlickr(coco_photos(13), api_key=key, cap=5) as fake:
        summary = search(manifest, fast_client(fake), query, cap=5, now=NOW)
    assert summary.found == 7
    # Newest first: the 7 most recent uploads.
    assert sorted(row.id for row in manifest.photos()) == [str(1006 + i) for i in range(7)]


def test_a_reused_query_name_with_other_arguments_is_refused(
    key: str, fast_client: Client, manifest: Manifest
) -> None:
    with FakeFlickr([], api_key=key) as fake:
        search(manifest, fast_client(fake), SearchQuery(name="q", domain="A", text="a"), now=NOW)
        with pytest.raises(ConfigError, match="run before with other parameters"):
            search(manifest, fast_client(fake), SearchQuery(name="q", domain="A", text="b"))


def test_faults_are_retried_or_recorded_and_leave_no_partial_file(
    key: str,
    coco_photos: Photos,
    fast_client: Client,
    fast_download: Download,
    manifest: Manifest,
) -> None:
    photos = coco_photos(11)
    transient = {
        "1000": ["500"],
        "1001": ["429", "503"],
        "1002": ["timeout"],
        "1003": ["truncate"],
        "1004": ["html"],
        "1005": ["truncated-file"],
    }
    permanent = {"1006": "html", "1007": "404", "1008": "truncated-file", "1009": "truncate"}
    for photo in photos:
        photo.faults = list(transient.get(photo.id, []))
        photo.always = permanent.get(photo.id)
    query = SearchQuery(name="q", domain="B", text="portrait", per_page=500)
    with FakeFlickr(photos, api_key=key, timeout_sleep=0.8) as fake:
        summary = scrape(manifest, fast_client(fake), [query], download=fast_download(), now=NOW)
    status = {row.id: (row.status, row.reason) for row in manifest.photos()}
    for photo_id, faults in transient.items():
        assert status[photo_id] == ("kept", ""), photo_id
        assert fake.image_requests[photo_id] == len(faults) + 1
    assert status["1010"] == ("kept", "") and fake.image_requests["1010"] == 1
    assert status["1006"] == (
        "failed",
        "Content-Type text/html, expected image/* (after 4 attempts)",
    )
    assert status["1007"] == ("failed", "HTTP 404 (gone from Flickr)")
    assert fake.image_requests["1007"] == 1  # not worth retrying
    assert status["1008"][0] == "failed" and "does not decode" in status["1008"][1]
    assert status["1009"][0] == "failed" and "(after 4 attempts)" in status["1009"][1]
    assert len(summary.downloads.failed) == 4  # type: ignore[union-attr]
    files = files_under(manifest.root)
    assert [p.name for p in files] == [f"{i}.jpg" for i in sorted({*transient, "1010"})]
    for path in files:  # every file that carries a final name is complete and decodes
        assert read_rgb(path).shape[2] == 3
    kept = {row.id: row for row in manifest.photos(status="kept")}
    assert kept["1003"].bytes == len(photos[3].data)


def test_too_large_or_too_small_is_refused_without_retry(
    key: str,
    coco_photos: Photos,
    fast_client: Client,
    fast_download: Download,
    manifest: Manifest,
) -> None:
    photos = coco_photos(2)
    query = SearchQuery(name="q", domain="B", text="portrait")
    with FakeFlickr(photos, api_key=key) as fake:
        big = len(max(photos, key=lambda p: len(p.data)).data)
        scrape(
            manifest,
            fast_client(fake),
            [query],
            now=NOW,
            download=fast_download(max_bytes=big - 1, min_side=10_000),
        )
    reasons = sorted(row.reason for row in manifest.photos())
    assert any("over max_bytes" in reason for reason in reasons)
    assert any("smaller than min_side=10000" in reason for reason in reasons)
    assert sum(fake.image_requests.values()) == 2
    assert files_under(manifest.root) == []


def test_a_rerun_fetches_nothing_twice(
    key: str,
    coco_photos: Photos,
    fast_client: Client,
    fast_download: Download,
    manifest: Manifest,
) -> None:
    query = SearchQuery(name="q", domain="B", text="portrait", per_page=3, max_photos=None)
    with FakeFlickr(coco_photos(8), api_key=key, cap=4) as fake:
        scrape(manifest, fast_client(fake), [query], download=fast_download(), cap=4, now=NOW)
        first_api, first_images = len(fake.api_calls), sum(fake.image_requests.values())
        assert first_images == 8
        again = scrape(manifest, fast_client(fake), [query], download=fast_download(), cap=4)
    assert sum(fake.image_requests.values()) == first_images
    assert len(fake.api_calls) == first_api + 1  # only the licence table
    assert again.searches[0].added == 0 and again.downloads.downloaded == 0  # type: ignore[union-attr]


def test_a_file_renamed_before_a_kill_is_adopted_not_refetched(
    key: str,
    coco_photos: Photos,
    fast_client: Client,
    fast_download: Download,
    manifest: Manifest,
) -> None:
    photos = coco_photos(3)
    query = SearchQuery(name="q", domain="B", text="portrait")
    with FakeFlickr(photos, api_key=key) as fake:
        scrape(manifest, fast_client(fake), [query], search_only=True, now=NOW)
        folder = manifest.images_dir("B")
        folder.mkdir(parents=True)
        (folder / "1001.jpg").write_bytes(photos[1].data)  # renamed, manifest not yet updated
        (folder / ".1002.x7f3k_q2.jpg").write_bytes(photos[2].data[:100])  # a temp file left
        summary = download_pending(manifest, fast_download())
    assert (summary.adopted, summary.downloaded) == (1, 2)
    assert fake.image_requests["1001"] == 0
    assert [p.name for p in files_under(manifest.root)] == ["1000.jpg", "1001.jpg", "1002.jpg"]
    assert {row.status for row in manifest.photos()} == {"kept"}


def test_retry_failed_tries_failed_photos_again(
    key: str,
    coco_photos: Photos,
    fast_client: Client,
    fast_download: Download,
    manifest: Manifest,
) -> None:
    photos = coco_photos(2)
    photos[0].faults = ["500"] * 4  # outlasts one run's 4 attempts
    query = SearchQuery(name="q", domain="B", text="portrait")
    with FakeFlickr(photos, api_key=key) as fake:
        scrape(manifest, fast_client(fake), [query], download=fast_download(), now=NOW)
        assert manifest.get("1000").status == "failed"  # type: ignore[union-attr]
        download_pending(manifest, fast_download())
        assert fake.image_requests["1000"] == 4  # failed photos wait for retry_failed
        download_pending(manifest, fast_download(), retry_failed=True)
    assert manifest.get("1000").status == "kept"  # type: ignore[union-attr]


def test_the_key_never_reaches_logs_output_or_database(
    key: str,
    coco_photos: Photos,
    fast_client: Client,
    fast_download: Download,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    manifest = Manifest(tmp_path / "dataset", create=True)
    photos = coco_photos(6)
    photos[0].faults, photos[1].always = ["500", "timeout"], "html"
    query = SearchQuery(name="q", domain="B", text="portrait", per_page=2, max_photos=None)
    caplog.set_level(logging.DEBUG)  # urllib3 and requests log every request at DEBUG
    with FakeFlickr(
        photos, api_key=key, cap=3, api_faults=["429", "500", "fail105"], timeout_sleep=0.8
    ) as fake:
        scrape(manifest, fast_client(fake), [query], download=fast_download(), cap=3, now=NOW)
    assert "retry" in caplog.text and "POST /services/rest/" in caplog.text  # logs were made
    assert key not in caplog.text
    out, err = capfd.readouterr()
    assert key not in out and key not in err
    for path in manifest.root.glob("manifest.sqlite*"):
        assert key.encode() not in path.read_bytes(), path
    manifest.close()
    data = (manifest.root / "manifest.sqlite").read_bytes()
    assert key.encode() not in data and key[:16].encode() not in data


def test_a_larger_max_photos_reads_on(
    key: str, coco_photos: Photos, fast_client: Client, manifest: Manifest
) -> None:
    query = SearchQuery(name="q", domain="A", text="portrait", per_page=4, max_photos=3)
    with FakeFlickr(coco_photos(9), api_key=key) as fake:
        assert search(manifest, fast_client(fake), query, now=NOW).found == 3
        calls = len(fake.api_calls)
        assert search(manifest, fast_client(fake), query).found == 3
        assert len(fake.api_calls) == calls  # nothing left to do at this size
        more = dataclasses.replace(query, max_photos=100)
        summary = search(manifest, fast_client(fake), more)
    assert (summary.found, summary.added) == (9, 6)
    assert sorted(row.id for row in manifest.photos()) == [str(1000 + i) for i in range(9)]
