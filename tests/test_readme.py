"""The README's promises: exactly two set-up commands, CI runs the test one verbatim, and every
screenshot and document it shows exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _commands() -> list[str]:
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_two_setup_commands_one_line_each():
    commands = _commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert "streamlit run app.py" in commands[0]
    assert "pytest" in commands[1] and "chromium" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci
    assert ci[0].startswith("#!") and "set -euo pipefail" in ci


def test_every_linked_file_exists():
    links = re.findall(r"\]\(((?:docs|pages|core)/[^)#]+)\)", README)
    assert len(links) >= 8
    missing = [p for p in links if not (ROOT / p).is_file()]
    assert not missing, missing
