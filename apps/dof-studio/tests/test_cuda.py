"""--device cuda: the same page results as on the CPU (run by `nox -s cuda` where a GPU exists)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dof_io
from dof_studio import RenderSettings, Studio, StudioConfig

pytestmark = pytest.mark.cuda


def test_open_preview_and_full_render_on_the_gpu_match_the_cpu(ballpark_photo: Path) -> None:
    data = ballpark_photo.read_bytes()
    results = {}
    for device in ("cpu", "cuda"):
        studio = Studio(StudioConfig(device=device, preview_size=320))
        photo = studio.open(data, ballpark_photo.name)
        settings = RenderSettings("lens", 12.0, 2.0, frozenset({1}))
        preview = dof_io.decode_rgb(studio.preview(photo, settings), "preview.jpg")
        full = studio.render_full(photo, settings, "png", lambda *_: None)
        results[device] = (photo.people, preview.astype(int), dof_io.decode_rgb(full, "f.png"))
    (cpu_people, cpu_preview, cpu_full), (gpu_people, gpu_preview, gpu_full) = results.values()
    assert gpu_people == cpu_people
    assert np.abs(gpu_preview - cpu_preview).mean() < 1
    assert gpu_full.shape == cpu_full.shape
    assert np.abs(gpu_full.astype(int) - cpu_full.astype(int)).max() <= 2
