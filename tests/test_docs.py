"""Every command has help text, and the README mentions every command and option."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scrsearch.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


COMMANDS = list(_commands(main))


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_and_readme_mention(name, command):
    assert (command.help or "").strip(), f"`scrsearch {name}` has no help text"
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert re.search(rf"scrsearch (--home \S+ )?{re.escape(name)}\b", README), (
        f"the README has no example of `scrsearch {name}`"
    )


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_is_in_the_readme(name, command):
    missing = [
        opt
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for opt in param.opts
        if opt.startswith("--") and opt not in ("--help", "--version") and opt not in README
    ]
    assert not missing, f"`scrsearch {name}` options missing from the README: {missing}"
