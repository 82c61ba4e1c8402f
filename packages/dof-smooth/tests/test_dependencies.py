"""dof-smooth's source imports torch and the standard library only (it ships alone); its
optional file layer, dof_smooth.files (the `files` extra), adds dof-io and numpy, and nothing
else imports it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import dof_smooth

ALLOWED = {"torch", "dof_smooth", "__future__"}
#: the `files` extra's module and what it may import besides
FILE_LAYER = ("files.py", {"dof_io", "numpy"})


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
            allowed = ALLOWED | (FILE_LAYER[1] if path.name == FILE_LAYER[0] else set())
            for name in names:
                top = name.split(".")[0]
                if top not in allowed and top not in sys.stdlib_module_names:
                    found.setdefault(path.name, set()).add(top)
    assert not found, f"imports beyond torch: {found}"


def test_public_names_exist() -> None:
    for name in dof_smooth.__all__:
        assert hasattr(dof_smooth, name), name


def test_import_does_not_load_the_file_layer() -> None:
    modules = "('dof_io', 'dof_smooth.files')"
    code = f"import sys, dof_smooth; print(*(m in sys.modules for m in {modules}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
