"""Shared fixtures: a fake Flickr built from the coco-person photos, fast clients and settings.

Everything talks to a real HTTP server on 127.0.0.1 (dof_data.testing.FakeFlickr); timeouts and
backoffs are tiny so the fault tests stay quick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dof_data import ApiKey, DownloadConfig, FlickrClient, Manifest, RetryPolicy, TokenBucket
from dof_data.testing import FakeFlickr, FakePhoto, photos_from_folder

KEY = "f00dfacecafe0123456789abcdef4242"
FAST_RETRY = RetryPolicy(attempts=4, base=0.005, cap=0.02)


@pytest.fixture
def key() -> str:
    """The API key the fake accepts (what a user would put in DOF_FLICKR_API_KEY)."""
    return KEY


@pytest.fixture
def coco_photos(coco_person: Path) -> Callable[..., list[FakePhoto]]:
    """``coco_photos(count, text=..., first_id=...)``: fresh FakePhotos of the real photos."""

    def make(
        count: int | None = None, *, text: str = "portrait", first_id: int = 1000
    ) -> list[FakePhoto]:
        return photos_from_folder(coco_person / "images", count=count, text=text, first_id=first_id)

    return make


@pytest.fixture
def fast_client() -> Callable[..., FlickrClient]:
    """``fast_client(fake, **overrides)``: no rate-limit waits, millisecond backoffs."""

    def make(fake: FakeFlickr, **kwargs: object) -> FlickrClient:
        options: dict[str, object] = {
            "base_url": fake.url,
            "rate": TokenBucket(rate_per_hour=1e9, burst=1000),
            "retry": FAST_RETRY,
            "timeout": 2.0,
            "seed": 0,
        }
        options.update(kwargs)
        return FlickrClient(ApiKey(KEY), **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def fast_download() -> Callable[..., DownloadConfig]:
    """``fast_download(**overrides)``: 3 workers, 0.5 s timeout, millisecond backoffs."""

    def make(**kwargs: object) -> DownloadConfig:
        options: dict[str, object] = {"workers": 3, "timeout": 0.5, "retry": FAST_RETRY, "seed": 0}
        options.update(kwargs)
        return DownloadConfig(**options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def manifest(tmp_path: Path) -> Iterator[Manifest]:
    """An empty manifest in tmp_path/dataset."""
    with Manifest(tmp_path / "dataset", create=True) as opened:
        yield opened
