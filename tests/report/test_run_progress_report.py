"""`bench run`'s progress on stderr and its report at the end; light imports for `--help` and `list`."""
from __future__ import annotations

import io
import subprocess
import sys

from benchsuite.measurement.train import EpochRecord
from benchsuite.planning.grid import Job
from benchsuite.report.progress import ProgressBar, RowLines, run_progress
from helpers.runs import only_run_dir

RUN = ["run", "--tasks", "apple", "--cells", "rnn", "--epochs", "3"]
NOISE_LINE = ("note:", "warning:")  # the one line on noisy step times, under load


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr is in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_run_writes_the_report_and_prints_a_line_per_row_when_stderr_is_not_a_terminal(bench, tmp_path):
    result = bench(*RUN, "--seeds", "0,1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path)
    written = {path.name for path in run_dir.iterdir()}
    assert {"summary.md", "report.html", "loss_curves.png", "accuracy_vs_time.png", "step_time.png"} <= written
    assert f"report: {run_dir / 'summary.md'} (3 plots) and {run_dir / 'report.html'}\n" in result.stdout
    progress = [line for line in result.stderr.splitlines() if not line.startswith(NOISE_LINE)]
    assert [line.split(":")[0] for line in progress] == ["[1/2] apple rnn 1L uni h5 lr0.1 b1 e3 seed 0",
                                                         "[2/2] apple rnn 1L uni h5 lr0.1 b1 e3 seed 1"]


def test_no_report_and_quiet(bench, tmp_path):
    result = bench(*RUN, "--out", str(tmp_path), "--no-report", "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path)
    assert not (run_dir / "summary.md").exists() and not list(run_dir.glob("*.png"))
    # Only the line on noisy step times may remain (under load): no progress.
    assert all(line.startswith(NOISE_LINE) for line in result.stderr.splitlines()), result.stderr


def test_run_progress_picks_the_display_for_the_stream():
    with run_progress(quiet=True, stream=Terminal()) as display:
        assert display is None
    with run_progress(quiet=False, stream=io.StringIO()) as display:
        assert isinstance(display, RowLines)
    with run_progress(quiet=False, stream=Terminal()) as display:
        assert isinstance(display, ProgressBar)


def test_progress_bar_shows_the_variant_epoch_and_loss_then_the_finished_row():
    stream = Terminal()
    job = Job(task="apple", cell="rnn", backend="torch", num_layers=1, bidirectional=False, hidden_size=5, seed=0,
              settings={"lr": 0.1, "batch_size": 1, "max_epochs": 40, "clip": None, "weight_decay": 0.0,
                        "steps": None})
    with ProgressBar(stream) as bar:
        bar.epoch(1, 2, job, EpochRecord(epoch=7, loss=0.12345, accuracy=0.8, seconds=1.5, steps=1))
        bar.progress.refresh()
        bar.finished(1, 2, {"task": "apple", "cell": "rnn", "num_layers": 1, "bidirectional": False,
                            "hidden_size": 5, "lr": 0.1, "batch_size": 1, "max_epochs": 40, "clip": None,
                                "weight_decay": 0.0, "seed": 0, "status": "ok",
                            "accuracy": 1.0, "final_loss": 0.01,
                            "train_seconds": 0.5})
    shown = stream.getvalue()
    assert "apple rnn 1L uni h5 lr0.1 b1 e40 seed 0  epoch 7/40  loss 0.1235" in shown
    assert "0/2" in shown
    assert "[1/2] apple rnn 1L uni h5 lr0.1 b1 e40 seed 0: ok" in shown


def test_help_and_list_import_no_heavy_library():
    code = (
        "import sys\n"
        "from benchsuite.cli import main\n"
        "for args in (['--help'], ['list']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('torch', 'pandas', 'scipy', 'matplotlib', 'rich', 'numpy', 'ray')\n"
        "print('HEAVY', sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout


def test_the_runs_table_shows_a_swept_setting_only_where_a_row_sets_it(bench, tmp_path):
    def header(*extra: str) -> list[str]:
        result = bench(*RUN, "--epochs", "2", "--no-report", "--out", str(tmp_path), *extra)
        assert result.exit_code == 0, result.output
        return next(line.split() for line in result.stdout.splitlines() if line.split()[:2] == ["task", "cell"])

    assert not {"schedule", "warmup_steps", "backbone"} & set(header())  # all at their neutral values
    swept = header("--schedule", "constant,cosine", "--warmup", "0,1")
    assert {"schedule", "warmup_steps"} <= set(swept) and "backbone" not in swept
