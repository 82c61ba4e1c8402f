"""`dof studio`: the local web page lives in its own app, dof-studio, so that the command line
does not pull a web stack. This module hands over to it, or says how to install it."""

from __future__ import annotations

import click

WEB_MODULES = ("dof_studio", "fastapi", "starlette", "uvicorn")


def _missing(module: str) -> click.Command:
    @click.command(
        "studio",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    def studio() -> None:
        """A local web page to open a portrait, pick the subject and save (needs dof-studio)."""
        raise click.ClickException(
            f"dof studio needs the dof-studio app ({module} is not installed): "
            "`pip install dof-studio`, or in the dof repository `uv sync --all-packages`"
        )

    return studio


def _studio() -> click.Command:
    try:
        from dof_studio.cli import studio
    except ModuleNotFoundError as err:
        module = (err.name or "").split(".")[0]
        if module not in WEB_MODULES:
            raise
        return _missing(module)
    return studio


studio = _studio()
