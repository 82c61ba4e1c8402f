"""Generated blocks in Markdown pages: replaced between their markers, nothing else touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from dof_eval import DatasetError, read_block, replace_block, write_block

PAGE = """# Title
<!-- begin generated: t -->
old
<!-- end generated: t -->
tail
"""


def test_replace_keeps_everything_outside_the_markers() -> None:
    new = replace_block(PAGE, "t", "| a |\n| 1 |")
    assert new == PAGE.replace("old\n", "| a |\n| 1 |\n")
    assert read_block(new, "t") == "| a |\n| 1 |\n"
    assert replace_block(new, "t", "old\n") == PAGE  # a round trip


def test_an_empty_body_leaves_the_markers_adjacent() -> None:
    assert read_block(replace_block(PAGE, "t", ""), "t") == ""


@pytest.mark.parametrize(
    "page",
    [
        "# no markers\n",
        "<!-- end generated: t -->\n<!-- begin generated: t -->\n",
        PAGE + PAGE,
    ],
)
def test_missing_swapped_or_repeated_markers_are_refused(page: str) -> None:
    with pytest.raises(DatasetError, match="begin generated: t"):
        replace_block(page, "t", "x")


def test_other_blocks_are_not_touched() -> None:
    page = PAGE + PAGE.replace(": t -->", ": u -->").replace("old", "keep")
    new = replace_block(page, "t", "x")
    assert read_block(new, "u") == "keep\n" and read_block(new, "t") == "x\n"


def test_write_block_names_the_file_and_writes_nothing_on_error(tmp_path: Path) -> None:
    page = tmp_path / "r.md"
    page.write_text("nothing\n")
    with pytest.raises(DatasetError, match=str(page)):
        write_block(page, "t", "x")
    assert page.read_text() == "nothing\n"
    page.write_text(PAGE)
    write_block(page, "t", "new")
    assert read_block(page.read_text(), "t") == "new\n"


def test_block_names_are_checked() -> None:
    with pytest.raises(DatasetError, match="lowercase"):
        read_block(PAGE, "T -->")
