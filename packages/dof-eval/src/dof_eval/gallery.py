"""The paper's Fig. 9 as a page: one row per test photo, one column per method.

:func:`write_gallery` writes one self-contained HTML file (inline CSS, no scripts, no remote
resources) that shows images lying beside it through relative links; images outside its folder
are copied into ``images/`` next to it. Every text (photo names, headers, credits) is
HTML-escaped, and only http(s) links are made clickable. :func:`contact_sheet` draws the same
grid as one PNG for READMEs.
"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageFont

from dof_eval.credits import Attribution
from dof_eval.render import RenderSet
from dof_io import atomic_write_text, open_image, save_image

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table.gallery { border-collapse: collapse; }
table.gallery th { position: sticky; top: 0; background: #fafafa; padding: .3rem .5rem;
  font-size: .85rem; border-bottom: 1px solid #ccc; }
table.gallery td { padding: .25rem; vertical-align: top; text-align: center; }
table.gallery td.photo { text-align: left; font-size: .8rem; max-width: 12rem; }
table.gallery img { max-width: 220px; max-height: 220px; display: block; }
.credit { color: #666; font-size: .72rem; overflow-wrap: anywhere; }
"""


@dataclass(frozen=True)
class GalleryRow:
    """One test photo: its name, one image file per column (None = empty cell), its credit."""

    name: str
    cells: Mapping[str, Path | None]
    attribution: Attribution | None = None


@dataclass(frozen=True)
class Gallery:
    """Column headers (in order) and rows."""

    columns: tuple[str, ...]
    rows: tuple[GalleryRow, ...] = field(default=())


def gallery_from_renders(renders: RenderSet) -> Gallery:
    """input | mask | every rendered column, one row per photo of a render folder."""
    folders = {"input": "input", "mask": "mask", **renders.columns}
    rows = tuple(
        GalleryRow(
            name,
            {label: renders.path(folder, name) for label, folder in folders.items()},
            renders.credits.get(name),
        )
        for name in renders.names
    )
    return Gallery(tuple(folders), rows)


def _href(target: Path, page_dir: Path) -> str:
    relative = Path(os.path.relpath(target.resolve(), page_dir.resolve())).as_posix()
    return html.escape(quote(relative), quote=True)


def _local(path: Path, page_dir: Path, store: Path) -> Path:
    """``path`` if it lies under ``page_dir``, else a copy under ``store``."""
    resolved = path.resolve()
    if resolved.is_relative_to(page_dir.resolve()):
        return resolved
    digest = hashlib.sha1(str(resolved).encode(), usedforsecurity=False).hexdigest()[:10]
    copy = store / f"{digest}_{path.name}"
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    return copy


def credit_html(attribution: Attribution | None) -> str:
    """The credit line as escaped HTML, linked when the source URL is http(s)."""
    if attribution is None:
        return ""
    text = html.escape(attribution.text)
    if attribution.url and attribution.url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(attribution.url, quote=True)}" rel="nofollow">{text}</a>'
    return text


def gallery_table_html(gallery: Gallery, page_dir: str | Path) -> str:
    """The gallery as an HTML ``<table>`` whose image links are relative to ``page_dir``."""
    page_dir = Path(page_dir)
    store = page_dir / "images"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in gallery.columns)
    lines = ['<table class="gallery">', f"<thead><tr><th>photo</th>{head}</tr></thead>", "<tbody>"]
    for row in gallery.rows:
        cells = [
            f'<td class="photo"><b>{html.escape(row.name)}</b>'
            f'<div class="credit">{credit_html(row.attribution)}</div></td>'
        ]
        for column in gallery.columns:
            path = row.cells.get(column)
            if path is None or not Path(path).is_file():
                cells.append("<td>—</td>")
                continue
            src = _href(_local(Path(path), page_dir, store), page_dir)
            alt = html.escape(f"{row.name}: {column}", quote=True)
            cells.append(f'<td><img src="{src}" alt="{alt}" title="{alt}"></td>')
        lines.append(f"<tr>{''.join(cells)}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def html_page(title: str, body: str, *, style: str = STYLE) -> str:
    """A complete HTML5 page with inline CSS; ``title`` is escaped, ``body`` is trusted HTML."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def write_gallery(gallery: Gallery, path: str | Path, *, title: str = "dof gallery") -> Path:
    """Write the gallery as a standalone HTML page at ``path``; returns the path."""
    path = Path(path)
    body = gallery_table_html(gallery, path.parent)
    atomic_write_text(path, html_page(title, body))
    return path


def _fit(image: Image.Image, cell: int) -> Image.Image:
    image = image.convert("RGB")
    image.thumbnail((cell, cell), Image.Resampling.LANCZOS)
    return image


def contact_sheet(
    gallery: Gallery,
    path: str | Path,
    *,
    cell: int = 160,
    label_width: int = 150,
    max_rows: int | None = None,
) -> Path:
    """Draw the gallery as one PNG grid with column headers and photo names.

    Args:
        gallery: what to draw.
        path: the PNG to write (atomically).
        cell: the square each image is fitted into, in pixels.
        label_width: width of the photo-name column.
        max_rows: draw only the first rows (None = all).

    Returns:
        ``path``.
    """
    rows = gallery.rows[:max_rows] if max_rows else gallery.rows
    header, pad = 28, 4
    width = label_width + len(gallery.columns) * (cell + pad) + pad
    height = header + len(rows) * (cell + pad) + pad
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for c, column in enumerate(gallery.columns):
        draw.text((label_width + c * (cell + pad) + pad, 8), column[:24], fill="black", font=font)
    for r, row in enumerate(rows):
        top = header + r * (cell + pad)
        draw.text((6, top + cell // 2 - 6), row.name[:22], fill="black", font=font)
        for c, column in enumerate(gallery.columns):
            source = row.cells.get(column)
            if source is None or not Path(source).is_file():
                continue
            thumb = _fit(open_image(source), cell)
            left = label_width + c * (cell + pad) + pad
            sheet.paste(thumb, (left + (cell - thumb.width) // 2, top + (cell - thumb.height) // 2))
    return save_image(sheet, path)
