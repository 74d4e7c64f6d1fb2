"""A command an installed plugin adds through `register_commands`: listed by `bench --help` (still without torch or
pandas), runnable, and unable to take a built-in command's name."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchsuite.registry.loading import LOAD_ENV
from helpers.fakedist import fake_install
from helpers.startup import run_bench

GREETER = '''
import click

from benchsuite import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("name")
    def greet(name):
        """Greet NAME from a plugin."""
        click.echo(f"hello {name}, from a plugin")

    @cli.command("run")
    def shadow():
        """A plugin's command under a built-in's name."""
        click.echo("the plugin's run")
'''


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    monkeypatch.setenv(LOAD_ENV, "greeter")  # the child inherits it
    return [fake_install(tmp_path / "site", "benchsuite-greeter", "1.0", {"greeter": "benchsuite_greeter"},
                         {"benchsuite_greeter": GREETER})]


def _commands(help_text: str) -> dict[str, str]:
    """The Commands section of a --help page: name -> first words of its help."""
    section = help_text.split("Commands:")[1]
    return {line.split()[0]: " ".join(line.split()[1:]) for line in section.splitlines() if line.strip()}


def test_plugin_command_is_listed_by_help_and_runs(installed: list[Path]) -> None:
    code, stdout, stderr, imported = run_bench(["--help"], installed)
    assert code == 0, stderr
    commands = _commands(stdout)
    assert commands["greet"] == "Greet NAME from a plugin."
    assert not {"torch", "pandas"} & set(imported)
    code, stdout, _, _ = run_bench(["greet", "Ada"], installed)
    assert (code, stdout) == (0, "hello Ada, from a plugin\n")


def test_plugin_command_cannot_take_a_built_in_name(installed: list[Path]) -> None:
    code, stdout, stderr, _ = run_bench(["--help"], installed)
    assert code == 0
    assert "plugin 'greeter' adds a command 'run', which benchsuite already has; it is left out" in stderr
    assert _commands(stdout)["run"].startswith("Train every selected cell variant")
    code, stdout, _, _ = run_bench(["run", "--help"], installed)
    assert code == 0 and "the plugin's run" not in stdout and "--tasks" in stdout


def test_without_installed_plugins_help_lists_the_built_in_commands_only() -> None:
    code, stdout, _, imported = run_bench(["--help"])
    assert code == 0 and imported == []
    assert set(_commands(stdout)) == {"best", "compare", "export", "list", "plugins", "report", "repro", "run",
                                      "sample"}
