"""segment_files: RGBA outputs, resume, bad files reported by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dof_io import read_mask, read_rgb
from dof_io.testing import BROKEN, make_bad_files
from dof_seg import (
    DofSegError,
    PostProcessConfig,
    Segmenter,
    get_segmenter,
    iter_segment_files,
    segment_files,
)


def test_writes_rgba_photo_plus_mask(photo_dir, tmp_path, selfie):
    out = tmp_path / "masks"
    photos = sorted(photo_dir.iterdir())
    report = segment_files(photos, out, selfie, batch_size=2)
    assert sorted(report.done) == photos and not report.failed and not report.skipped
    for photo in photos:
        written = Image.open(out / f"{photo.stem}.png")
        assert written.mode == "RGBA"
        assert np.array_equal(np.asarray(written)[..., :3], read_rgb(photo))
        alpha = read_mask(out / f"{photo.stem}.png")
        assert alpha.shape == read_rgb(photo).shape[:2]
        assert alpha.min() >= 0 and alpha.max() <= 1


def test_resume_skips_existing_outputs(photo_dir, tmp_path, selfie):
    out = tmp_path / "masks"
    photos = sorted(photo_dir.iterdir())
    segment_files(photos[:1], out, selfie)
    before = (out / f"{photos[0].stem}.png").stat().st_mtime_ns
    report = segment_files(photos, out, selfie)
    assert report.skipped == photos[:1] and sorted(report.done) == photos[1:]
    assert (out / f"{photos[0].stem}.png").stat().st_mtime_ns == before
    again = segment_files(photos, out, selfie, overwrite=True)
    assert sorted(again.done) == photos


def test_bad_files_are_reported_by_name_and_skipped(photo_dir, tmp_path, selfie):
    bad = make_bad_files(tmp_path / "bad")
    broken = [bad[name] for name in BROKEN]
    good = sorted(photo_dir.iterdir())
    events = list(iter_segment_files([*broken, *good], tmp_path / "out", selfie, batch_size=3))
    failed = {event.photo: event.reason for event in events if event.status == "failed"}
    assert set(failed) == set(broken)
    assert all(reason for reason in failed.values())
    assert sorted(e.photo for e in events if e.status == "done") == good
    assert not any((tmp_path / "out" / f"{p.stem}.png").exists() for p in broken)


def test_refuses_duplicate_stems_and_overwriting_the_photo(photo_dir, tmp_path, selfie):
    twin = tmp_path / "other" / "p0.jpg"
    twin.parent.mkdir()
    Image.open(photo_dir / "p0.png").convert("RGB").save(twin)
    report = segment_files([photo_dir / "p0.png", twin], tmp_path / "out", selfie)
    assert [p for p, _ in report.failed] == [twin]
    assert "also writes" in report.failed[0][1] and "rename one of them" in report.failed[0][1]
    report = segment_files([photo_dir / "p1.png"], photo_dir, selfie)
    assert "overwrite the photo" in report.failed[0][1]


def test_never_writes_a_mask_over_another_input_photo(tmp_path, selfie):
    folder = tmp_path / "photos"
    folder.mkdir()
    rgb = np.full((32, 32, 3), 90, np.uint8)
    Image.fromarray(rgb).save(folder / "x.jpg")
    Image.fromarray(rgb).save(folder / "x.png")
    before = (folder / "x.png").read_bytes()
    for overwrite in (False, True):
        report = segment_files(
            [folder / "x.jpg", folder / "x.png"], folder, selfie, overwrite=overwrite
        )
        assert sorted(p.name for p, _ in report.failed) == ["x.jpg", "x.png"]
        assert (folder / "x.png").read_bytes() == before


def test_a_failing_photo_does_not_sink_its_batch(photo_dir, tmp_path):
    """precomputed with one mask missing: only that photo fails, named."""
    masks = tmp_path / "given"
    masks.mkdir()
    photos = sorted(photo_dir.iterdir())
    for photo in photos[1:]:
        full = np.full(read_rgb(photo).shape[:2], 255, np.uint8)
        Image.fromarray(full, mode="L").save(masks / f"{photo.stem}.png")
    segmenter = get_segmenter("precomputed", masks_dir=masks)
    report = segment_files(photos, tmp_path / "out", segmenter, batch_size=8)
    assert [p for p, _ in report.failed] == photos[:1]
    assert "no precomputed mask for 'p0'" in report.failed[0][1]
    assert sorted(report.done) == photos[1:]


def test_post_processing_is_applied(photo_dir, tmp_path, selfie):
    photos = sorted(photo_dir.iterdir())
    segment_files(photos, tmp_path / "out", selfie, post=PostProcessConfig(threshold=0.5))
    values = np.unique(np.asarray(Image.open(tmp_path / "out" / "p0.png"))[..., 3])
    assert set(values.tolist()) <= {0, 255}


def test_batch_size_must_be_positive(tmp_path, selfie):
    with pytest.raises(DofSegError, match="batch_size"):
        segment_files([], tmp_path, selfie, batch_size=0)


class _TwoPeople(Segmenter):
    """A detecting backend with a known answer: two people who touch, the left one larger."""

    detects_people = True

    def segment(self, images, names):
        return torch.stack([self.segment_instances(image)[0] for image in images])

    def segment_instances(self, image, name=None):
        h, w = image.shape[-2:]
        mask = torch.zeros(1, h, w)
        mask[:, 2 : h - 2, 2 : w // 2] = 1.0
        mask[:, 2 : h - 2, w // 2 : w // 2 + 6] = 0.9
        people = (mask > 0).long()
        people[:, :, w // 2 :] *= 2
        return mask, people


def test_main_subject_is_a_detected_person(photo_dir, tmp_path):
    photo = sorted(photo_dir.iterdir())[0]
    w = read_rgb(photo).shape[1]
    keep = PostProcessConfig(keep="largest")
    segment_files([photo], tmp_path / "people", _TwoPeople(), post=keep)
    alpha = read_mask(tmp_path / "people" / f"{photo.stem}.png")
    assert alpha[:, : w // 2].max() == 1 and alpha[:, w // 2 :].max() == 0
    segment_files([photo], tmp_path / "blobs", _TwoPeople(), post=PostProcessConfig())
    alpha = read_mask(tmp_path / "blobs" / f"{photo.stem}.png")  # no keep: both people
    assert alpha[:, w // 2 :].max() > 0.89
