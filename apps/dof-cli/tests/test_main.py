from __future__ import annotations

import importlib

from click.testing import CliRunner

from dof_cli.main import COMMANDS, dof


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(dof, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert name in result.output


def test_registry_points_at_click_commands() -> None:
    for name, (module, attribute, _) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert command.name is not None, name


def test_unknown_subcommand_is_refused() -> None:
    result = CliRunner().invoke(dof, ["blurr"])
    assert result.exit_code != 0
    assert "No such command" in result.output


def test_studio_without_the_web_app_says_how_to_install_it(monkeypatch) -> None:
    """dof-cli does not depend on dof-studio: without it, `dof studio` explains, no traceback."""
    import sys

    import dof_cli.studio

    monkeypatch.setitem(sys.modules, "dof_studio", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "dof_studio.cli", None)
    try:
        importlib.reload(dof_cli.studio)
        result = CliRunner().invoke(dof, ["studio", "--port", "0"])
    finally:
        monkeypatch.undo()
        importlib.reload(dof_cli.studio)
    assert result.exit_code == 1
    assert "needs the dof-studio app" in result.output
    assert "pip install dof-studio" in result.output
    assert "Traceback" not in result.output


def test_command_line_names_every_value_in_declaration_order() -> None:
    import click

    from dof_cli.common import command_line

    lines = []

    @click.command("bench")
    @click.option("-o", "--out")
    @click.option("--radius", default=8.0)
    @click.option("--seed", default=0)
    @click.option("--fast/--slow", default=True)
    @click.option("--all", "every", is_flag=True)
    @click.option("--gen", multiple=True)
    @click.option("--pair", type=(str, int))
    @click.option("--secret")
    @click.pass_context
    def bench(ctx: click.Context, **_: object) -> None:
        lines.append(command_line(ctx, skip=("secret",)))

    args = ["-o", "x y", "--slow", "--gen", "a", "--gen", "b", "--pair", "p", "3", "--secret", "k"]
    assert CliRunner().invoke(bench, args).exit_code == 0
    assert lines == ["bench -o 'x y' --radius 8 --seed 0 --slow --gen a --gen b --pair p 3"]


def test_names_the_app_spells_out_for_a_quick_help_are_the_packages() -> None:
    """`--help` must not import torch, so a few choices are written in the app: they must be
    the packages' own (one home: the package; the app's copies are checked here)."""
    import dof_seg
    import dof_smooth
    from dof_cli import common, smooth

    assert tuple(dof_smooth.METHODS) == smooth.METHODS
    assert smooth.COMPOSITES == dof_smooth.COMPOSITES
    assert set(common.SEGMENTER_NAMES) == set(dof_seg.SEGMENTERS)
