"""The dependency rule: core/ never imports streamlit (nor ui/ or pages/)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("streamlit", "ui", "pages", "plotly")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_ui_layers():
    files = sorted((ROOT / "core").rglob("*.py"))
    assert files, "core/ has no Python files"
    offenders = {
        str(f.relative_to(ROOT)): sorted(imported_modules(f) & set(FORBIDDEN)) for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_ui_never_imports_pages():
    for f in sorted((ROOT / "ui").rglob("*.py")):
        assert "pages" not in imported_modules(f), f


def test_the_checker_sees_streamlit(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom streamlit import session_state\n")
    assert "streamlit" in imported_modules(bad)
