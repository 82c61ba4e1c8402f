"""Run a query to the end, resumably, past Flickr's cap of about 4,000 results per query.

Progress lives in the manifest: a query's upload-date range is a set of slices, each with the
next page to read. Each page's new photos and the slice's new position are written in one
transaction, so a search killed at any instant resumes at the page it was reading. When a slice
matches more than ``cap`` photos and more are wanted than the cap gives, the slice is split in
two halves of its date range (recursively) and each half is paged on its own.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass

from dof_data.errors import ConfigError
from dof_data.flickr import FLICKR_RESULT_CAP, FlickrClient, PhotoHit, SearchPage
from dof_data.manifest import Manifest, Slice
from dof_data.query import SearchQuery
from dof_data.trust import FLICKR_ID

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchSummary:
    """What a search did: ``found`` candidates of this query in all, ``added`` in this run."""

    query: str
    found: int
    added: int
    pages: int
    splits: int


def search(
    manifest: Manifest,
    client: FlickrClient,
    query: SearchQuery,
    *,
    cap: int = FLICKR_RESULT_CAP,
    now: int | None = None,
) -> SearchSummary:
    """Collect a query's candidates into the manifest as ``pending`` photos.

    Args:
        manifest: the dataset's manifest.
        client: the Flickr client.
        query: what to search for; its name keys the progress, so a rerun resumes it.
        cap: the most results Flickr returns for one query (about 4,000).
        now: upper end of the upload-date range when the query has none (unix seconds; the
            first run fixes it, so reruns search the same range).

    Raises:
        ConfigError: the query's name was used before with other parameters.
        FlickrAPIError: from the client.
    """
    if cap < 1:
        raise ConfigError(f"cap must be >= 1; got {cap}")
    _start(manifest, query, int(time.time()) if now is None else now)
    added = pages = splits = 0
    while (remaining := _remaining(manifest, query)) > 0:
        piece = _next_slice(manifest, query.name)
        if piece is None:
            break
        params = {
            **query.params(),
            "min_upload_date": str(piece.lo),
            "max_upload_date": str(piece.hi),
        }
        result = client.search(params, page=piece.next_page, sizes=query.sizes)
        pages += 1
        if piece.next_page == 1 and result.total > cap and remaining > cap and piece.hi > piece.lo:
            _split(manifest, piece, result.total)
            splits += 1
            continue
        if piece.next_page == 1 and result.total > cap and remaining > cap:
            log.warning(
                "%s: %d photos were uploaded in the same second (%d); Flickr shows only "
                "the first %d of them",
                query.name,
                result.total,
                piece.lo,
                cap,
            )
        added += _record_page(manifest, query, piece, result, cap=cap, limit=remaining)
    found = _found(manifest, query.name)
    if _remaining(manifest, query) <= 0 or _next_slice(manifest, query.name) is None:
        with manifest.transaction() as conn:
            conn.execute("UPDATE queries SET done=1 WHERE name=?", (query.name,))
    log.info(
        "%s: %d candidates (%d new, %d pages, %d splits)", query.name, found, added, pages, splits
    )
    return SearchSummary(query.name, found, added, pages, splits)


def _start(manifest: Manifest, query: SearchQuery, now: int) -> None:
    """Register the query and its whole date range as one open slice, unless already there."""
    row = manifest.conn.execute("SELECT spec FROM queries WHERE name=?", (query.name,)).fetchone()
    if row is not None:
        before, now_spec = json.loads(row[0]), json.loads(query.to_json())
        if {**before, "max_photos": None} != {**now_spec, "max_photos": None}:
            raise ConfigError(
                f"a query named {query.name!r} was run before with other parameters; give this "
                "one another name (--name) or use a fresh --root"
            )
        if before != now_spec:  # only max_photos changed: go on from where it stopped
            with manifest.transaction() as conn:
                conn.execute(
                    "UPDATE queries SET spec=?, done=0 WHERE name=?",
                    (query.to_json(), query.name),
                )
        return
    lo, hi = query.upload_range(now=now)
    with manifest.transaction() as conn:
        conn.execute(
            "INSERT INTO queries (name, domain, spec, lo, hi) VALUES (?, ?, ?, ?, ?)",
            (query.name, query.domain, query.to_json(), lo, hi),
        )
        conn.execute(
            "INSERT INTO slices (query, lo, hi, state) VALUES (?, ?, ?, 'open')",
            (query.name, lo, hi),
        )


def _found(manifest: Manifest, name: str) -> int:
    row = manifest.conn.execute("SELECT COUNT(*) FROM photos WHERE query=?", (name,)).fetchone()
    return int(row[0])


def _remaining(manifest: Manifest, query: SearchQuery) -> int | float:
    if query.max_photos is None:
        return math.inf
    return query.max_photos - _found(manifest, query.name)


def _next_slice(manifest: Manifest, name: str) -> Slice | None:
    """The newest open slice (Flickr's default order is newest first)."""
    row = manifest.conn.execute(
        "SELECT query, lo, hi, next_page, total FROM slices WHERE query=? AND state='open' "
        "ORDER BY hi DESC LIMIT 1",
        (name,),
    ).fetchone()
    return Slice(*row) if row else None


def _split(manifest: Manifest, piece: Slice, total: int) -> None:
    middle = (piece.lo + piece.hi) // 2
    log.info(
        "%s: %d matches between %d and %d is over the cap: splitting at %d",
        piece.query,
        total,
        piece.lo,
        piece.hi,
        middle,
    )
    with manifest.transaction() as conn:
        conn.execute(
            "UPDATE slices SET state='split', total=? WHERE query=? AND lo=? AND hi=?",
            (total, piece.query, piece.lo, piece.hi),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO slices (query, lo, hi, state) VALUES (?, ?, ?, 'open')",
            [(piece.query, piece.lo, middle), (piece.query, middle + 1, piece.hi)],
        )


def _record_page(
    manifest: Manifest,
    query: SearchQuery,
    piece: Slice,
    result: SearchPage,
    *,
    cap: int,
    limit: int | float,
) -> int:
    """Store one page's new photos and move the slice on, in one transaction. A page cut short
    by ``limit`` stays the next page, so a later run with a larger max_photos reads on."""
    reachable = min(result.total, cap)
    last_page = min(result.pages, math.ceil(reachable / query.per_page)) if reachable else 0
    finished = not result.photos or piece.next_page >= last_page
    added, cut = 0, False
    with manifest.transaction() as conn:
        for hit in result.photos:
            if added >= limit:
                cut = True
                break
            if FLICKR_ID.fullmatch(hit.id) is None:  # a server's answer becomes a file name
                log.warning(
                    "%s: skipped a result with photo id %r (not digits)", query.name, hit.id
                )
                continue
            added += manifest.insert_photo(conn, _candidate(query, hit))
        conn.execute(
            "UPDATE slices SET next_page=?, total=?, state=? WHERE query=? AND lo=? AND hi=?",
            (
                piece.next_page if cut else piece.next_page + 1,
                result.total,
                "done" if finished and not cut else "open",
                piece.query,
                piece.lo,
                piece.hi,
            ),
        )
    return added


def _candidate(query: SearchQuery, hit: PhotoHit) -> dict[str, object]:
    status, reason = (
        ("pending", "")
        if hit.url
        else ("failed", f"Flickr listed none of the sizes {','.join(query.sizes)}")
    )
    return {
        "id": hit.id,
        "source": "flickr",
        "query": query.name,
        "domain": query.domain,
        "owner": hit.owner,
        "owner_name": hit.owner_name,
        "path_alias": hit.path_alias,
        "license": hit.license,
        "title": hit.title,
        "upload": hit.upload,
        "page_url": hit.page_url,
        "source_url": hit.url,
        "width": hit.width or None,
        "height": hit.height or None,
        "status": status,
        "reason": reason,
    }
