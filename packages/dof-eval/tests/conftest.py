"""Fixtures for dof-eval's tests: small training logs and a real headless browser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dof_eval.testing import find_chromium, write_run


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., Path]:
    """make_run(name, preset, **options) -> a run folder under tmp_path/runs/."""

    def make(name: str, preset: str, **kwargs: Any) -> Path:
        return write_run(tmp_path / "runs" / name, name, preset, **kwargs)

    return make


@pytest.fixture(scope="session")
def open_in_browser() -> Callable[[Path], list[tuple[str, bool, int]]]:
    """Open an HTML file in headless chromium: (src, complete, naturalWidth) of each <img>."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium binary found (apt-get install chromium, or set DOF_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

    def check(page_path: Path) -> list[tuple[str, bool, int]]:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(page_path.resolve().as_uri())
                page.wait_for_load_state("load")
                result = page.eval_on_selector_all(
                    "img",
                    "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])",
                )
            finally:
                browser.close()
        return [(str(s), bool(c), int(w)) for s, c, w in result]

    return check
