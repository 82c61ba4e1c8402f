"""The whole scrape: Flickr's licence table, every query's search, then the downloads.

Each part resumes from the manifest, so ``scrape`` can be killed at any point and called again
with the same queries: it finishes what is left and fetches nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dof_data.apikey import load_api_key
from dof_data.download import DownloadConfig, DownloadSummary, ProgressFn, download_pending
from dof_data.flickr import FLICKR_REST_URL, FLICKR_RESULT_CAP, FlickrClient
from dof_data.manifest import Manifest
from dof_data.query import SearchQuery, queries_from_options
from dof_data.retry import RetryPolicy, TokenBucket
from dof_data.search import SearchSummary, search

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScrapeSummary:
    """Per-query search results and the download outcome (None with ``search_only``)."""

    searches: list[SearchSummary]
    downloads: DownloadSummary | None

    def describe(self, max_failures: int = 20) -> str:
        """What a user reads: candidates per query, then downloads and the first failures."""
        lines = [f"{s.query}: {s.found} candidates ({s.added} new)" for s in self.searches]
        if self.downloads is not None:
            d = self.downloads
            lines.append(
                f"downloaded {d.downloaded}, found on disk {d.adopted}, failed {len(d.failed)}"
            )
            lines += [f"  failed {photo}: {reason}" for photo, reason in d.failed[:max_failures]]
        return "\n".join(lines)


def scrape(
    manifest: Manifest,
    client: FlickrClient,
    queries: Sequence[SearchQuery],
    *,
    download: DownloadConfig | None = None,
    search_only: bool = False,
    retry_failed: bool = False,
    cap: int = FLICKR_RESULT_CAP,
    now: int | None = None,
    progress: ProgressFn | None = None,
) -> ScrapeSummary:
    """Search every query into the manifest, then download what is pending.

    Args:
        manifest: the dataset's manifest (``Manifest(root, create=True)``).
        client: a :class:`FlickrClient` with the user's key.
        queries: e.g. :func:`dof_data.query.paper_queries`.
        download: download settings; defaults are polite (4 at a time, 4 attempts).
        search_only: stop after the searches (candidates stay ``pending``).
        retry_failed: try ``failed`` photos again too.
        cap: Flickr's per-query result cap (tests use a small one).
        now: upper end of open-ended upload-date ranges (unix seconds; default: now).
        progress: ``progress(done, total)`` during downloads.
    """
    manifest.save_licenses(client.licenses())
    summaries = [search(manifest, client, query, cap=cap, now=now) for query in queries]
    if search_only:
        return ScrapeSummary(summaries, None)
    downloads = download_pending(manifest, download, retry_failed=retry_failed, progress=progress)
    log.info(
        "downloaded %d, found on disk %d, failed %d",
        downloads.downloaded,
        downloads.adopted,
        len(downloads.failed),
    )
    return ScrapeSummary(summaries, downloads)


@dataclass(frozen=True)
class ScrapeJob:
    """What ``dof data scrape`` was asked to do, checked (queries, API key) before the manifest
    is opened; :meth:`run` does it."""

    client: FlickrClient
    queries: list[SearchQuery]
    download: DownloadConfig
    search_only: bool = False
    retry_failed: bool = False
    cap: int = FLICKR_RESULT_CAP

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ScrapeJob:
        """The job from the command's option values by name: the query options of
        :func:`~dof_data.queries_from_options` and ``key_file``, ``api_url``,
        ``calls_per_hour``, ``attempts``, ``timeout``, ``workers``, ``cap``, ``search_only``,
        ``retry_failed``.

        Raises:
            ConfigError: the options make no query.
            ApiKeyError: no API key (the message says where one is looked for).
        """
        queries = queries_from_options(options)
        retry, timeout = RetryPolicy(attempts=options["attempts"]), options["timeout"]
        client = FlickrClient(
            load_api_key(options["key_file"]), retry=retry, timeout=timeout,
            base_url=options["api_url"] or FLICKR_REST_URL,
            rate=TokenBucket(options["calls_per_hour"]),
        )  # fmt: skip
        download = DownloadConfig(workers=options["workers"], timeout=timeout, retry=retry)
        return cls(client, queries, download, search_only=options["search_only"],
                   retry_failed=options["retry_failed"], cap=options["cap"])  # fmt: skip

    def run(self, manifest: Manifest, *, progress: ProgressFn | None = None) -> ScrapeSummary:
        """:func:`scrape` with this job's settings."""
        return scrape(manifest, self.client, self.queries, download=self.download,
                      search_only=self.search_only, retry_failed=self.retry_failed,
                      cap=self.cap, progress=progress)  # fmt: skip
