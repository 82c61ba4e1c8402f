"""Photo attribution from a manifest or credits CSV, for galleries and reports.

Reads any CSV with a file-name column and some of: an attribution/credit line used as-is, or an
author, title, licence and source URL to compose one. Column names are matched without regard to
case; the first matching column wins. Works with ``shared/data/coco-person/manifest.csv``
(``file``, ``license``, ``flickr_url``, ``coco_id``) and with dof-data's credits export.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from dof_eval.errors import ManifestError

FILE_COLUMNS = ("file", "filename", "file_name", "path", "image", "photo", "name")
TEXT_COLUMNS = ("attribution", "credit", "credits", "credit_line")
AUTHOR_COLUMNS = ("author", "owner", "ownername", "owner_name", "creator", "photographer")
TITLE_COLUMNS = ("title",)
LICENSE_COLUMNS = ("license", "licence", "license_name", "license_url")
URL_COLUMNS = ("url", "flickr_url", "page_url", "photo_url", "source_url", "source", "link")


@dataclass(frozen=True)
class Attribution:
    """Who made a photo and under which licence.

    Attributes:
        text: the line to print under the photo.
        url: where the photo comes from (None when unknown).
        license: the licence as written in the manifest (None when unknown).
    """

    text: str
    url: str | None = None
    license: str | None = None


def _pick(row: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = (row.get(name) or "").strip()
        if value:
            return value
    return None


def _attribution(row: dict[str, str]) -> Attribution | None:
    url = _pick(row, URL_COLUMNS)
    licence = _pick(row, LICENSE_COLUMNS)
    text = _pick(row, TEXT_COLUMNS)
    if text is None:
        author, title = _pick(row, AUTHOR_COLUMNS), _pick(row, TITLE_COLUMNS)
        parts = []
        if title or author:
            parts.append(" by ".join(p for p in (f"“{title}”" if title else None, author) if p))
        if url:
            parts.append(url + (" via MS-COCO" if row.get("coco_id") else ""))
        if licence:
            parts.append(licence)
        text = " · ".join(parts) if parts else None
    if text is None:
        return None
    return Attribution(
        text=text, url=url if url and url.startswith("http") else None, license=licence
    )


def read_attributions(csv_path: str | Path) -> dict[str, Attribution]:
    """Attribution per photo from a CSV.

    Args:
        csv_path: a manifest or credits CSV with a header row.

    Returns:
        file name -> :class:`Attribution`, keyed by both the base name (``a.jpg``) and the stem
        (``a``), so renders saved as PNG still find their source's credit.

    Raises:
        ManifestError: when the file cannot be read or has no file-name column.
    """
    path = Path(csv_path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = {f.strip().lower(): f for f in reader.fieldnames or []}
            key = next((fields[c] for c in FILE_COLUMNS if c in fields), None)
            if key is None:
                raise ManifestError(
                    f"{path} has no file-name column (one of {', '.join(FILE_COLUMNS)}); "
                    f"its columns are {', '.join(fields) or 'none'}"
                )
            rows = [
                {k.strip().lower(): v for k, v in r.items() if k} | {"": r[key]} for r in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ManifestError(f"cannot read {path}: {error}") from error
    found: dict[str, Attribution] = {}
    for row in rows:
        name = Path((row[""] or "").strip()).name
        attribution = _attribution(row)
        if name and attribution is not None:
            found.setdefault(name, attribution)
            found.setdefault(Path(name).stem, attribution)
    return found
