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
