from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from dof_eval import (
    DofEvalError,
    LogFormatError,
    ema_smooth,
    fig15_cycle_loss,
    fig16_mask_loss,
    plot_curves,
    plot_loss_grid,
    read_run,
)


def test_read_run_gives_aligned_arrays(make_run) -> None:
    run = read_run(make_run("base", "cyclegan", steps=30, per_epoch=10))
    assert run.name == "base" and run.preset == "cyclegan"
    assert run.steps.tolist() == list(range(1, 31))
    assert set(run.epochs.tolist()) == {1.0, 2.0, 3.0}
    assert run.losses["cycle_A"].shape == (30,)
    np.testing.assert_allclose(run.series("cycle"), run.losses["cycle_A"] + run.losses["cycle_B"])


def test_reading_is_tolerant_of_what_a_running_trainer_leaves(tmp_path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    lines = [
        json.dumps({"step": 1, "epoch": 1, "losses": {"cycle_A": 1.0, "D_A": "oops"}}),
        json.dumps({"step": 2, "losses": {"cycle_A": 0.8, "mask_A": 0.1}}),
        "[1, 2, 3]",
        json.dumps({"epoch": 1}),
        json.dumps({"step": 3, "losses": [1, 2]}),
        json.dumps({"step": 2, "epoch": 1, "losses": {"cycle_A": 0.7}}),  # resumed: rewrites 2
        '{"step": 4, "epoch": 1, "loss',  # half-written last line
    ]
    (folder / "log.jsonl").write_text("\n".join(lines))
    run = read_run(folder)
    assert run.name == "run" and run.preset is None and run.config == {}
    assert run.skipped_lines == 3
    assert run.steps.tolist() == [1.0, 2.0, 3.0]
    assert run.losses["cycle_A"][1] == 0.7
    assert math.isnan(run.losses["D_A"][0]) and math.isnan(run.losses["cycle_A"][2])
    assert np.isnan(run.series("mask_B")).all()  # a known term never logged
    with pytest.raises(KeyError, match="known: "):
        run.series("nonsense")


def test_a_folder_without_a_log_is_an_error_that_says_what_to_pass(tmp_path) -> None:
    with pytest.raises(LogFormatError, match="dof-train --out"):
        read_run(tmp_path)
    (tmp_path / "log.jsonl").write_text("not json\n")
    with pytest.raises(LogFormatError, match="no valid step record"):
        read_run(tmp_path)


def test_overlay_comes_from_the_config_or_the_preset(make_run) -> None:
    assert read_run(make_run("a", "mask-overlay")).overlay
    assert read_run(make_run("b", "combined")).overlay
    assert not read_run(make_run("c", "mask-loss")).overlay
    explicit = read_run(
        make_run("d", "custom", config_extra={"mask_overlay": True, "overlay_at_test": False})
    )
    assert explicit.overlay and not explicit.overlay_at_test


def test_fractional_epochs_spread_steps_inside_each_epoch(make_run) -> None:
    run = read_run(make_run("e", "cyclegan", steps=20, per_epoch=10))
    epochs = run.fractional_epochs()
    # 1-based epochs and steps in the log: the 10th step completes epoch 1
    assert epochs[0] == pytest.approx(0.1) and epochs[9] == pytest.approx(1.0)
    assert epochs[14] == pytest.approx(1.5) and epochs[19] == pytest.approx(2.0)
    assert np.all(np.diff(epochs) > 0)


def test_a_run_stopped_mid_epoch_ends_mid_epoch(make_run) -> None:
    run = read_run(make_run("f", "cyclegan", steps=15, per_epoch=10))
    assert run.fractional_epochs()[-1] == pytest.approx(1.5)


def test_ema_smoothing() -> None:
    assert np.allclose(ema_smooth(np.full(5, 3.0), 0.9), 3.0)  # debiased: no start-up dip
    values = np.array([1.0, np.nan, 3.0])
    assert np.array_equal(ema_smooth(values, 0.0), values, equal_nan=True)
    smoothed = ema_smooth(np.array([0.0, 1.0]), 0.5)
    assert smoothed[1] == pytest.approx((0.5 * 1.0) / (1 - 0.5**2))
    with pytest.raises(DofEvalError, match=r"\[0, 1\)"):
        ema_smooth(values, 1.0)


def test_curves_are_written_as_png_and_svg_with_readable_legends(make_run, tmp_path) -> None:
    runs = [
        read_run(make_run("plain", "cyclegan")),
        read_run(make_run("masked", "mask-loss", scale=0.5)),
    ]
    png, svg = plot_curves(runs, ["cycle_A", "cycle_B"], tmp_path / "out" / "cycle", axis="epoch")
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 300
    text = svg.read_text()
    assert "plain (cyclegan): cycle loss A→B→A (L1)" in text
    assert "masked (mask-loss)" in text and "epoch" in text


def test_paper_figures_15_and_16(make_run, tmp_path) -> None:
    runs = [read_run(make_run("m1", "mask-loss")), read_run(make_run("m2", "mask-overlay"))]
    png15, svg15 = fig15_cycle_loss(runs, tmp_path)
    png16, svg16 = fig16_mask_loss(runs, tmp_path)
    assert png15.name == "fig15_cycle_loss.png" and png16.is_file()
    assert "Fig. 15" in svg15.read_text()
    text16 = svg16.read_text()
    assert "m1 (mask-loss), without overlay" in text16
    assert "m2 (mask-overlay), with overlay" in text16


def test_a_figure_with_no_data_says_so(make_run, tmp_path) -> None:
    run = read_run(make_run("nomask", "cyclegan", drop=("mask_A", "mask_B")))
    _, svg = fig16_mask_loss([run], tmp_path)
    assert "no run logged these terms" in svg.read_text()


def test_svg_output_is_reproducible(make_run, tmp_path) -> None:
    runs = [read_run(make_run("r", "cyclegan"))]
    _, first = plot_curves(runs, "cycle", tmp_path / "a")
    _, second = plot_curves(runs, "cycle", tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()


def test_loss_grid_has_a_panel_per_term(make_run, tmp_path) -> None:
    runs = [read_run(make_run("g1", "combined")), read_run(make_run("g2", "cyclegan"))]
    _, svg = plot_loss_grid(runs, tmp_path / "grid")
    text = svg.read_text()
    for label in ("discriminator D_A", "mask loss on B", "total generator loss"):
        assert label in text
