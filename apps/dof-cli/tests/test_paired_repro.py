"""The paired benchmark reproduces committed numbers exactly, and writes them into the docs.

`tests/data/paired_small.md` is what `dof paired-bench` printed for the small configuration
below (4 items, 96 px) with the code of its commit. A change to the benchmark's data, the blurs,
the composites or the `selfie` masks that moves any printed digit fails here: regenerate the file
on purpose (and docs/results.md with `--docs`) when a change is meant to move the numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dof_cli.main import dof

EXPECTED = Path(__file__).parent / "data" / "paired_small.md"
SMALL = ["--n", "4", "--size", "96", "--radius", "4", "--methods", "box,lens",
         "--masks", "gt,selfie", "--device", "cpu"]  # fmt: skip
DOCS = """# Results

Some text the command must keep.

<!-- begin generated: paired-bench -->
an old table
<!-- end generated: paired-bench -->

More text.
"""


def test_small_configuration_reproduces_the_committed_table(
    coco_person: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "results.md"
    docs.write_text(DOCS)
    out = tmp_path / "paired"
    args = ["paired-bench", "--source", str(coco_person), "-o", str(out), *SMALL, "--docs", docs]
    result = CliRunner().invoke(dof, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    expected = EXPECTED.read_text()
    assert result.output == expected
    assert (out / "paired.md").read_text() == expected
    page = docs.read_text()
    assert "an old table" not in page
    assert page.startswith("# Results\n\nSome text the command must keep.\n")
    assert page.endswith("<!-- end generated: paired-bench -->\n\nMore text.\n")
    assert expected in page
    meta = json.loads((out / "paired.json").read_text())
    assert f"--source {coco_person} -o {out} --n 4 --size 96 --radius 4 --seed 0" in page
    assert meta["command"] in page
    assert set(meta["versions"]) == {"torch", "numpy", "pillow", "scipy"}


def test_docs_without_the_markers_are_refused_by_name(coco_person: Path, tmp_path: Path) -> None:
    docs = tmp_path / "results.md"
    docs.write_text("# Results\n\nno markers here\n")
    args = ["paired-bench", "--source", str(coco_person), "-o", str(tmp_path / "p"), *SMALL,
            "--n", "1", "--docs", str(docs)]  # fmt: skip
    result = CliRunner().invoke(dof, args)
    assert result.exit_code == 1
    assert str(docs) in result.output and "<!-- begin generated: paired-bench -->" in result.output
    assert docs.read_text() == "# Results\n\nno markers here\n"


def test_each_mask_source_names_its_refinement(coco_person: Path, tmp_path: Path) -> None:
    """`--masks selfie:none,selfie:guided` scores one segmenter with two refinements as two
    rows, side by side in one run; `--docs` may name several pages."""
    pages = [tmp_path / "a.md", tmp_path / "b.md"]
    for page in pages:
        page.write_text(DOCS)
    args = ["paired-bench", "--source", str(coco_person), "-o", str(tmp_path / "p"),
            "--n", "2", "--size", "96", "--radius", "4", "--methods", "lens",
            "--composites", "halo_free", "--masks", "selfie:none,selfie:guided",
            "--device", "cpu", "--docs", str(pages[0]), "--docs", str(pages[1])]  # fmt: skip
    result = CliRunner().invoke(dof, args)
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "p" / "paired.json").read_text())["rows"]
    scored = {row["masks"]: row["psnr_band"] for row in rows if row["method"] != "none (input)"}
    assert set(scored) == {"selfie:none", "selfie:guided"}
    assert scored["selfie:none"] != scored["selfie:guided"]
    assert all("| lens + halo_free | selfie:guided |" in page.read_text() for page in pages)
    bad = CliRunner().invoke(
        dof, [*args[:3], "-o", str(tmp_path / "q"), "--masks", "selfie:sharpen", "--device", "cpu"]
    )
    assert bad.exit_code == 2 and "selfie:sharpen" in bad.output
