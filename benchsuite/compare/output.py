"""`bench compare`'s output: a text report for people, and Markdown, CSV or JSON for machines and pull requests.

Text and Markdown list what needs attention (regressions, new failures, uncertain and improved
metrics, changed settings, unmatched variants); CSV and JSON carry every compared metric.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Callable, Sequence

from ..results.naming import aligned, direction_label, figure, markdown_table, markdown_text, setting, short_name
from ..results.schema import is_neutral
from .inputs import Key
from .significance import TOO_FEW
from .verdicts import Comparison, MetricChange

SECTIONS = (
    ("regressed", "regressed"),
    ("uncertain", "uncertain (beyond the threshold, not significant)"),
    ("too_few_runs", "too few runs for a verdict (beyond the threshold; not gated on)"),
    ("improved", "improved"),
)


def _shown(comparison: Comparison) -> list[int]:
    """The positions of the key columns the text and Markdown tables show: a setting is left out where every
    variant on both sides has its neutral value (no clipping, the stack backbone, ...), as in `bench run`'s table.
    CSV and JSON keep every column."""
    keys = [*comparison.a.entries, *comparison.b.entries]
    return [position for position, column in enumerate(comparison.key_columns)
            if not keys or not all(is_neutral(column, key[position]) for key in keys)]


def _key_headers(comparison: Comparison, shown: list[int]) -> list[str]:
    return [short_name(comparison.key_columns[position]) for position in shown]


def _key_cells(comparison: Comparison, shown: list[int], key: Key) -> list[str]:
    columns = comparison.key_columns
    return [direction_label(key[position]) if columns[position] == "bidirectional" else setting(key[position])
            for position in shown]


def _ratio(change: MetricChange) -> str:
    ratio = change.ratio
    return "-" if math.isnan(ratio) else "inf" if math.isinf(ratio) else f"{ratio:.3f}"


def _evidence(change: MetricChange) -> str:
    evidence, sizes = change.evidence, f"n={len(change.a.values)}/{len(change.b.values)}"
    if evidence.test == "mann-whitney":
        return f"U test p={evidence.p_value:.2g} ({sizes})"
    if evidence.test == TOO_FEW:
        return f"too few runs for a verdict ({sizes})"
    return f"ranges {'apart' if evidence.significant else 'overlap'} ({sizes})"


def _sections(comparison: Comparison) -> list[tuple[str, list[list[str]]]]:
    """Each non-empty section's title and table (header first)."""
    shown = _shown(comparison)  # once: it reads every key of both sides
    keys = _key_headers(comparison, shown)
    sections = []
    for verdict, title in SECTIONS:
        rows = [[*_key_cells(comparison, shown, c.key), c.metric.name, figure(c.a.center), figure(c.b.center),
                 _ratio(c), _evidence(c)] for c in comparison.with_verdict(verdict)]
        sections.append((title, [[*keys, "metric", "A", "B", "B/A", "evidence"], *rows]))
    # What else fails the comparison comes right after the regressions.
    sections[1:1] = [("newly failing", [[*keys, "seed", "status", "error"]] + [
        [*_key_cells(comparison, shown, f.key), str(f.outcome.seed), f.outcome.status, f.outcome.error]
        for f in comparison.new_failures]), ("lost in B: A measured these, B's ok rows have no figure",
                                             [[*keys, "metric"]] + [
                                                 [*_key_cells(comparison, shown, lost.key), lost.metric]
                                                 for lost in comparison.lost_metrics])]
    sections.append(("settings changed", [[*keys, "setting", "A", "B"]] + [
        [*_key_cells(comparison, shown, s.key), s.name, ", ".join(map(setting, s.a)), ", ".join(map(setting, s.b))]
        for s in comparison.setting_changes]))
    for title, only in (("only in A", comparison.only_a), ("only in B", comparison.only_b),
                        ("lost in B (every row skipped or without figures)", comparison.lost)):
        sections.append((title, [keys] + [_key_cells(comparison, shown, key) for key in only]))
    return [(f"{title} ({len(table) - 1})", table) for title, table in sections if len(table) > 1]


def _headline(comparison: Comparison) -> str:
    compared = len(comparison.changes)
    variants = len({change.key for change in comparison.changes})
    matched = "benchmarks" if comparison.a.kind == "pytest-benchmark" else "variants"
    scope = (f"{compared} metrics on {variants} matched {matched}; significant: Mann-Whitney U p < "
             f"{comparison.alpha:g} over per-run figures; with too few runs, ranges apart (timings: no verdict)")
    if not comparison.regressed:
        return f"result: no regression ({scope})"
    if comparison.b_is_empty:
        return f"result: REGRESSION: B has no rows; everything A measured ({comparison.a.rows} rows) was lost"
    regressed, failing = len(comparison.with_verdict("regressed")), len(comparison.new_failures)
    lost = f", {len(comparison.lost_metrics)} lost metric(s)" if comparison.lost_metrics else ""
    return f"result: REGRESSION: {regressed} regressed metric(s), {failing} newly failing row(s){lost} ({scope})"


def _warning_lines(comparison: Comparison) -> list[str]:
    """Warnings with their details indented: no common variant, different environments."""
    lines = []
    if not comparison.changes and (comparison.only_a or comparison.only_b):
        lines.append("warning: no variant is on both sides, so nothing was compared")
    if comparison.environment:
        lines += ["warning: the sides ran in different environments or task/cell options; figures may differ for "
                  "that alone:",
                  *(f"  {fact}: A {a} / B {b}" for fact, a, b in comparison.environment)]
    return lines


def _side_lines(comparison: Comparison) -> list[str]:
    return [f"{name}: {side.source} ({side.kind}, {side.rows} rows)"
            for name, side in (("A", comparison.a), ("B", comparison.b))]


def format_text(comparison: Comparison) -> str:
    lines = [*_side_lines(comparison), *_warning_lines(comparison)]
    for title, table in _sections(comparison):
        lines += ["", f"{title}:", *aligned(table, indent="  ")]
    return "\n".join([*lines, "", _headline(comparison)]) + "\n"


def format_markdown(comparison: Comparison) -> str:
    lines = ["# benchsuite comparison", "", *(f"- {markdown_text(line)}" for line in _side_lines(comparison))]
    for line in _warning_lines(comparison):
        text = markdown_text(line, line_start=True)
        lines += [f"- {text}"] if line.startswith("  ") else ["", f"**{text}**", ""]
    for title, table in _sections(comparison):
        lines += ["", f"## {title}", "", *markdown_table(table)]
    return "\n".join([*lines, "", _headline(comparison)]) + "\n"


def _number(value: float | None, digits: int = 10) -> float | None:
    """A JSON-safe number rounded so outputs are stable; infinite (never) and missing become null."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def _key_dict(comparison: Comparison, key: Key) -> dict[str, Any]:
    return dict(zip(comparison.key_columns, key))


def _metric_records(comparison: Comparison) -> list[dict[str, Any]]:
    return [{
        **_key_dict(comparison, c.key), "metric": c.metric.name, "verdict": c.verdict,
        "a": _number(c.a.center), "b": _number(c.b.center), "ratio": _number(c.ratio, 6),
        "test": c.evidence.test, "p_value": _number(c.evidence.p_value, 4),
        "n_a": len(c.a.values), "n_b": len(c.b.values),
    } for c in comparison.changes]


def _document(comparison: Comparison) -> dict[str, Any]:
    return {
        "a": {"source": comparison.a.source, "kind": comparison.a.kind, "rows": comparison.a.rows},
        "b": {"source": comparison.b.source, "kind": comparison.b.kind, "rows": comparison.b.rows},
        "alpha": comparison.alpha,
        "regressed": comparison.regressed,
        "environment_differences": [{"fact": f, "a": a, "b": b} for f, a, b in comparison.environment],
        "metrics": _metric_records(comparison),
        "new_failures": [{**_key_dict(comparison, f.key), "seed": f.outcome.seed, "status": f.outcome.status,
                          "error": f.outcome.error} for f in comparison.new_failures],
        "setting_changes": [{**_key_dict(comparison, s.key), "setting": s.name, "a": list(s.a), "b": list(s.b)}
                            for s in comparison.setting_changes],
        "lost_metrics": [{**_key_dict(comparison, lost.key), "metric": lost.metric}
                         for lost in comparison.lost_metrics],
        "only_a": [_key_dict(comparison, key) for key in comparison.only_a],
        "only_b": [_key_dict(comparison, key) for key in comparison.only_b],
        "lost": [_key_dict(comparison, key) for key in comparison.lost],
    }


def _csv_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One row per compared metric, then one per new failure, changed setting, lost metric and unmatched or lost
    variant."""
    rows: list[dict[str, Any]] = _metric_records(comparison)
    rows += [{**_key_dict(comparison, f.key), "metric": "status", "verdict": "newly_failing", "seed": f.outcome.seed,
              "b": f.outcome.status, "error": f.outcome.error} for f in comparison.new_failures]
    rows += [{**_key_dict(comparison, s.key), "metric": s.name, "verdict": "setting_changed",
              "a": ";".join(map(setting, s.a)), "b": ";".join(map(setting, s.b))} for s in comparison.setting_changes]
    rows += [{**_key_dict(comparison, lost.key), "metric": lost.metric, "verdict": "lost_metric"}
             for lost in comparison.lost_metrics]
    for verdict, keys in (("only_in_a", comparison.only_a), ("only_in_b", comparison.only_b),
                          ("lost_in_b", comparison.lost)):
        rows += [{**_key_dict(comparison, key), "verdict": verdict} for key in keys]
    return rows


def format_json(comparisons: Sequence[Comparison], against_baseline: bool) -> str:
    """One comparison's document; against a baseline (however many sides), each B's under `comparisons`."""
    if not against_baseline:
        (comparison,) = comparisons
        document = _document(comparison)
    else:
        document = {"baseline": comparisons[0].a.source, "regressed": any(c.regressed for c in comparisons),
                    "comparisons": [_document(comparison) for comparison in comparisons]}
    return json.dumps(document, indent=2) + "\n"


def format_csv(comparisons: Sequence[Comparison], against_baseline: bool) -> str:
    """Every comparison's rows; against a baseline, a first column `side` names the B each row is about."""
    columns = [*(["side"] if against_baseline else []), *comparisons[0].key_columns, "metric", "verdict", "seed",
               "a", "b",
               "ratio", "test", "p_value", "n_a", "n_b", "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for comparison in comparisons:
        side = {"side": comparison.b.source} if against_baseline else {}
        writer.writerows({**side, **row} for row in _csv_rows(comparison))
    return buffer.getvalue()


def _joined(format_one: Callable[[Comparison], str]) -> Callable[[Sequence[Comparison], bool], str]:
    """A formatter for people: each comparison in turn, then, against a baseline, one line for them all."""
    def format_all(comparisons: Sequence[Comparison], against_baseline: bool) -> str:
        text = "\n".join(format_one(comparison) for comparison in comparisons)
        if against_baseline:
            regressed = [c.b.source for c in comparisons if c.regressed]
            text += ("\noverall: REGRESSION in " + ", ".join(regressed) if regressed else
                     f"\noverall: no regression against {comparisons[0].a.source}") + "\n"
        return text
    return format_all


FORMATTERS: dict[str, Callable[[Sequence[Comparison], bool], str]] = {
    "text": _joined(format_text), "md": _joined(format_markdown), "csv": format_csv, "json": format_json}


def format_comparisons(comparisons: Sequence[Comparison], fmt: str, against_baseline: bool = False) -> str:
    """`comparisons` (one A against one B, or `against_baseline` each side against one baseline) in `fmt`; a
    baseline's output has the same shape however many sides it is compared with."""
    return FORMATTERS[fmt](comparisons, against_baseline)

