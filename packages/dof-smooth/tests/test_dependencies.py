"""dof-smooth's source imports torch and the standard library only (it ships alone)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import dof_smooth

ALLOWED = {"torch", "dof_smooth", "__future__"}


def test_source_imports_only_torch() -> None:
    src = Path(dof_smooth.__file__).parent
    found: dict[str, set[str]] = {}
    for path in sorted(src.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in ALLOWED and top not in sys.stdlib_module_names:
                    found.setdefault(path.name, set()).add(top)
    assert not found, f"imports beyond torch: {found}"


def test_public_names_exist() -> None:
    for name in dof_smooth.__all__:
        assert hasattr(dof_smooth, name), name
