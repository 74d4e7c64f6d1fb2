"""`bench compare A B`: name what regressed from A to B."""
from __future__ import annotations

import sys

import click

from ..compare.significance import DEFAULT_ALPHA


@click.command("compare")
@click.argument("a")
@click.argument("b")
@click.option("--threshold", "thresholds", multiple=True, metavar="METRIC=VALUE",
              help="Change a metric's threshold: a factor for times and memory (default 1.10), "
                   "an absolute difference for accuracies and losses (default 0.01). Repeatable.")
@click.option("--alpha", type=float, default=DEFAULT_ALPHA, show_default=True,
              help="Significance level of the Mann-Whitney U test.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "csv", "json"]), default="text",
              show_default=True, help="Output for people (text, md) or machines (csv, json).")
def compare_command(a: str, b: str, thresholds: tuple[str, ...], alpha: float, fmt: str) -> None:
    """Compare B against A and name what regressed.

    A and B are each a runs.csv, a run folder or a pytest-benchmark JSON file. Exits 1 when a metric got
    worse beyond its threshold and significantly so, or when a row newly fails.
    """
    from ..compare.verdicts import compare_paths
    from ..compare.output import format_comparison
    from ..results.metrics import parse_thresholds

    comparison = compare_paths(a, b, parse_thresholds(thresholds), alpha)
    click.echo(format_comparison(comparison, fmt), nl=False)
    if comparison.regressed:
        sys.exit(1)
