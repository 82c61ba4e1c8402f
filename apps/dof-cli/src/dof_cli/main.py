"""The `dof` command group.

Subcommands live in their own modules and are imported only when used, so `dof --help` stays
quick (torch is not imported to print help). The registry is a plain dict: name -> (module,
attribute, one-line help).
"""

from __future__ import annotations

import importlib

import click

from dof_cli.common import CONTEXT
from dof_cli.errors import UserErrorGroup

COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("dof_cli.demo", "demo", "Run the whole pipeline on the bundled photos (offline)."),
    "data": ("dof_cli.data", "data", "Build the unpaired dataset: scrape, import, dedup, prepare."),
    "seg": ("dof_cli.seg", "seg", "Person masks as RGBA PNGs; evaluate and fine-tune segmenters."),
    "smooth": ("dof_cli.smooth", "smooth", "The smoothing baseline: blur the background."),
    "apply": ("dof_cli.apply", "apply", "Run a trained generator on photos of any size."),
    "export": ("dof_cli.apply", "export", "Export a run's generator as safetensors."),
    "report": ("dof_cli.report", "report", "Curves, gallery and metrics as an HTML report."),
    "paired-bench": ("dof_cli.report", "paired_bench", "Build and score the paired benchmark."),
    "studio": ("dof_cli.studio", "studio", "A local web page: open, pick the subject, save."),
}


class LazyGroup(UserErrorGroup):
    """A click group whose subcommands are imported on first use; a user's mistake in any of
    them ends in one line (dof_cli.errors)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(package_name="dof-cli")
def dof() -> None:
    """dof: shallow depth of field for portraits.

    Start with `dof demo`, which needs no downloads. Each subcommand has its own --help.
    """
