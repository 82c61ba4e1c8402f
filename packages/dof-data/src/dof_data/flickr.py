"""A small Flickr REST client: ``flickr.photos.search`` and ``flickr.photos.licenses.getInfo``.

Calls are HTTP POSTs with a form body (Flickr's REST endpoint takes GET or POST), so the API key
never sits in a URL: not in proxy or server logs, not in urllib3's debug lines, not in the text
of a requests exception. Every error message is redacted again before it is raised or logged.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from dof_data.apikey import ApiKey
from dof_data.errors import FlickrAPIError, TransientError
from dof_data.licenses import License
from dof_data.retry import RetryPolicy, TokenBucket, parse_retry_after, with_retries

#: Flickr's REST endpoint.
FLICKR_REST_URL = "https://api.flickr.com/services/rest/"
#: Flickr returns at most about this many results for one query, however many match.
FLICKR_RESULT_CAP = 4000
#: Flickr error codes that mean "try again later".
TRANSIENT_CODES = frozenset({0, 10, 105, 106})
_SAFE_ID = re.compile(r"^[A-Za-z0-9_@-]{1,64}$")
_HINTS = {
    100: "check DOF_FLICKR_API_KEY or the key file: Flickr does not accept the key",
    3: "give the query text or tags",
}


@dataclass(frozen=True)
class PhotoHit:
    """One search result, reduced to what the manifest keeps.

    Attributes:
        id: Flickr's photo id (digits).
        owner: the owner's NSID ("12345678@N00"); page URLs use it.
        owner_name, path_alias, title: as Flickr gives them ("" when absent).
        license: Flickr licence id as text, or None when the extra was missing.
        upload: upload time, unix seconds (0 when absent).
        url: the image URL of the first preferred size Flickr listed, or "" when none was.
        width, height: that size's dimensions as listed (0 when not listed).
    """

    id: str
    owner: str
    owner_name: str
    path_alias: str
    license: str | None
    title: str
    upload: int
    url: str
    width: int
    height: int

    @property
    def page_url(self) -> str:
        """The photo's page on Flickr, the address a credit line points at."""
        return f"https://www.flickr.com/photos/{self.owner}/{self.id}/"


@dataclass(frozen=True)
class SearchPage:
    """One page of ``flickr.photos.search``: ``total`` is every match, not only the first 4,000."""

    page: int
    pages: int
    per_page: int
    total: int
    photos: list[PhotoHit]


class FlickrClient:
    """Calls the Flickr REST API with a rate limit and retries.

    Args:
        api_key: from :func:`dof_data.apikey.load_api_key`.
        base_url: the REST endpoint (tests point it at a local server).
        rate: API-call limiter; default 3,000 calls per hour, under Flickr's 3,600.
        retry: retry policy for timeouts, dropped connections, HTTP 429/5xx, codes 105/106.
        timeout: seconds to connect and to wait for each read.
        session: a requests session to reuse (one is made otherwise).
        seed: seed of the backoff jitter.
    """

    def __init__(
        self,
        api_key: ApiKey,
        *,
        base_url: str = FLICKR_REST_URL,
        rate: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        seed: int | None = None,
    ) -> None:
        self._key = api_key
        self.base_url = base_url
        self.rate = rate or TokenBucket()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._session = session or requests.Session()
        self._rng = random.Random(seed)
        self.calls = 0

    def __repr__(self) -> str:
        return f"FlickrClient(base_url={self.base_url!r}, key={self._key!r})"

    def call(self, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One API method with retries; returns the decoded JSON of a ``stat: ok`` answer.

        Raises:
            FlickrAPIError: Flickr said ``stat: fail`` with a permanent code, or every attempt
                failed; the message is redacted and carries a hint where one helps.
        """
        body = {**params, "method": method, "format": "json", "nojsoncallback": "1"}
        try:
            return with_retries(lambda: self._once(body), self.retry, what=method, rng=self._rng)
        except TransientError as err:
            raise FlickrAPIError(None, self._key.redact(err.reason)) from None

    def _once(self, body: dict[str, str]) -> dict[str, Any]:
        self.rate.acquire()
        self.calls += 1
        try:
            response = self._session.post(
                self.base_url, data={**body, "api_key": self._key.reveal()}, timeout=self.timeout
            )
        except requests.Timeout:
            raise TransientError(f"no answer within {self.timeout:g} s") from None
        except requests.RequestException as err:
            raise TransientError(f"{type(err).__name__}: {self._key.redact(str(err))}") from None
        with response:
            if response.status_code == 429 or response.status_code >= 500:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                raise TransientError(f"HTTP {response.status_code}", retry_after=retry_after)
            if response.status_code != 200:
                raise FlickrAPIError(None, f"HTTP {response.status_code} from {self.base_url}")
            try:
                data = response.json()
            except ValueError:
                kind = response.headers.get("Content-Type", "?")
                raise TransientError(f"the answer is not JSON (Content-Type {kind})") from None
        if not isinstance(data, dict):
            raise TransientError("the answer is JSON but not an object")
        if data.get("stat") == "ok":
            return data
        code = _int(data.get("code"), -1)
        message = self._key.redact(str(data.get("message", "no message")))
        if code in TRANSIENT_CODES:
            raise TransientError(f"Flickr error {code}: {message}")
        raise FlickrAPIError(code, message, _HINTS.get(code, ""))

    def search(self, params: Mapping[str, str], *, page: int, sizes: tuple[str, ...]) -> SearchPage:
        """One page of ``flickr.photos.search``.

        Args:
            params: search arguments (see :meth:`dof_data.query.SearchQuery.params`) plus any
                upload-date slice.
            page: 1-based page number.
            sizes: size suffixes in order of preference, to pick each hit's download URL.
        """
        data = self.call("flickr.photos.search", {**params, "page": str(page)})
        photos = data.get("photos")
        if not isinstance(photos, dict):
            raise FlickrAPIError(None, "flickr.photos.search answered without a 'photos' object")
        hits = [_hit(raw, sizes) for raw in photos.get("photo", []) if isinstance(raw, dict)]
        return SearchPage(
            page=_int(photos.get("page"), page),
            pages=_int(photos.get("pages"), 0),
            per_page=_int(photos.get("perpage"), len(hits)),
            total=_int(photos.get("total"), 0),
            photos=[hit for hit in hits if hit is not None],
        )

    def licenses(self) -> dict[str, License]:
        """Flickr's current licence table (``flickr.photos.licenses.getInfo``), by id."""
        data = self.call("flickr.photos.licenses.getInfo", {})
        rows = data.get("licenses", {}).get("license", [])
        table = {}
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and "id" in row:
                lic = License(str(row["id"]), str(row.get("name", "")), str(row.get("url", "")))
                table[lic.id] = lic
        return table


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _hit(raw: dict[str, Any], sizes: tuple[str, ...]) -> PhotoHit | None:
    """A search result as a PhotoHit; None for one whose id or owner is not a safe token
    (ids become file names, so a hostile answer must not smuggle a path in)."""
    photo_id, owner = str(raw.get("id", "")), str(raw.get("owner", ""))
    if not _SAFE_ID.match(photo_id) or not _SAFE_ID.match(owner):
        return None
    url, width, height = "", 0, 0
    for size in sizes:
        candidate = str(raw.get(f"url_{size}", ""))
        if candidate.startswith(("http://", "https://")):
            url = candidate
            width = _int(raw.get(f"width_{size}"), 0)
            height = _int(raw.get(f"height_{size}"), 0)
            break
    license_id = raw.get("license")
    return PhotoHit(
        id=photo_id,
        owner=owner,
        owner_name=str(raw.get("ownername", "")),
        path_alias=str(raw.get("pathalias") or ""),
        license=None if license_id is None else str(license_id),
        title=str(raw.get("title", "")),
        upload=_int(raw.get("dateupload"), 0),
        url=url,
        width=width,
        height=height,
    )
