"""Hardening (issue 17): values and plugins that used to crash, hang or slip through are refused, bounded, or cost
one row. Each test reproduces one defect of the adversarial battery (D1, D3, D9, D11, D13)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from benchsuite.errors import BenchInputError
from benchsuite.planning.options import MAX_SEED, RunOptions, max_threads
from benchsuite.registry.loading import load_registry
from benchsuite.results.files import read_csv_rows
from benchsuite.specs import valid_name
from benchsuite_plugins.tasks.char_tasks import _shortest_length, _split_point
from helpers.cli import assert_bad_input
from helpers.hardening_plugins import BAD_NAMES, write_plugin
from helpers.runs import only_run_dir

APPLE = ["run", "--tasks", "apple", "--device", "cpu", "--epochs", "2"]


# D1: --threads 100000 segfaulted torch, 99999999999999999999 was a traceback.
def test_threads_beyond_the_machine_are_bad_input(bench, tmp_path):
    too_many = max_threads() + 1  # harmless to torch, so before the bound this ran (exit 0)
    assert_bad_input(bench(*APPLE, "--threads", str(too_many)), f"--threads: {too_many} is above the largest allowed")
    for value in (100000, 99999999999999999999):
        with pytest.raises(BenchInputError, match="--threads: .* above the largest allowed value"):
            RunOptions.parse(tasks="apple", threads=value)
    assert RunOptions.parse(tasks="apple", threads=max_threads()).threads == max_threads()


# D3: text.valid_fraction=0.000000001 hung, text.seq_len=10000000 took 30 s, stepping one character at a time.
def test_shortest_text_length_is_computed_not_searched_step_by_step(tmp_path):
    def stepped(seq_len: int, fraction: float) -> int:  # the old search, as the independent reference
        length = 2 * (seq_len + 1)
        while _split_point(length, seq_len, fraction) is None:
            length += 1
        return length

    for seq_len in (1, 2, 7, 64):
        for fraction in (0.001, 0.05, 0.1, 1 / 3, 0.5, 0.9, 0.999):
            assert _shortest_length(seq_len, fraction) == stepped(seq_len, fraction), (seq_len, fraction)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world " * 50)
    script = textwrap.dedent(f"""
        from benchsuite.errors import BenchInputError
        from benchsuite_plugins.tasks.char_tasks import build_text
        for options in ({{"valid_fraction": 1e-9}}, {{"seq_len": 10_000_000}}):
            try:
                build_text({str(corpus)!r}, **options)
            except BenchInputError as exc:
                print(exc)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "needs at least 65000000000 (" in done.stdout  # (64 + 1) / 1e-9
    assert "needs at least 100000010 (" in done.stdout  # (10**7 + 1) / 0.1, then whole


# D9: sys.exit(5) inside a cell ended the whole run with exit 5 and no row.
def test_sys_exit_in_a_cell_is_an_error_row_and_the_run_goes_on(bench, tmp_path):
    plugins = write_plugin(tmp_path / "plugins")
    result = bench(*APPLE, "--cells", "exits_5,rnn", "--plugins-dir", str(plugins), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    rows = {row["cell"]: row for row in read_csv_rows(only_run_dir(tmp_path / "out") / "runs.csv")}
    assert (rows["exits_5"]["status"], rows["exits_5"]["error"]) == ("error", "SystemExit: 5")
    assert rows["rnn"]["status"] == "ok"


# D11: empty names, `a,b`, names with newlines and spreadsheet formulas were registered as they came.
def test_plugin_names_outside_the_pattern_are_skipped_with_a_named_warning(tmp_path, capsys):
    registry = load_registry(str(write_plugin(tmp_path / "plugins", "bad_names", BAD_NAMES)))
    warnings = capsys.readouterr().err
    assert "good-cell_1" in registry.cells
    assert [name for name, entry in registry.cells.items() if entry.plugin == "bad_names"] == ["good-cell_1"]
    assert "" not in registry.tasks
    for name in ["", "a,b", "two\nlines", "=cmd|' /C calc'!A0", "a.b", "x" * 65]:
        assert f"plugin 'bad_names' registered a CellSpec named {name!r}; a name must be" in warnings
    assert "registered a TaskSpec named ''" in warnings
    assert [valid_name(name) for name in ("rnn", "numpy-rnn", "Cell_2", "2x")] == [True] * 4


def test_strict_plugins_make_a_bad_name_an_error(tmp_path, monkeypatch, bench):
    monkeypatch.setenv("BENCHSUITE_STRICT_PLUGINS", "1")
    plugins = write_plugin(tmp_path / "plugins", "bad_names", BAD_NAMES)
    assert_bad_input(bench("list", "--plugins-dir", str(plugins)), "plugin 'bad_names' registered a CellSpec named ''")


# D13: unbounded seeds were an error row on torch and accepted by numpy; a huge --hidden wrote C++ frames.
def test_seeds_must_fit_every_backend(bench):
    assert_bad_input(bench(*APPLE, "--seeds", str(MAX_SEED + 1)),
                     f"--seeds: {MAX_SEED + 1} is above the largest allowed")
    assert_bad_input(bench(*APPLE, "--seeds", "99999999999999999999999"), "--seeds")
    assert RunOptions.parse(tasks="apple", seeds=[MAX_SEED]).seeds == (MAX_SEED,)


def test_a_size_that_cannot_be_allocated_is_a_one_line_error_row(bench, tmp_path):
    result = bench(*APPLE, "--cells", "rnn,numpy-rnn", "--hidden", "99999999999999999999999", "--out", str(tmp_path))
    assert result.exit_code == 1, result.output
    rows = read_csv_rows(only_run_dir(tmp_path) / "runs.csv")
    assert [row["status"] for row in rows] == ["error", "error"]
    for row in rows:
        assert "\n" not in row["error"] and "frame #" not in row["error"] and len(row["error"]) < 300, row["error"]
