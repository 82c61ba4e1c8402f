from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from dof_data import (
    DownloadConfig,
    FlickrClient,
    Manifest,
    SearchQuery,
    credits,
    scrape,
    write_credits,
)
from dof_data.testing import FakeFlickr, FakePhoto


def test_credits_list_owner_licence_and_page(
    key: str,
    tmp_path: Path,
    coco_photos: Callable[..., list[FakePhoto]],
    fast_client: Callable[..., FlickrClient],
    fast_download: Callable[..., DownloadConfig],
) -> None:
    photos = coco_photos(5)
    photos[0].license, photos[1].license, photos[2].license = 11, 6, 0  # 4.0, ND, ARR
    photos[3].owner_name = "Ann [the | best]"
    photos[4].always = "404"  # never downloaded: no credit line
    manifest = Manifest(tmp_path / "dataset", create=True)
    with FakeFlickr(photos, api_key=key) as fake:
        scrape(
            manifest,
            fast_client(fake),
            [SearchQuery(name="q", domain="B", text="portrait")],
            download=fast_download(),
            now=1_600_000_000,
        )
    items = {c.id: c for c in credits(manifest)}
    assert set(items) == {"1000", "1001", "1002", "1003"}
    assert items["1000"].license == "CC BY 4.0"  # from the API's table, newer than ours
    assert items["1003"].license == "CC BY 2.0" and items["1003"].redistributable
    assert not items["1001"].redistributable and not items["1002"].redistributable
    assert items["1003"].page_url == f"https://www.flickr.com/photos/{photos[3].owner}/1003/"

    rows = list(csv.DictReader(write_credits(manifest, tmp_path / "credits.csv").open()))
    assert [r["id"] for r in rows] == ["1000", "1001", "1002", "1003"]
    assert rows[3]["author"] == "Ann [the | best]" and rows[3]["license_id"] == "4"

    markdown = write_credits(manifest, tmp_path / "credits.md").read_text()
    assert "**2 photos may not be redistributed as derivatives**" in markdown
    assert (
        "by Ann \\[the \\| best\\], [CC BY 2.0](https://creativecommons.org/licenses/by/2.0/)"
        in markdown
    )
    assert f"(https://www.flickr.com/photos/{photos[0].owner}/1000/)" in markdown
    assert key not in markdown
