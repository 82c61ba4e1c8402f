"""What to search for: :class:`SearchQuery` and the paper's two queries as a preset.

The paper (section 3.1) took 4,000 Flickr results for "portrait bokeh" as domain B (shallow
depth of field) and 4,000 for "portrait" taken with an iPhone 7 as domain A (ordinary), with
black-and-white, animal and flower results excluded by minus terms in the text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from dof_data.errors import ConfigError

Domain = Literal["A", "B"]
DOMAINS: tuple[Domain, ...] = ("A", "B")

#: Flickr's size suffixes for the ``url_*`` extras, largest first: o = original, k = 2048 px,
#: h = 1600 px, l = 1024 px, c = 800 px, z = 640 px, n = 320 px (long side).
SIZE_SUFFIXES = ("o", "k", "h", "l", "c", "z", "n")
SORTS = (
    "date-posted-asc",
    "date-posted-desc",
    "date-taken-asc",
    "date-taken-desc",
    "interestingness-desc",
    "interestingness-asc",
    "relevance",
)
#: Flickr's first public uploads were in 2004; the default lower end of the upload-date range.
FLICKR_EPOCH = 1_072_915_200  # 2004-01-01T00:00:00Z
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class SearchQuery:
    """One ``flickr.photos.search`` query and the domain its photos go to.

    Attributes:
        name: a short label stored with every photo it finds ("paper-A").
        domain: "A" (ordinary photos) or "B" (shallow depth of field).
        text: free text; Flickr matches title, description and tags.
        exclude: terms written as ``-term`` after the text (Flickr drops photos matching them).
        tags: comma-joined into ``tags``; ``tag_mode`` "any" or "all".
        camera: passed as ``camera`` like the paper author's script ("apple/iphone_7"). It is not
            among flickr.photos.search's documented arguments, so Flickr may ignore it: check
            the EXIF camera of what arrives (:func:`dof_data.filters.filter_camera`).
        license: Flickr licence ids to accept (empty = any licence); see :mod:`dof_data.licenses`.
        content_type: 1 = photos only (not screenshots or art); None = not sent.
        media: "photos" (not videos).
        sort: one of Flickr's sorts, or None for Flickr's default (date-posted-desc).
        min_upload, max_upload: upload-date range, unix seconds. The scrape splits this range
            when a query matches more than Flickr's cap of about 4,000 results.
        min_taken, max_taken: taken-date range as "YYYY-MM-DD" (or MySQL datetime) strings.
        sizes: ``url_*`` size suffixes in order of preference; the first one Flickr lists for a
            photo is downloaded. The paper used the 1600-pixel size ("h").
        per_page: results per API call, 1-500.
        max_photos: stop after this many candidates (None = everything Flickr has).
    """

    name: str
    domain: Domain
    text: str = ""
    exclude: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tag_mode: Literal["any", "all"] = "any"
    camera: str | None = None
    license: tuple[int, ...] = ()
    content_type: int | None = 1
    media: str = "photos"
    sort: str | None = None
    min_upload: int | None = None
    max_upload: int | None = None
    min_taken: str | None = None
    max_taken: str | None = None
    sizes: tuple[str, ...] = ("h", "l", "c", "z")
    per_page: int = 500
    max_photos: int | None = 4000

    def __post_init__(self) -> None:
        _check(
            bool(_NAME.match(self.name)),
            f"name {self.name!r} must be 1-64 characters of "
            "letters, digits, '_', '.', '-' (it is stored with every photo)",
        )
        _check(self.domain in DOMAINS, f"domain must be 'A' or 'B'; got {self.domain!r}")
        _check(
            bool(self.text.strip() or self.tags),
            "a query needs text or tags: Flickr refuses parameterless searches",
        )
        _check(
            all(t and " " not in t for t in self.exclude),
            f"excluded terms must be single words; got {self.exclude}",
        )
        _check(
            self.tag_mode in ("any", "all"), f"tag_mode must be any or all; got {self.tag_mode!r}"
        )
        _check(
            self.sort is None or self.sort in SORTS,
            f"sort must be one of {', '.join(SORTS)}; got {self.sort!r}",
        )
        _check(
            bool(self.sizes) and all(s in SIZE_SUFFIXES for s in self.sizes),
            f"sizes must be among {', '.join(SIZE_SUFFIXES)}; got {self.sizes}",
        )
        _check(1 <= self.per_page <= 500, f"per_page must be 1-500; got {self.per_page}")
        _check(
            self.max_photos is None or self.max_photos >= 1,
            f"max_photos must be >= 1 or None; got {self.max_photos}",
        )
        _check(all(0 <= i <= 99 for i in self.license), f"licence ids are 0-99; got {self.license}")
        lo, hi = self.upload_range(now=2**31)
        _check(lo <= hi, f"min_upload ({self.min_upload}) is after max_upload ({self.max_upload})")

    @property
    def full_text(self) -> str:
        """The ``text`` argument: the words, then each excluded term as ``-term``."""
        return " ".join([self.text.strip(), *(f"-{term}" for term in self.exclude)]).strip()

    @property
    def extras(self) -> str:
        """The ``extras`` argument: licence, owner, dates, dimensions and the wanted sizes."""
        urls = [f"url_{size}" for size in self.sizes]
        return ",".join(["license", "owner_name", "path_alias", "date_upload", "o_dims", *urls])

    def upload_range(self, *, now: int) -> tuple[int, int]:
        """The upload-date range to search, unix seconds, both ends inclusive."""
        lo = FLICKR_EPOCH if self.min_upload is None else self.min_upload
        return lo, now if self.max_upload is None else self.max_upload

    def params(self) -> dict[str, str]:
        """The search arguments, without key, page or upload dates (the scrape adds those)."""
        params = {"extras": self.extras, "per_page": str(self.per_page), "media": self.media}
        optional = {
            "text": self.full_text if self.text.strip() else "",
            "tags": ",".join(self.tags),
            "tag_mode": self.tag_mode if self.tags else "",
            "camera": self.camera or "",
            "license": ",".join(str(i) for i in self.license),
            "content_type": "" if self.content_type is None else str(self.content_type),
            "sort": self.sort or "",
            "min_taken_date": self.min_taken or "",
            "max_taken_date": self.max_taken or "",
        }
        params.update({key: value for key, value in optional.items() if value})
        return params

    def to_json(self) -> str:
        """A stable JSON record of the query, stored in the manifest (there is no key in it)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def unix_time(text: str) -> int:
    """``"2017-06-30"`` (UTC midnight), ``"2017-06-30T12:00:00"`` or unix seconds -> unix seconds.

    Raises:
        ConfigError: for anything else.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a date: use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or unix seconds"
        ) from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


#: The paper author's excluded terms: black-and-white, animals and flowers.
PAPER_EXCLUDE = ("blackandwhite", "BW", "monochrome", "animal", "cat", "dog", "bird", "flower")


def paper_queries(max_photos: int | None = 4000) -> list[SearchQuery]:
    """The paper's two queries: domain A = "portrait" from an iPhone 7, domain B = "portrait
    bokeh"; 500 per page, the 1600-pixel size, photos only, the author's minus terms."""
    bokeh = SearchQuery(
        name="paper-B",
        domain="B",
        text="portrait bokeh",
        exclude=PAPER_EXCLUDE,
        content_type=1,
        media="photos",
        per_page=500,
        sizes=("h", "l", "c", "z"),
        max_photos=max_photos,
    )
    ordinary = dataclasses.replace(
        bokeh, name="paper-A", domain="A", text="portrait", camera="apple/iphone_7"
    )
    return [ordinary, bokeh]


#: Named query sets for ``dof data scrape --preset NAME``.
PRESETS = {"paper": paper_queries}


def preset_queries(name: str, *, max_photos: int | None = 4000) -> list[SearchQuery]:
    """The queries of a preset by name.

    Raises:
        ConfigError: for an unknown name; the message lists the valid ones.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; valid presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name](max_photos)


def queries_from_options(options: Mapping[str, Any]) -> list[SearchQuery]:
    """The queries ``dof data scrape`` was asked for: a preset's, or one built from options.

    ``options`` holds the command's option values by name (``preset``, ``domain``, ``text``,
    ``tags`` as "a,b", ``license`` as "4,5", ``sizes`` as "h,l", dates as text, ...);
    ``max_photos`` 0 means no limit.

    Raises:
        ConfigError: neither a preset nor a domain with text or tags; a bad date.
    """
    max_photos = options["max_photos"] or None
    if options["preset"]:
        return preset_queries(options["preset"], max_photos=max_photos)
    if not options["domain"] or not (options["text"] or options["tags"]):
        raise ConfigError("give --preset paper, or --domain and --text (or --tags)")
    lo, hi = options["min_upload"], options["max_upload"]
    return [
        SearchQuery(
            name=options["name"] or f"custom-{options['domain']}",
            domain=options["domain"],
            text=options["text"] or "",
            exclude=tuple(options["exclude"]),
            tags=_split(options["tags"]),
            tag_mode=options["tag_mode"],
            camera=options["camera"],
            license=tuple(int(x) for x in _split(options["license"])),
            content_type=options["content_type"] or None,
            sort=options["sort"],
            min_taken=options["min_taken"],
            max_taken=options["max_taken"],
            sizes=tuple(options["sizes"].split(",")),
            per_page=options["per_page"],
            max_photos=max_photos,
            min_upload=unix_time(lo) if lo else None,
            max_upload=unix_time(hi) if hi else None,
        )
    ]


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())
