"""dof-data: build the unpaired portrait dataset from Flickr.

Resumable scraping into a SQLite manifest, deduplication and filters that mark instead of
deleting, a seeded split into the paper's ``trainA/ trainB/ testA/ testB/`` layout, and the
credits every redistributed photo needs. The stages, each resumable::

    from dof_data import (FlickrClient, Manifest, dedup, filter_monochrome, filter_small,
                          load_api_key, paper_queries, prepare, scrape, write_credits)
    manifest = Manifest("dataset", create=True)
    scrape(manifest, FlickrClient(load_api_key()), paper_queries())
    dedup(manifest); filter_monochrome(manifest); filter_small(manifest)
    prepare(manifest, "dataset/prepared")
    write_credits(manifest, "dataset/credits.md")
"""

from dof_data.apikey import KEY_ENV, KEY_FILE_ENV, ApiKey, load_api_key
from dof_data.credits import Credit, credits, credits_csv, credits_markdown, write_credits
from dof_data.dedup import DedupConfig, dedup, find_duplicates, phash_distance
from dof_data.download import DownloadConfig, DownloadSummary, download_pending, fetch_once
from dof_data.errors import (
    ApiKeyError,
    ConfigError,
    DofDataError,
    DownloadError,
    FlickrAPIError,
    ManifestError,
    TransientError,
    UnsafeDataError,
)
from dof_data.filters import (
    chroma_spread,
    filter_camera,
    filter_monochrome,
    filter_no_person,
    filter_small,
)
from dof_data.fingerprint import ImageInfo, describe_image
from dof_data.flickr import FLICKR_REST_URL, FLICKR_RESULT_CAP, FlickrClient, PhotoHit, SearchPage
from dof_data.importing import ImportSummary, import_folder
from dof_data.licenses import FLICKR_LICENSES, License, license_info
from dof_data.manifest import MANIFEST_NAME, Manifest, Mark, PhotoRow
from dof_data.prepare import PrepareConfig, PrepareSummary, center_square, prepare, split_ids
from dof_data.query import (
    PRESETS,
    SearchQuery,
    paper_queries,
    preset_queries,
    queries_from_options,
    unix_time,
)
from dof_data.report import StageReport, write_report
from dof_data.retry import RetryPolicy, TokenBucket, parse_retry_after, with_retries
from dof_data.scrape import ScrapeJob, ScrapeSummary, scrape
from dof_data.search import SearchSummary, search

__all__ = [
    "FLICKR_LICENSES",
    "FLICKR_REST_URL",
    "FLICKR_RESULT_CAP",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "MANIFEST_NAME",
    "PRESETS",
    "ApiKey",
    "ApiKeyError",
    "ConfigError",
    "Credit",
    "DedupConfig",
    "DofDataError",
    "DownloadConfig",
    "DownloadError",
    "DownloadSummary",
    "FlickrAPIError",
    "FlickrClient",
    "ImageInfo",
    "ImportSummary",
    "License",
    "Manifest",
    "ManifestError",
    "Mark",
    "PhotoHit",
    "PhotoRow",
    "PrepareConfig",
    "PrepareSummary",
    "RetryPolicy",
    "ScrapeJob",
    "ScrapeSummary",
    "SearchPage",
    "SearchQuery",
    "SearchSummary",
    "StageReport",
    "TokenBucket",
    "TransientError",
    "UnsafeDataError",
    "center_square",
    "chroma_spread",
    "credits",
    "credits_csv",
    "credits_markdown",
    "dedup",
    "describe_image",
    "download_pending",
    "fetch_once",
    "filter_camera",
    "filter_monochrome",
    "filter_no_person",
    "filter_small",
    "find_duplicates",
    "import_folder",
    "license_info",
    "load_api_key",
    "paper_queries",
    "parse_retry_after",
    "phash_distance",
    "prepare",
    "preset_queries",
    "queries_from_options",
    "scrape",
    "search",
    "split_ids",
    "unix_time",
    "with_retries",
    "write_credits",
    "write_report",
]
