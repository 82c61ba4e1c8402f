"""Attribution for every kept photo: owner, licence and Flickr page, as CSV or Markdown.

Anyone who redistributes the prepared dataset, or images derived from it, needs this list: CC BY
requires the credit, CC BY-SA also makes derivatives share-alike, and ND, NC and All Rights
Reserved photos may not be redistributed as derivatives (or not commercially) at all.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from dof_data.licenses import license_info
from dof_data.manifest import Manifest
from dof_data.trust import http_url, markdown_text
from dof_io import atomic_write_text


@dataclass(frozen=True)
class Credit:
    """One kept photo's attribution."""

    id: str
    domain: str
    title: str
    author: str
    owner: str
    license_id: str
    license: str
    license_url: str
    page_url: str
    redistributable: bool
    commercial: bool


def credits(manifest: Manifest) -> list[Credit]:
    """The attribution of every ``kept`` photo, ordered by domain and id.

    Links are kept only when they are http(s) (percent-quoted); any other URL becomes "".
    """
    table = manifest.licenses()
    rows = []
    for row in manifest.photos(status="kept"):
        lic = license_info(row.license, table)
        rows.append(
            Credit(
                id=row.id,
                domain=row.domain,
                title=row.title,
                author=row.owner_name or row.owner or "unknown",
                owner=row.owner,
                license_id=lic.id,
                license=lic.name,
                license_url=http_url(lic.url) or "",
                page_url=http_url(row.page_url) or http_url(row.source_url) or "",
                redistributable=lic.redistributable,
                commercial=lic.commercial,
            )
        )
    return rows


def credits_csv(items: list[Credit]) -> str:
    """CSV, one line per photo, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "id",
            "domain",
            "title",
            "author",
            "owner",
            "license_id",
            "license",
            "license_url",
            "page_url",
            "redistributable",
            "commercial",
        ]
    )
    for c in items:
        writer.writerow(
            [
                c.id,
                c.domain,
                c.title,
                c.author,
                c.owner,
                c.license_id,
                c.license,
                c.license_url,
                c.page_url,
                c.redistributable,
                c.commercial,
            ]
        )
    return buffer.getvalue()


def credits_markdown(items: list[Credit]) -> str:
    """Markdown: licence counts, a warning for photos that may not be shared as derivatives,
    then one credit line per photo. Every outside text is escaped (Markdown and HTML)."""
    lines = ["# Photo credits", "", f"{len(items)} photos. Licences:", ""]
    for name, count in sorted(Counter(c.license for c in items).items()):
        lines.append(f"- {markdown_text(name)}: {count}")
    blocked = [c for c in items if not c.redistributable]
    if blocked:
        lines += [
            "",
            f"**{len(blocked)} photos may not be redistributed as derivatives** "
            "(All Rights Reserved, NoDerivs or unknown licence): keep them out of any "
            "dataset or image set you share.",
        ]
    for domain in ("A", "B"):
        chosen = [c for c in items if c.domain == domain]
        if chosen:
            lines += ["", f"## Domain {domain}", ""]
        for c in chosen:
            title = markdown_text(c.title) or markdown_text(c.id)
            name = markdown_text(c.license)
            lic = f"[{name}]({c.license_url})" if c.license_url else name
            photo = f"[{title}]({c.page_url})" if c.page_url else title
            lines.append(f"- {photo} by {markdown_text(c.author)}, {lic}")
    return "\n".join(lines) + "\n"


def write_credits(manifest: Manifest, path: str | Path) -> Path:
    """Write the credits of every kept photo: CSV for ``.csv``, Markdown otherwise (atomic)."""
    path = Path(path)
    items = credits(manifest)
    text = credits_csv(items) if path.suffix.lower() == ".csv" else credits_markdown(items)
    atomic_write_text(path, text)
    return path
