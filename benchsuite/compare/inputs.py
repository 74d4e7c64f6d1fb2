"""One side of a comparison, loaded from a runs.csv, a run folder or a pytest-benchmark JSON file.

A side is a set of entries, one per variant (the runs.csv key without the seed, plus the device), each
holding its rows' outcomes, the measurements of every metric over its seeds that finished ok (one figure per
run: the unit of significance), and its settings. pytest-benchmark entries are keyed by the benchmark's full name,
one figure per file (one pass).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BenchInputError
from ..results.load import load_meta, load_runs, read_json
from ..results.metrics import METRICS, SETTINGS
from ..results.schema import GROUP_COLUMNS
from .significance import Measurement

if TYPE_CHECKING:
    import pandas

RUN_KEY = tuple(GROUP_COLUMNS)
BENCHMARK_KEY = ("benchmark",)

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Outcome:
    """How one row ended."""

    seed: int
    status: str
    error: str = ""


@dataclass
class Entry:
    """Everything one side measured for one variant, pooled over seeds."""

    outcomes: list[Outcome] = field(default_factory=list)
    measurements: dict[str, Measurement] = field(default_factory=dict)  # per seed (or per benchmark pass)
    settings: dict[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass
class Side:
    source: str
    kind: str  # "runs.csv" or "pytest-benchmark"
    key_columns: tuple[str, ...]
    entries: dict[Key, Entry]
    environment: dict[str, str]
    rows: int


def load_side(source: str) -> Side:
    """A side from a path as the user typed it; anything unusable is a bad-input error."""
    path = Path(source)
    if path.is_dir():
        path = path / "runs.csv"
        if not path.is_file():
            raise BenchInputError(f"{source}: this folder has no runs.csv; expected a run folder, "
                                  f"a runs.csv file or a pytest-benchmark JSON file")
    elif not path.exists():
        raise BenchInputError(f"{source}: no such file or folder; expected a run folder, a runs.csv file "
                              f"or a pytest-benchmark JSON file")
    if _looks_like_json(path):
        return _benchmark_side(source, path)
    return _runs_side(source, path)


def _looks_like_json(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(64).lstrip().startswith(b"{")
    except OSError as exc:
        raise BenchInputError(f"{path}: cannot be read ({exc.strerror})") from None


def _runs_side(source: str, path: Path) -> Side:
    runs = load_runs(path)
    meta = load_meta(path.parent / "meta.json")
    entries: dict[Key, Entry] = {}
    for values, group in runs.groupby(list(RUN_KEY), sort=True, dropna=False):
        entries[tuple(_plain(value) for value in values)] = _entry(group)
    return Side(source, "runs.csv", RUN_KEY, entries, _run_environment(meta, runs), len(runs))


def key_order(key: Key) -> tuple[tuple[bool, Any], ...]:
    """A sort key for variant keys in which some settings may be None (blank sorts first)."""
    return tuple((value is not None, value) for value in key)


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so keys compare, print and serialise plainly; a blank setting (a file from
    before the setting was recorded) as None, which, unlike NaN, equals itself."""
    value = value.item() if hasattr(value, "item") else value
    return None if value != value else value


def _entry(group: pandas.DataFrame) -> Entry:
    entry = Entry(outcomes=[Outcome(int(row.seed), str(row.status), str(row.error))
                            for row in group.itertuples(index=False)])
    ok = group[group["status"] == "ok"]
    for name, metric in METRICS.items():
        if name in ok and len(ok):
            values = ok[name].fillna(math.inf) if metric.blank_means_never else ok[name].dropna()
            if len(values):
                entry.measurements[name] = Measurement.of(values.tolist())
    for name in SETTINGS:
        if name in group:
            entry.settings[name] = tuple(sorted(_plain(v) for v in group[name].dropna().unique()))
    return entry


def _run_environment(meta: dict[str, Any] | None, runs: pandas.DataFrame) -> dict[str, str]:
    """The facts that make rows comparable or not: machine, torch version, threads, device, and the task and cell
    options (--task-opt delay.gap=3 against gap=30 changes what every figure means, yet no key column shows it)."""
    environment: dict[str, str] = {}
    options = (meta or {}).get("options")
    if isinstance(options, dict):
        for name, fact in (("task_opts", "task options"), ("cell_opts", "cell options")):
            environment[fact] = _dotted_options(options.get(name))
    if meta is not None:
        machine = " ".join(str(meta[k]) for k in ("hostname", "cpu") if meta.get(k))
        if machine:
            environment["machine"] = machine
        for name in ("torch", "threads"):
            if meta.get(name) is not None:
                environment[name] = str(meta[name])
    if "threads" in runs and runs["threads"].notna().any():
        environment["threads"] = ", ".join(f"{t:g}" for t in sorted(runs["threads"].dropna().unique()))
    devices = sorted(set(runs["device"]) - {""})
    if meta is not None and meta.get("device_name"):
        devices = [f"{device} ({meta['device_name']})" if device == "cuda" else device for device in devices]
    if devices:
        environment["device"] = ", ".join(devices)
    return environment


def _dotted_options(table: Any) -> str:
    """A recorded {name: {key: value}} table as `name.key=value, ...` (sorted), or "none"."""
    if not isinstance(table, dict):
        return "none"
    pairs = sorted(f"{name}.{key}={value}" for name, settings in table.items() if isinstance(settings, dict)
                   for key, value in settings.items())
    return ", ".join(pairs) or "none"


def _benchmark_side(source: str, path: Path) -> Side:
    """A pytest-benchmark JSON file: one entry per benchmark, its time in milliseconds."""
    document = read_json(path, "JSON file")
    benchmarks = document.get("benchmarks") if isinstance(document, dict) else None
    if not isinstance(benchmarks, list):
        raise BenchInputError(f"{source}: not a pytest-benchmark JSON file (no 'benchmarks' list)")
    entries = {}
    for index, benchmark in enumerate(benchmarks):
        name, time_ms = _benchmark_time(benchmark, f"{source}: benchmarks[{index}]")
        if math.isfinite(time_ms):
            entries[(name,)] = Entry([Outcome(0, "ok")], {"time_ms": Measurement.of([time_ms])})
        else:  # a time that is no figure is a failed benchmark, as a NaN loss is a failed row
            entries[(name,)] = Entry([Outcome(0, "error", f"time {time_ms:g} ms")])
    machine = document.get("machine_info") or {}
    environment = {}
    if isinstance(machine, dict):
        cpu = machine.get("cpu") if isinstance(machine.get("cpu"), dict) else {}
        described = " ".join(str(v) for v in (machine.get("node"), cpu.get("brand_raw")) if v)
        if described:
            environment["machine"] = described
    return Side(source, "pytest-benchmark", BENCHMARK_KEY, entries, environment, len(benchmarks))


def _benchmark_time(benchmark: Any, where: str) -> tuple[str, float]:
    """The benchmark's name and time: the median of its rounds, in milliseconds. One pass of a benchmark is one
    sample: its rounds share the pass's machine state, so pooled they would make any drift "significant"."""
    stats = benchmark.get("stats") if isinstance(benchmark, dict) else None
    name = (benchmark.get("fullname") or benchmark.get("name")) if isinstance(benchmark, dict) else None
    if not isinstance(name, str) or not isinstance(stats, dict):
        raise BenchInputError(f"{where}: expected an object with 'fullname' and 'stats'")
    try:
        return name, float(stats["median"]) * 1e3
    except (KeyError, TypeError, ValueError):
        raise BenchInputError(f"{where} ({name}): 'stats' needs a numeric median") from None
