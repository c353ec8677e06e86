"""The README is checked against the code, so it cannot drift (datasette's test_docs habit)."""

from __future__ import annotations

import re
from pathlib import Path

from reviewcast.cli import build_parser
from reviewcast.config import SETTINGS
from reviewcast.site import NGINX_SNIPPET

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_has_a_doc_line_and_a_readme_row() -> None:
    for f in SETTINGS:
        assert f.metadata.get("doc"), f"setting {f.name} has no doc line"
        row = re.search(rf"^\| `{f.name}` \|.*\| (.*) \|$", README, re.M)
        assert row, f"README lacks a row for {f.name}"
        assert row.group(1) == f.metadata["doc"], f"README's doc for {f.name} differs from config"


def test_every_command_is_in_the_readme() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert re.search(rf"^\| `{name}\b", README, re.M), f"README lacks the command {name}"


def test_the_readme_nginx_snippet_is_the_tested_one() -> None:
    assert NGINX_SNIPPET.strip() in README


def test_the_two_setup_commands_are_there() -> None:
    assert re.search(r"^python3 -m venv .*reviewcast render$", README, re.M)
    assert re.search(r"^\.venv/bin/python -m pytest$", README, re.M)
