"""``import_folder``: bring photos a user already has into the manifest, no Flickr needed.

Each readable photo is copied (atomically) to ``images/<domain>/local-<sha256 prefix><ext>``
and recorded as ``kept`` with source ``import``; the originals are only read. Importing the
same file again is a no-op, so an interrupted import can simply be rerun.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dof_data.download import ProgressFn, remove_partial_files
from dof_data.errors import ConfigError
from dof_data.fingerprint import describe_image, sha256_file
from dof_data.manifest import Manifest
from dof_data.query import DOMAINS
from dof_io import ImageReadError, atomic_path, folder_lock, list_images


@dataclass
class ImportSummary:
    """``added`` new photos, ``skipped`` already in the manifest, ``failed`` (path, reason)."""

    added: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)


def import_folder(
    manifest: Manifest,
    folder: str | Path,
    domain: str,
    *,
    recursive: bool = False,
    license_id: str | None = None,
    owner_name: str = "",
    progress: ProgressFn | None = None,
) -> ImportSummary:
    """Import every image in ``folder`` into ``domain``.

    Args:
        manifest: the dataset's manifest.
        folder: a folder of photos (JPEG, PNG, ...).
        domain: "A" (ordinary) or "B" (shallow depth of field).
        recursive: include subfolders.
        license_id: Flickr-style licence id to record for all of them (None = unknown).
        owner_name: author to credit (empty = unknown).

    Raises:
        ConfigError: bad domain, or ``folder`` is not a folder.
    """
    folder = Path(folder)
    if domain not in DOMAINS:
        raise ConfigError(f"domain must be 'A' or 'B'; got {domain!r}")
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder; pass the folder that holds the photos")
    with folder_lock(manifest.root):  # one writer of images/ (a no-op if the caller holds it)
        remove_partial_files(manifest)
        files = list_images(folder, recursive=recursive)
        summary = ImportSummary()
        for done, path in enumerate(files, start=1):
            _import_one(manifest, path, domain, license_id, owner_name, summary)
            if progress:
                progress(done, len(files))
    return summary


def _import_one(
    manifest: Manifest,
    path: Path,
    domain: str,
    license_id: str | None,
    owner_name: str,
    summary: ImportSummary,
) -> None:
    try:
        info = describe_image(path)
    except ImageReadError as err:
        summary.failed.append((path, err.reason))
        return
    photo_id = f"local-{sha256_file(path)[:16]}"
    if manifest.get(photo_id) is not None:
        summary.skipped += 1
        return
    dest = manifest.images_dir(domain) / f"{photo_id}{path.suffix.lower()}"
    with atomic_path(dest) as tmp:
        shutil.copyfile(path, tmp)
    with manifest.transaction() as conn:
        manifest.insert_photo(
            conn,
            {
                **info.as_dict(),
                "id": photo_id,
                "source": "import",
                "query": "import",
                "domain": domain,
                "owner_name": owner_name,
                "license": license_id,
                "title": path.stem,
                "source_url": path.resolve().as_uri(),
                "local_path": dest.relative_to(manifest.root).as_posix(),
                "status": "kept",
            },
        )
    summary.added += 1
