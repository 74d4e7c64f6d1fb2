"""`bench compare A B` (or `bench compare A B C --baseline A`): name what regressed from A to each other side."""
from __future__ import annotations

import sys

import click

from ..compare.significance import DEFAULT_ALPHA
from ..errors import BenchInputError


def pairs(sides: tuple[str, ...], baseline: str | None) -> list[tuple[str, str]]:
    """(A, B) for each comparison: the two sides, or the baseline against every other side (the baseline itself
    named among the sides once is not compared with itself; named twice, it is)."""
    if baseline is None:
        if len(sides) != 2:
            raise BenchInputError(f"compare takes two sides (A B), got {len(sides)}; to compare several runs with "
                                  "one, name it with --baseline, e.g. bench compare A B C --baseline A")
        return [(sides[0], sides[1])]
    others = list(sides)
    if baseline in others:
        others.remove(baseline)
    if not others:
        raise BenchInputError(f"--baseline {baseline}: give at least one other side to compare with it")
    return [(baseline, side) for side in others]


@click.command("compare")
@click.argument("sides", nargs=-1, required=True)
@click.option("--baseline", default=None, metavar="SIDE",
              help="Compare every other side with this one (it may also be among the sides).")
@click.option("--threshold", "thresholds", multiple=True, metavar="METRIC=VALUE",
              help="Change a metric's threshold: a factor for times and memory (default 1.10), "
                   "an absolute difference for accuracies and losses (default 0.01). Repeatable.")
@click.option("--alpha", type=float, default=DEFAULT_ALPHA, show_default=True,
              help="Significance level of the Mann-Whitney U test over per-run figures.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "csv", "json"]), default="text",
              show_default=True, help="Output for people (text, md) or machines (csv, json).")
def compare_command(sides: tuple[str, ...], baseline: str | None, thresholds: tuple[str, ...], alpha: float,
                    fmt: str) -> None:
    """Compare B against A and name what regressed.

    Each side is a runs.csv, a run folder or a pytest-benchmark JSON file. Exits 1 when a metric got worse
    beyond its threshold and significantly so, or when a row newly fails. Timings are judged over per-run
    figures (each seed's median); too few runs for the test get no verdict and are not gated on.
    """
    from ..compare.output import format_comparisons
    from ..compare.verdicts import compare_paths
    from ..results.metrics import parse_thresholds

    metrics = parse_thresholds(thresholds)
    comparisons = [compare_paths(a, b, metrics, alpha) for a, b in pairs(sides, baseline)]
    click.echo(format_comparisons(comparisons, fmt, against_baseline=baseline is not None), nl=False)
    if any(comparison.regressed for comparison in comparisons):
        sys.exit(1)
