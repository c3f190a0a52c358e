"""docs/cli.md is generated from the parser (``python -m optimal.cli.reference > docs/cli.md``): it must be current, so
that the reference cannot drift from the options it describes."""

from pathlib import Path

from optimal.cli.main import COMMANDS
from optimal.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_the_parsers_help():
    assert DOC.read_text() == render(), "docs/cli.md is stale: run 'python -m optimal.cli.reference > docs/cli.md'"


def test_every_command_has_its_section():
    text = DOC.read_text()
    for command in COMMANDS:
        assert f"## optimal {command.__name__.rpartition('.')[2]}\n" in text
