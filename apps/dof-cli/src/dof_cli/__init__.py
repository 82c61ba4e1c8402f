"""dof-cli: the `dof` and `dof-train` command lines. Wiring only; the logic lives in packages."""
