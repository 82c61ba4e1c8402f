"""Outside data checked before it becomes a path, a link or Markdown.

Everything in the manifest came from outside at some point: Flickr's answers (ids, owners,
titles, URLs, licence links) and whatever else edited the SQLite file. A photo id becomes a file
name, ``local_path`` a path under the dataset root, titles and URLs text in credits.md. These
checks run where that happens; a row that fails is reported and skipped, never used.
"""

from __future__ import annotations

import html
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from dof_data.errors import UnsafeDataError

#: Flickr photo ids are decimal numbers; ``import`` gives ``local-<16 hex digits of sha256>``.
FLICKR_ID = re.compile(r"[0-9]{1,20}")
PHOTO_ID = re.compile(r"[0-9]{1,20}|local-[0-9a-f]{16}")

# & < > are html.escape's; # + - . matter only at the start of a line, never ours
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()!|~])")


def check_photo_id(photo_id: str) -> str:
    """Return ``photo_id`` when it is a Flickr id (digits) or an import id (``local-<hex>``).

    Raises:
        UnsafeDataError: anything else (``../x``, ``a/b``, an empty string, ...).
    """
    if not isinstance(photo_id, str) or PHOTO_ID.fullmatch(photo_id) is None:
        raise UnsafeDataError(
            f"photo id {photo_id!r} is not a Flickr id (digits) or an import id "
            "(local-<16 hex digits>); the row was not used"
        )
    return photo_id


def path_inside(root: str | Path, relative: str | None) -> Path:
    """``root / relative`` when it stays inside ``root`` after resolving ``..`` and links.

    Raises:
        UnsafeDataError: ``relative`` is empty, absolute, or leads outside ``root``.
    """
    if not relative or PurePosixPath(relative).is_absolute() or Path(relative).is_absolute():
        raise UnsafeDataError(f"path {relative!r} is not a path relative to the dataset folder")
    base = Path(root).resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise UnsafeDataError(f"path {relative!r} leads outside the dataset folder {base}")
    return path


def http_url(url: str | None) -> str | None:
    """``url`` when it is http(s) with a host, percent-quoted so it cannot end a Markdown link
    or an HTML attribute; None for anything else (``javascript:``, ``data:``, relative)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return quote(url.strip(), safe=":/?#@!$&'*+,;=%-._~")


def markdown_text(text: str) -> str:
    """``text`` safe inside Markdown and the HTML it renders to: one line, HTML escaped,
    Markdown punctuation backslash-escaped."""
    one_line = " ".join(str(text).split())
    return _MARKDOWN.sub(r"\\\1", html.escape(one_line, quote=False))
