"""Manifest rows and server answers are outside data: ids, paths and links are checked before
they become a file name, a path or Markdown; bad rows are reported and skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dof_data import (
    Manifest,
    PrepareConfig,
    UnsafeDataError,
    credits,
    import_folder,
    prepare,
    write_credits,
)
from dof_data.download import download_pending
from dof_data.trust import check_photo_id, http_url, markdown_text, path_inside
from dof_io import FolderLockedError


def _add(manifest: Manifest, **values: Any) -> None:
    row = {"source": "flickr", "query": "q", "domain": "A", "status": "kept", **values}
    with manifest.transaction() as conn:
        manifest.insert_photo(conn, row)


@pytest.fixture
def dataset(tmp_path: Path, coco_person: Path) -> Manifest:
    """Six imported photos in A, three in B."""
    files = sorted((coco_person / "images").glob("*.jpg"))
    manifest = Manifest(tmp_path / "root" / "dataset", create=True)
    for domain, chosen in (("A", files[:6]), ("B", files[6:9])):
        folder = tmp_path / f"in{domain}"
        folder.mkdir()
        for path in chosen:
            shutil.copy(path, folder / path.name)
        import_folder(manifest, folder, domain)
    return manifest


def test_ids_and_paths_from_outside_are_checked() -> None:
    assert check_photo_id("53412345678") == "53412345678"
    assert check_photo_id("local-0123456789abcdef") == "local-0123456789abcdef"
    for bad in ("../../../../tmp/x", "12/34", "", "12 ", "local-../x", "1" * 21):
        with pytest.raises(UnsafeDataError, match="not a Flickr id"):
            check_photo_id(bad)


def test_path_inside_refuses_every_way_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "images").mkdir(parents=True)
    (root / "images" / "link").symlink_to(tmp_path)
    assert path_inside(root, "images/A/1.jpg") == (root / "images/A/1.jpg").resolve()
    for bad in ("../x.jpg", "images/../../x.jpg", "/etc/passwd", "images/link/x.jpg", "", None):
        with pytest.raises(UnsafeDataError, match=r"relative to the dataset|outside the dataset"):
            path_inside(root, bad)


def test_prepare_skips_and_reports_unsafe_damaged_and_missing_rows(
    dataset: Manifest, tmp_path: Path
) -> None:
    secret = tmp_path / "root" / "secret.jpg"
    shutil.copy(dataset.file_of(dataset.photos(domain="A")[0]), secret)
    _add(dataset, id="../../../../tmp/x", local_path="images/A/x.jpg", sha256="1")
    _add(dataset, id="1234", local_path="../secret.jpg", sha256="2")  # reads outside the root
    damaged, missing = [r for r in dataset.photos(domain="A") if r.id.startswith("local-")][1:3]
    path = dataset.file_of(damaged)
    path.write_bytes(path.read_bytes()[:300])
    dataset.file_of(missing).unlink()
    out = tmp_path / "root" / "dataset" / "prepared"
    summary = prepare(dataset, out, PrepareConfig(size=32, test_a=1))
    reasons = dict(summary.failed)
    assert set(reasons) == {"../../../../tmp/x", "1234", damaged.id, missing.id}
    assert "not a Flickr id" in reasons["../../../../tmp/x"]
    assert "outside the dataset folder" in reasons["1234"]
    assert str(dataset.file_of(damaged)) in reasons[damaged.id]
    assert summary.written == 4 + 3  # the other A photos, every B photo
    counts = summary.counts
    assert (counts["trainA"] + counts["testA"], counts["trainB"], counts["testB"]) == (4, 3, 0)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jpg") if out in p.parents)
    assert len(written) == 7
    assert not list(tmp_path.rglob("x.jpg")) and not Path("/tmp/x.jpg").exists()


def test_prepare_rerun_after_a_kill_skips_finished_outputs(
    dataset: Manifest, tmp_path: Path
) -> None:
    out = tmp_path / "prepared"
    config = PrepareConfig(size=32, test_a=1)
    prepare(dataset, out, config)
    record = json.loads((out / "prepare.json").read_text())
    record["state"] = "writing"  # what a kill mid-run leaves
    (out / "prepare.json").write_text(json.dumps(record))
    first = sorted(out.rglob("*.jpg"))[0]
    first.unlink()  # not written yet when the kill came
    again = prepare(dataset, out, config)
    assert (again.written, again.skipped, again.deleted) == (1, 8, 0)
    assert first.is_file()
    bigger = prepare(dataset, out, PrepareConfig(size=40, test_a=1))  # new settings: all redone
    assert (bigger.written, bigger.skipped) == (9, 0)


HOLD = """
import sys
from dof_data import Manifest
with Manifest(sys.argv[1], lock=True):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_second_writer_of_the_dataset_fails_naming_the_first(
    dataset: Manifest, tmp_path: Path
) -> None:
    dataset.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(dataset.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderLockedError, match=f"pid {holder.pid} "):
            Manifest(dataset.root, lock=True)
        with Manifest(dataset.root) as reader:  # readers are not locked out
            with pytest.raises(FolderLockedError):
                download_pending(reader)
            assert len(reader.photos()) == 9
    finally:
        holder.kill()
        holder.wait()


def test_download_skips_rows_whose_id_or_url_would_escape(
    manifest: Manifest, tmp_path: Path
) -> None:
    _add(manifest, id="../../evil", source_url="http://127.0.0.1:9/x.jpg", status="pending")
    _add(manifest, id="77", source_url="file:///etc/passwd", status="pending")
    summary = download_pending(manifest)
    assert sorted(photo_id for photo_id, _ in summary.failed) == ["../../evil", "77"]
    assert {row.status for row in manifest.photos()} == {"failed"}
    assert not list(tmp_path.rglob("evil*")) and not (manifest.root / "images").exists()


def test_credits_escape_markup_and_keep_only_http_links(manifest: Manifest, tmp_path: Path) -> None:
    _add(
        manifest,
        id="1",
        title="<script>alert(1)</script> [click](javascript:alert(2))",
        owner_name='<img src=x onerror="alert(3)">',
        page_url="javascript:alert(4)",
        local_path="images/A/1.jpg",
    )
    _add(manifest, id="2", title="Ann's *best* photo", page_url="https://flickr.com/p/2 (x)")
    markdown = write_credits(manifest, tmp_path / "credits.md").read_text()
    assert "<script" not in markdown and "<img" not in markdown
    assert "](javascript" not in markdown and "alert(4)" not in markdown  # no such link
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\[click\\]\\(" in markdown
    assert "- &lt;script&gt;" in markdown  # no page link: the title stays plain text
    assert "[Ann's \\*best\\* photo](https://flickr.com/p/2%20%28x%29)" in markdown
    items = {c.id: c for c in credits(manifest)}
    assert items["1"].page_url == "" and items["2"].page_url.startswith("https://")


def test_markdown_text_and_http_url() -> None:
    assert markdown_text("a\nb\t| c") == "a b \\| c"
    assert http_url("HTTPS://example.com/a") == "HTTPS://example.com/a"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//example.com", "http://", None):
        assert http_url(bad) is None
