from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dof_eval import (
    DatasetError,
    ManifestError,
    build_report,
    contact_sheet,
    find_photos,
    gallery_from_renders,
    get_extractor,
    read_attributions,
    read_run,
    render_columns,
    write_gallery,
)
from dof_eval.render import RenderSet
from dof_eval.testing import halo_free_blur, paste_blur, scene

NASTY = 'o\'brien & <i>co "x"'


def save_scene(path: Path, seed: int, *, rgba: bool = False, size: int = 64) -> Path:
    image, mask = scene(size, seed)
    rgb = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    alpha = (mask[0, 0].numpy() * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    if rgba:
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    else:
        Image.fromarray(rgb).save(path)
        (path.parent.parent / "masks").mkdir(exist_ok=True)
        Image.fromarray(alpha).save(path.parent.parent / "masks" / f"{path.stem}.png")
    return path


@pytest.fixture
def test_dir(tmp_path: Path) -> Path:
    """images/ + masks/ + manifest.csv with awkward names and hostile credits."""
    folder = tmp_path / "test"
    save_scene(folder / "images" / "plain.png", 0)
    save_scene(folder / "images" / f"{NASTY}.png", 1, size=72)
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "author", "title", "license", "url"])
        writer.writerow(
            [
                f"{NASTY}.png",
                "<script>alert(1)</script>",
                'Tea & "cake"',
                "CC BY 2.0",
                "javascript:alert(1)",
            ]
        )
        writer.writerow(["plain.png", "Ann", "", "CC0", "https://example.org/p?a=1&b=2"])
    return folder


def renderers() -> dict[str, object]:
    return {
        "box": lambda x, m: paste_blur(x, m, 3),
        "Gaussian": lambda x, m: halo_free_blur(x, m, 3),
        "model <A>": lambda x, m: x,
    }


def test_find_photos_in_the_three_layouts(tmp_path, test_dir) -> None:
    photos = find_photos(test_dir)
    assert [p.name for p in photos] == [NASTY, "plain"]
    assert all(p.mask is not None and p.mask.parent.name == "masks" for p in photos)
    assert photos[1].attribution is not None and "Ann" in photos[1].attribution.text
    flat = tmp_path / "flat"
    save_scene(flat / "a.png", 0, rgba=True)
    assert find_photos(flat)[0].mask == flat / "a.png"
    gan = tmp_path / "gan"
    save_scene(gan / "testA" / "b.png", 0)
    shutil.move(gan / "masks", gan / "maskA")
    (found,) = find_photos(gan)
    assert found.mask == gan / "maskA" / "b.png"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        find_photos(tmp_path / "empty")
    with pytest.raises(DatasetError, match="does not exist"):
        find_photos(tmp_path / "nowhere")


def test_coco_manifest_gives_flickr_credits(coco_person) -> None:
    credits = read_attributions(coco_person / "manifest.csv")
    credit = credits["000000253956"]
    assert credit.url is not None and credit.url.startswith("http://farm")
    assert "MS-COCO" in credit.text and "CC BY-SA 2.0" in credit.text


def test_a_csv_without_a_file_column_is_refused(tmp_path) -> None:
    (tmp_path / "c.csv").write_text("author,license\nx,y\n")
    with pytest.raises(ManifestError, match="no file-name column"):
        read_attributions(tmp_path / "c.csv")


def test_render_columns_writes_every_column_and_goes_on_past_bad_files(tmp_path, test_dir) -> None:
    (test_dir / "images" / "broken.png").write_bytes(b"\x89PNG not really")
    failures: list[tuple[Path, str]] = []
    renders = render_columns(
        find_photos(test_dir),
        renderers(),
        tmp_path / "r",
        size=48,
        segmenters={"threshold": lambda x: (x[:, :1] > 0.5).float()},
        on_error=lambda path, why: failures.append((path, why)),
    )
    assert [p.name for p, _ in failures] == ["broken.png"]
    assert renders.names == (NASTY, "plain")
    assert renders.columns == {"box": "box", "Gaussian": "gaussian", "model <A>": "model-a"}
    with Image.open(renders.path("model-a", "plain")) as image:
        assert image.size == (48, 48)
    assert RenderSet.load(tmp_path / "r") == renders
    with pytest.raises(DatasetError, match="reserved"):
        render_columns(find_photos(test_dir), {"input": lambda x, m: x}, tmp_path / "y")
    photo = find_photos(test_dir)[-1]
    with pytest.raises(DatasetError, match="has no person mask"):
        render_columns([type(photo)(photo.name, photo.image)], renderers(), tmp_path / "x")


def test_on_device_moves_the_arguments_in_order_and_returns_cpu_float32() -> None:
    from dof_eval import on_device

    seen: list[tuple[torch.device, torch.dtype]] = []

    def render(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        seen.extend((t.device, t.dtype) for t in (image, mask))
        return (image * mask).half()

    image, mask = torch.full((1, 3, 4, 4), 0.5), torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    out = on_device(render, "cpu")(image, mask)
    assert out.dtype == torch.float32 and out.device.type == "cpu"
    assert torch.equal(out, image * mask)  # image first, mask second
    assert seen == [(torch.device("cpu"), torch.float32)] * 2


def test_gallery_page_escapes_everything_and_loads_in_chromium(
    tmp_path, test_dir, open_in_browser
) -> None:
    renders = render_columns(
        find_photos(test_dir), renderers(), tmp_path / "report" / "renders", size=64
    )
    gallery = gallery_from_renders(renders)
    page = write_gallery(gallery, tmp_path / "report" / "gallery.html", title="<t>")
    text = page.read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;i&gt;co &quot;x&quot;" in text and "model &lt;A&gt;" in text
    assert "Tea &amp; &quot;cake&quot;" in text
    assert 'href="javascript' not in text
    assert 'href="https://example.org/p?a=1&amp;b=2"' in text
    images = open_in_browser(page)
    assert len(images) == 2 * (2 + 3)  # rows x (input, mask, three methods)
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert broken == []


def test_gallery_copies_images_from_outside_its_folder(tmp_path, test_dir, open_in_browser) -> None:
    renders = render_columns(find_photos(test_dir), renderers(), tmp_path / "elsewhere", size=64)
    page = write_gallery(gallery_from_renders(renders), tmp_path / "site" / "index.html")
    assert (tmp_path / "site" / "images").is_dir()
    assert all(complete and width > 0 for _, complete, width in open_in_browser(page))


def test_contact_sheet_has_a_cell_per_image(tmp_path, test_dir) -> None:
    renders = render_columns(find_photos(test_dir), renderers(), tmp_path / "r", size=64)
    sheet = contact_sheet(gallery_from_renders(renders), tmp_path / "sheet.png", cell=100)
    with Image.open(sheet) as image:
        assert image.size == (150 + 5 * 104 + 4, 28 + 2 * 104 + 4)
        assert np.asarray(image).std() > 10


def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_report_from_two_runs_opens_in_chromium(
    tmp_path, test_dir, make_run, open_in_browser
) -> None:
    runs = [read_run(make_run("plain", "cyclegan")), read_run(make_run("overlay", "mask-overlay"))]
    out = tmp_path / "report"
    renders = render_columns(
        find_photos(test_dir), renderers(), out / "renders", size=64,
        segmenters={"threshold": lambda x: (x[:, :1] > 0.5).float()},
    )  # fmt: skip
    real_b = []
    for seed in range(4):  # stand-ins for real shallow-DoF photos: blurred renders of scenes
        image, mask = scene(64, 10 + seed)
        path = tmp_path / "real_b" / f"{seed}.png"
        path.parent.mkdir(exist_ok=True)
        array = (halo_free_blur(image, mask, 4)[0].permute(1, 2, 0) * 255).round().byte()
        Image.fromarray(array.numpy()).save(path)
        real_b.append(path)
    files = build_report(
        out, runs, renders, real_b=real_b, extractor=get_extractor("random-conv"),
        extractor_name="random-conv", reference_photos=find_photos(test_dir),
    )  # fmt: skip
    html = files.index.read_text()
    for needle in ("fig15_cycle_loss.png", "fig16_mask_loss.png", "subject_psnr", "halo",
                   "Definitions", "mean IoU", "model &lt;A&gt;"):  # fmt: skip
        assert needle in html
    loaded = open_in_browser(files.index)
    assert len(loaded) >= 3 + 2 * 5
    assert [s for s, complete, width in loaded if not (complete and width > 0)] == []
    data = strict_json(files.metrics_json.read_text())
    assert isinstance(data, dict)
    means = data["means"]
    assert means["input"]["subject_psnr"] is None  # +inf is written as null
    assert means["input"]["defocus_ratio"] == pytest.approx(1.0)
    assert means["Gaussian"]["defocus_ratio"] < 0.5
    assert means["box"]["halo"] > means["Gaussian"]["halo"]
    assert means["model <A>"]["fid"] == pytest.approx(means["input"]["fid"])
    assert means["Gaussian"]["fid"] < means["input"]["fid"]  # blurred outputs are closer to B
    assert set(data["segmentation"]["per_image"]["threshold"]) == {NASTY, "plain"}
    assert data["reference"]["focus_ratio_n"] == 2
    rows = list(csv.DictReader(files.metrics_csv.open()))
    assert {r["method"] for r in rows} >= {"input", "box", "Gaussian", "model <A>"}
    assert any(r["photo"] == "mean" and r["method"] == "box" and r["fid"] for r in rows)


def test_report_without_runs_or_real_photos_says_what_is_missing(tmp_path, test_dir) -> None:
    renders = render_columns(
        find_photos(test_dir), renderers(), tmp_path / "r" / "renders", size=64
    )
    files = build_report(tmp_path / "r", [], renders)
    assert "No training runs given" in files.index.read_text()
    assert "not measured" in files.metrics.notes["realism"]
    assert files.curves == ()
    assert torch.isfinite(torch.tensor(files.metrics.means()["box"]["halo"]))


def test_render_columns_stops_on_a_bug_in_a_renderer(tmp_path, test_dir) -> None:
    """A bad photo is recorded and the batch goes on; a bug in a method stops it (one rule)."""
    failures: list[tuple[Path, str]] = []

    def broken(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        render_columns(find_photos(test_dir), {"broken": broken}, tmp_path / "r", size=48,
                       on_error=lambda path, why: failures.append((path, why)))  # fmt: skip
    assert failures == []
