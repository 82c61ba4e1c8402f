"""`python -m dof_studio` = `dof-studio`."""

from dof_studio.cli import main

main()
