"""A scrape in a process of its own, for the SIGKILL test (test_resume.py).

    python scrape_runner.py ROOT API_URL      (the key comes from DOF_FLICKR_API_KEY)

The queries and settings are fixed here so that every run, killed or not, asks for the same.
"""

from __future__ import annotations

import sys

from dof_data import (
    DownloadConfig,
    FlickrClient,
    Manifest,
    RetryPolicy,
    SearchQuery,
    TokenBucket,
    load_api_key,
    scrape,
)

QUERIES = [
    SearchQuery(name="bokeh", domain="B", text="portrait bokeh", per_page=3, max_photos=None),
    SearchQuery(
        name="ordinary", domain="A", text="portrait", exclude=("bokeh",), per_page=4, max_photos=8
    ),
]
CAP = 5
NOW = 1_600_000_000
RETRY = RetryPolicy(attempts=3, base=0.005, cap=0.02)


def main(root: str, url: str) -> None:
    client = FlickrClient(
        load_api_key(), base_url=url, rate=TokenBucket(1e9, 1000), retry=RETRY, timeout=2.0, seed=0
    )
    with Manifest(root, create=True) as manifest:
        scrape(
            manifest,
            client,
            QUERIES,
            cap=CAP,
            now=NOW,
            download=DownloadConfig(workers=3, timeout=0.4, retry=RETRY, seed=0),
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
