"""Every subcommand, run as a real process, with an output it cannot write and with a missing
input: one message, a non-zero exit, never a traceback. Plus the folder locks across two real
processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import dof_gan
import dof_io
from dof_data import Manifest, import_folder

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "DOF_FLICKR_API_KEY": ""}


def dof(*args: str | Path, program: str = "dof", timeout: float = 300) -> tuple[int, str]:
    """Run the installed command; (exit status, stdout + stderr)."""
    script = Path(sys.executable).with_name(program)
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "dof_cli.main"]
    done = subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Photos with masks, a dataset root, a trained run, a key file and a file in the way."""
    root = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    mask = np.zeros((40, 44), np.float32)
    mask[10:30, 15:30] = 1
    for folder in ("photos", "trainA", "trainB", "masks", "coco/images"):
        for i in range(2):
            rgb = rng.integers(0, 256, (40, 44, 3), dtype=np.uint8)
            dof_io.write_rgba(root / "data" / folder / f"{i}.png", rgb, mask)
            grey = np.dstack([(mask * 255).astype(np.uint8)] * 3)
            dof_io.write_rgb(root / "data" / "coco" / "masks" / f"{i}.png", grey)
    with Manifest(root / "dataset", create=True) as manifest:
        import_folder(manifest, root / "data" / "photos", "A")
        import_folder(manifest, root / "data" / "trainB", "B")
    config = dof_gan.config_from_options({
        "preset": "cyclegan", "data": str(root / "data"), "size": 32, "ngf": 4, "ndf": 4,
        "n_blocks": 2, "vgg_weights": "none", "workers": 0, "max_steps": 1,
    })  # fmt: skip
    dof_gan.train(config, root / "run", progress=False)
    (root / "key.txt").write_text("0123456789abcdef0123456789abcdef\n")
    (root / "blocker").write_text("a file where a folder should be")
    return {
        "photo": root / "data" / "photos" / "0.png",
        "photos": root / "data" / "photos",
        "masks": root / "data" / "masks",
        "data": root / "data",
        "coco": root / "data" / "coco",
        "dataset": root / "dataset",
        "run": root / "run",
        "key": root / "key.txt",
        "blocked": root / "blocker" / "out",
        "missing": root / "no-such-thing",
    }


def _cases(f: dict[str, Path]) -> dict[str, list[list[str | Path]]]:
    """name -> [args with an unwritable output, args with a missing input]."""
    out, miss = f["blocked"], f["missing"]
    tiny = ["--size", "32", "--ngf", "4", "--ndf", "4", "--n-blocks", "2", "--vgg-weights",
            "none", "--workers", "0", "--max-steps", "1", "--device", "cpu"]  # fmt: skip
    seg_train = ["--encoder", "resnet18", "--encoder-weights", "none", "--steps", "1",
                 "--size", "32", "--device", "cpu"]  # fmt: skip
    root, key = (
        ["--root", f["dataset"]],
        ["--key-file", f["key"], "--api-url", "http://127.0.0.1:9"],
    )
    return {
        "seg": [["seg", f["photo"], "-o", out], ["seg", miss, "-o", out.parent.parent / "s"]],
        "seg eval": [
            ["seg", "eval", "--masks", f["masks"], f["photos"], "--csv", out / "x.csv"],
            ["seg", "eval", "--masks", miss, f["photos"]],
        ],
        "seg train": [
            ["seg", "train", f["photos"], f["masks"], "-o", out, *seg_train],
            ["seg", "train", miss, f["masks"], "-o", miss, *seg_train],
        ],
        "smooth": [
            ["smooth", f["photo"], "--masks", f["masks"], "-o", out, "--method", "box"],
            [
                "smooth",
                miss,
                "--masks",
                f["masks"],
                "-o",
                out.parent.parent / "m",
                "--method",
                "box",
            ],
        ],
        "apply": [
            ["apply", "-c", f["run"], f["photo"], "-o", out],
            ["apply", "-c", miss, f["photo"], "-o", out],
        ],
        "export": [
            ["export", f["run"], "-o", out / "g.safetensors"],
            ["export", miss, "-o", miss / "g.safetensors"],
        ],
        "report": [
            ["report", "--test", f["coco"], "-o", out, "--device", "cpu"],
            ["report", "--test", miss, "-o", out],
        ],
        "paired-bench": [
            ["paired-bench", "--source", f["coco"], "-o", out, "--n", "1"],
            ["paired-bench", "--source", miss, "-o", out],
        ],
        "demo": [["demo", "-o", out, "--size", "32"], ["demo", "-o", out, "--run", miss]],
        "data scrape": [
            ["data", "scrape", "--root", out, "--preset", "paper", *key],
            ["data", "scrape", *root, "--preset", "paper", "--key-file", miss],
        ],
        "data import": [
            ["data", "import", f["photos"], "--domain", "A", "--root", out],
            ["data", "import", miss, "--domain", "A", *root],
        ],
        "data dedup": [
            ["data", "dedup", *root, "--report", out / "d.md"],
            ["data", "dedup", "--root", miss],
        ],
        "data filter": [
            ["data", "filter", *root, "--no-person", "--report", out / "f.md"],
            ["data", "filter", "--root", miss],
        ],
        "data prepare": [
            ["data", "prepare", *root, "--out", out, "--test-a", "0"],
            ["data", "prepare", "--root", miss],
        ],
        "data status": [["data", "status", "--root", out], ["data", "status", "--root", miss]],
        "data credits": [
            ["data", "credits", *root, "--out", out / "c.md"],
            ["data", "credits", "--root", miss],
        ],
        "data synth": [
            ["data", "synth", "--source", f["coco"], "-o", out, "--n-train", "1", "--size", "16"],
            ["data", "synth", "--source", miss, "-o", out.parent.parent / "y"],
        ],
        # studio writes no files (photos are saved through the browser): missing input only
        "studio": [["studio", "--model", miss], ["studio", "--model", miss / "g.safetensors"]],
        "dof-train": [
            ["--preset", "cyclegan", "--data", f["data"], "--out", out, *tiny],
            ["--preset", "cyclegan", "--data", miss, "--out", out.parent.parent / "t", *tiny],
        ],
    }


@pytest.mark.slow
def test_every_subcommand_ends_a_user_mistake_in_one_message(files: dict[str, Path]) -> None:
    runs = [
        (name, kind, args)
        for name, (unwritable, missing) in _cases(files).items()
        for kind, args in (("unwritable output", unwritable), ("missing input", missing))
    ]

    def one(run: tuple[str, str, list[str | Path]]) -> tuple[str, str, int, str]:
        name, kind, args = run
        return name, kind, *dof(*args, program="dof-train" if name == "dof-train" else "dof")

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(one, runs))
    bad = [
        f"{name} ({kind}): exit {code}\n{output[-1500:]}"
        for name, kind, code, output in results
        if code == 0 or "Traceback" in output or not output.strip()
    ]
    assert not bad, "\n\n".join(bad)
    from dof_cli.data import data
    from dof_cli.main import COMMANDS
    from dof_cli.seg import seg

    names = {name for name, *_ in results}
    every = {"dof-train", *(set(COMMANDS) - {"data"}), *(f"data {c}" for c in data.commands)}
    every |= {f"seg {c}" for c in seg.commands if c != "run"}
    assert names == every  # a new subcommand needs its case here


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process holding the lock on tmp_path/out."""
    code = (
        "import sys; from dof_io import folder_lock\n"
        "with folder_lock(sys.argv[1], command='dof seg photos -o out'):\n"
        "    print('locked', flush=True); sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "out")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield proc, tmp_path / "out"
    proc.kill()
    proc.wait()


def test_a_second_writer_of_an_output_folder_stops_naming_the_first(
    files: dict[str, Path], holder: tuple[subprocess.Popen[str], Path]
) -> None:
    proc, out = holder
    for args in (
        ["seg", files["photo"], "-o", out],
        ["smooth", files["photo"], "--masks", files["masks"], "-o", out, "--method", "box"],
        ["data", "import", files["photos"], "--domain", "A", "--root", out],
    ):
        code, output = dof(*args)
        assert code == 1, output
        assert f"is in use by pid {proc.pid} on host" in output, output
        assert "(dof seg photos -o out)" in output and "Traceback" not in output
    assert not list(out.glob("*.png"))  # nothing was written beside the holder


def test_seg_removes_the_temporary_files_a_killed_run_left(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "masks"
    out.mkdir()
    left = [out / ".0.k3j_9x2q.png", out / ".1.ab12cd34.png"]  # what a SIGKILL mid-write leaves
    for path in left:
        path.write_bytes(b"\x89PNG half a mask" * 1000)
    (out / ".notes").write_text("the user's own hidden file")
    code, output = dof("seg", files["photos"], "-o", out)
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".dof.lock")) == [
        ".notes",
        "0.png",
        "1.png",
    ]


def test_smooth_names_the_broken_mask_not_the_photo(files: dict[str, Path], tmp_path: Path) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    (masks / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, output = dof(
        "smooth", files["photo"], "--masks", masks, "-o", tmp_path / "out", "--method", "box"
    )
    assert code == 1 and "Traceback" not in output
    assert f"{masks / '0.png'}: " in output


def test_report_rejects_a_mask_of_another_size_and_a_1x1_photo(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for name, size, mask_size in (("good", 40, 40), ("other", 40, 32), ("dot", 1, 1)):
        dof_io.write_rgb(
            tmp_path / "test" / "images" / f"{name}.png",
            rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        )
        dof_io.write_rgb(
            tmp_path / "test" / "masks" / f"{name}.png",
            np.full((mask_size, mask_size, 3), 255, np.uint8),
        )
    code, output = dof(
        "report", "--test", tmp_path / "test", "-o", tmp_path / "r", "--device", "cpu"
    )
    assert code == 1 and "Traceback" not in output, output
    assert "the mask is 32x32 but its photo is 40x40" in output
    assert "dot.png is 1x1: too small to evaluate" in output
    assert "1 photos in the report, 2 failed" in output


def test_prepare_skips_a_damaged_photo_and_a_rerun_skips_what_is_done(
    files: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "dataset"  # its own: other tests filter the shared one
    with Manifest(root, create=True) as manifest:
        import_folder(manifest, files["photos"], "A")
        import_folder(manifest, files["data"] / "trainB", "B")
        damaged = manifest.file_of(manifest.photos(domain="A")[0])
    damaged.write_bytes(damaged.read_bytes()[:100])
    code, output = dof("data", "prepare", "--root", root, "--test-a", "0", "--size", "16")
    assert code == 1 and "Traceback" not in output, output
    assert "3 written, 0 up to date, 0 deleted, 1 failed" in output
    assert f"{damaged}: " in output
    code, output = dof("data", "prepare", "--root", root, "--test-a", "0", "--size", "16")
    assert "0 written, 3 up to date" in output, output


@pytest.mark.parametrize("command", ["seg", "smooth"])
def test_a_12000_px_photo_is_refused_within_the_memory_budget(
    files: dict[str, Path], tmp_path: Path, command: str
) -> None:
    from PIL import Image

    huge = tmp_path / "photos" / "huge.png"
    huge.parent.mkdir()
    Image.new("1", (12000, 12000)).save(huge)  # a few KB, 144 MP
    # lens blur needs about 72 bytes a pixel (9.7 GiB here), segmentation 28 (3.8 GiB)
    extra = ["--masks", files["masks"], "--method", "lens"] if command == "smooth" else []
    budget = "4GiB" if command == "smooth" else "2GiB"
    code, output = dof(command, huge, "-o", tmp_path / "out", "--max-memory", budget, *extra)
    assert code == 1 and "Traceback" not in output, output
    assert f"{huge}: 12000x12000 (144 MP)" in output
    assert f"over the budget of {budget[0]}.0 GiB: too large for the memory budget" in output
    assert "lower the size or raise --max-memory" in output
