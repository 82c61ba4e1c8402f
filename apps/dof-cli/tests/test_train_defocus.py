"""`dof-train --generator defocus`: the resolved config a dry run prints, and what is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dof_cli.train import main


def _dry(tmp_path: Path, *args: str) -> tuple[int, str]:
    base = ["--preset", "combined", "--data", "photos", "--out", str(tmp_path / "run"), "--dry-run"]
    result = CliRunner().invoke(main, [*base, *args])
    return result.exit_code, result.output


def test_a_dry_run_shows_the_defocus_defaults_and_the_options(tmp_path: Path) -> None:
    code, output = _dry(tmp_path, "--generator", "defocus", "--size", "64", "--prior", "selfie",
                        "--max-radius", "6", "--map-width", "8", "--map-depth", "3",
                        "--one-sided", "--d-augment", "translation")  # fmt: skip
    assert code == 0, output
    config = json.loads(output)
    wanted = {"kind": "defocus", "prior": "selfie", "max_radius": 6.0, "width": 8, "depth": 3,
              "work_size": 64}  # fmt: skip
    assert {key: config["generator"][key] for key in wanted} == wanted
    assert (config["loss"]["lambda_idt"], config["loss"]["lambda_focus"]) == (0.0, 5.0)
    assert config["one_sided"] is True and config["loss"]["d_augment"] == "translation"
    code, output = _dry(tmp_path, "--generator", "defocus", "--lambda-focus", "2")
    assert code == 0, output
    assert json.loads(output)["loss"]["lambda_focus"] == 2.0  # given: wins over the default
    assert not (tmp_path / "run").exists()


def test_the_help_names_the_defocus_defaults() -> None:
    from dof_gan.options import DEFOCUS_DEFAULTS

    helps = {p.name: getattr(p, "help", "") or "" for p in main.params}
    said = re.search(r"\((\d+(?:\.\d+)?)\)", helps["lambda_focus"])
    assert said is not None and float(said[1]) == DEFOCUS_DEFAULTS["lambda_focus"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--generator", "bogus"], "--generator: must be one of resnet, defocus; got 'bogus'"),
        (["--prior", "selfie"], "--prior: only the defocus generator reads"),
        (["--one-sided"], "--one-sided: needs --generator defocus"),
        (["--generator", "defocus", "--d-augment", "flip"], "--d-augment: unknown policy flip; "
         "choose from translation, cutout"),
    ],
)  # fmt: skip
def test_bad_defocus_options_are_refused_before_any_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, output = _dry(tmp_path, *args)
    assert code == 2, output
    assert message in output
    assert not (tmp_path / "run").exists()
