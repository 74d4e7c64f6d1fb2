"""`bench list` and `bench plugins`: what the loaded plugins offer, and where each plugin came from."""
from __future__ import annotations

import sys

import click


@click.command("list")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
def list_command(plugins_dir: str | None) -> None:
    """The cells and tasks every loaded plugin offers."""
    from ..registry.loading import get_registry
    from ..report.listing import format_listing

    click.echo(format_listing(get_registry(plugins_dir)))


@click.command("plugins")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
@click.option("--check", is_flag=True,
              help="Load each plugin alone in a child process, to name one that ends the process (os._exit) or "
                   "crashes it while loading; exits 1 if any plugin fails.")
def plugins_command(plugins_dir: str | None, check: bool) -> None:
    """Every plugin with its version, where it came from, and what it registered."""
    if check:
        from ..registry.check import check_plugins
        from ..report.listing import format_checks

        checks = check_plugins(plugins_dir)
        click.echo(format_checks(checks))
        if any(result.status == "failed" for result in checks):
            sys.exit(1)
        return
    from ..registry.loading import get_registry
    from ..report.listing import format_plugins

    click.echo(format_plugins(get_registry(plugins_dir)))
