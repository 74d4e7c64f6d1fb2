"""`bench list` and `bench plugins`: what the loaded plugins offer, and where each plugin came from."""
from __future__ import annotations

import click


@click.command("list")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
def list_command(plugins_dir: str | None) -> None:
    """The cells and tasks every loaded plugin offers."""
    from ..report.listing import format_listing
    from ..registry.loading import get_registry

    click.echo(format_listing(get_registry(plugins_dir)))


@click.command("plugins")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
def plugins_command(plugins_dir: str | None) -> None:
    """Every plugin with its version, where it came from, and what it registered."""
    from ..report.listing import format_plugins
    from ..registry.loading import get_registry

    click.echo(format_plugins(get_registry(plugins_dir)))
