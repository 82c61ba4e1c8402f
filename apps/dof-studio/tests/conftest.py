"""Shared fixtures of the studio tests: a studio, a client that talks to it, real photos."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from dof_studio import Studio, StudioConfig, create_app

#: a CC BY 2.0 coco-person photo (640x420): a batter and a pitcher, far apart; selfie finds both
#: (https://www.flickr.com/ via MS-COCO; the URL is in coco-person/manifest.csv)
BALLPARK = "000000360452"


@pytest.fixture(autouse=True, scope="session")
def one_thread() -> Iterator[None]:
    """Small renders on a shared 2-core CPU run steadier, and deterministically, on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def studio() -> Studio:
    """A studio whose previews are smaller than the coco photos, so they are downscaled."""
    return Studio(StudioConfig(preview_size=320, keep_photos=8))


@pytest.fixture(scope="session")
def client(studio: Studio) -> Iterator[TestClient]:
    with TestClient(create_app(studio), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def ballpark_photo(coco_person: Path) -> Path:
    return coco_person / "images" / f"{BALLPARK}.jpg"


def _upload(client: TestClient, data: bytes, name: str = "photo.jpg") -> dict:
    response = client.post(
        "/api/photos",
        content=data,
        headers={"Content-Type": "application/octet-stream", "X-Filename": name},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="session")
def upload() -> Callable[..., dict]:
    """upload(client, data, name) -> the photo's info, as the page receives it."""
    return _upload


@pytest.fixture(scope="session")
def ballpark(client: TestClient, ballpark_photo: Path) -> dict:
    """The ballpark photo, opened once in the shared studio: its info as the page receives it."""
    return _upload(client, ballpark_photo.read_bytes(), ballpark_photo.name)


@pytest.fixture(scope="session")
def tiny_generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An exported generator (ngf 4, two blocks, random weights), as `dof export` writes it."""
    from dof_gan import GeneratorConfig, ResnetGenerator, export_generator
    from dof_gan.checkpoint import save_checkpoint

    folder = tmp_path_factory.mktemp("generator")
    config = GeneratorConfig(ngf=4, n_blocks=2)
    torch.manual_seed(0)
    state = {"networks": {"G": ResnetGenerator(config).state_dict()},
             "config": {"generator": asdict(config), "preset": "mask-overlay"}}  # fmt: skip
    checkpoint = save_checkpoint(state, folder / "tiny.pt")
    return export_generator(checkpoint, folder / "G.safetensors")


def _core(mask: np.ndarray, depth: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.distance_transform_edt(mask) > depth


@pytest.fixture(scope="session")
def core() -> Callable[[np.ndarray, int], np.ndarray]:
    """core(mask, depth): the pixels more than ``depth`` pixels inside ``mask`` (bool, (H, W))."""
    return _core
