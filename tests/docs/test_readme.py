"""The README is true as written: every command it shows runs or parses, and every figure table says what made it.

Commands: each line of a fenced block that starts with a program (`$ ` lines where a block shows output), joined over
`\\` and split at `&&`, and each inline command span. Every `bench` command must name a command and only flags it has,
placeholders (`RUN_DIR`, `[--flag ...]`, `a|b`) and all; one without placeholders must parse with click as written.
A fenced block's `bench` commands also run, in order, in a temporary folder (`results/<run-id>` is the run the block
made last; a `bench run` at TINY size unless it is in AS_WRITTEN), and output shown under a command is checked; in
prose, those that train nothing (`bench --help`, `bench list`) run. Other programs are not run (setup, pytest, Ray,
downloads): the files they name must exist, and `ray` must know their flags; a download is stood in for by a small
file of the same name.

Tables: every markdown table of figures has the command that made it just above it. A table a script writes lies
between `<!-- table: NAME -->` and `<!-- /table -->`, NAME registered in scripts/readme_tables.py's TABLES. To add one:
write its generator there (`derive` from committed text, checked whole; or `layout`/`labels`/`render` for a measured
one, checked for its columns and rows), add it to TABLES, wrap the README's table in the markers with the command
above it, and run `python scripts/readme_tables.py`.
"""
from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from benchsuite.cli import main
from helpers.cli import invoke
from helpers.threads import single_thread

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>\S*)\n(?P<body>.*?)^ *```", re.S | re.M)
ENVIRONMENT = r"[A-Za-z_][A-Za-z0-9_]*=\S*"  # an assignment before a command
INLINE = re.compile(rf"`((?:{ENVIRONMENT} )*(?:bench|python|pytest|cd|scripts/|\.venv/bin/)[^`]*)`")
PROGRAMS = ("bench", ".venv/bin/bench", "python", ".venv/bin/python", "../.venv/bin/python", "pytest", "bash", "ray",
            "curl", "cd", "scripts/gpu_check.sh")
# `results/<run-id>` is no placeholder: it stands for the run its block made last.
PLACEHOLDER = re.compile(r"[\[|]|\.\.|(?<![\w.-])[A-Z][A-Z_]*(?![\w.-])|<(?!run-id>)[a-z-]+>")
REPO_FILE = re.compile(r"^[\w./-]+\.(py|sh|toml|md)$")
# The size a test affords: one epoch and one seed, flags on top of the README's (a later flag wins); the columns of a
# run's printed table that they change.
TINY = ["--epochs", "1", "--seeds", "0"]
TINY_COLUMNS = {"epochs", "seed"}
# Cheap enough to run whole, and what follows them in the README shows what the trained model does.
AS_WRITTEN = {"bench run --tasks ship --cells gru --save-models"}
STAND_IN_TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40


@dataclass(frozen=True)
class Command:
    """One command of the README: its text, the output shown under it, where it stands (block index, or None
    inline)."""

    text: str
    output: tuple[str, ...]
    block: int | None

    @property
    def words(self) -> list[str]:
        words = shlex.split(self.text, comments=True)
        while words and re.fullmatch(ENVIRONMENT, words[0]):
            words.pop(0)
        return words

    @property
    def concrete(self) -> bool:
        """No placeholder: it can run as it stands."""
        return not PLACEHOLDER.search(self.text)


def block_commands(body: str, block: int) -> list[Command]:
    """A fenced block's commands: its `$ ` lines with the output below each, else every line a program starts; a
    line ending in `\\` continues, an indented line continues a usage line."""
    lines = body.splitlines()
    prompted = any(line.startswith("$ ") for line in lines)
    commands: list[list[str]] = []  # [text, output lines...]
    continued = False
    for line in lines:
        # without prompts, three spaces end a command: what follows describes it
        text = line[2:] if prompted and line.startswith("$ ") else re.split(r" {3,}", line.strip())[0]
        if continued or (commands and not prompted and line.startswith(" ") and line.strip().startswith("[")):
            commands[-1][0] += " " + text.strip().rstrip("\\").strip()
        elif (not prompted or line.startswith("$ ")) and text.split() and _program(text) in PROGRAMS:
            commands.append([text.rstrip().rstrip("\\").strip()])
        elif prompted and commands and line.strip():
            commands[-1].append(line)
        continued = line.rstrip().endswith("\\")
    return [Command(part.strip(), tuple(output) if index == len(text.split("&&")) - 1 else (), block)
            for text, *output in commands for index, part in enumerate(text.split("&&"))]


def _program(text: str) -> str:
    words = text.split()
    while words and re.fullmatch(ENVIRONMENT, words[0]):
        words.pop(0)
    return words[0] if words else ""


def readme_commands() -> list[Command]:
    fenced = [command for index, match in enumerate(FENCE.finditer(README))
              if match["info"] in ("", "bash", "console", "sh", "shell")
              for command in block_commands(re.sub(rf"(?m)^{match['indent']}", "", match["body"]), index)]
    inline = [Command(" ".join(part.split()), (), None) for match in INLINE.finditer(FENCE.sub("", README))
              for part in match[1].split("&&")]
    return fenced + [command for command in inline if _program(command.text) in PROGRAMS]


COMMANDS = readme_commands()
BENCH = [command for command in COMMANDS if command.words[0].endswith("bench")]


def leaf_command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command `bench WORDS...` names and the words after its name."""
    command: click.Command = main
    words = words[1:]
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        found = command.get_command(click.Context(command), words[0])
        assert found is not None, f"bench has no command {words[0]!r}"
        command, words = found, words[1:]
    return command, words


def flag_names(command: click.Command) -> set[str]:
    return {flag for param in command.params for flag in (*param.opts, *param.secondary_opts)} | {"--help"}


def test_the_readme_shows_its_commands_and_the_extractor_finds_them():
    texts = [command.text for command in COMMANDS]
    assert texts[:2] == ["bash scripts/setup.sh", ".venv/bin/bench run --tasks apple,ship"]
    assert texts[2] == ".venv/bin/python -m pytest -q"
    assert any(text.startswith("bench run --tasks delay --task-opt delay.gap=30") and text.endswith("--threads 1")
               for text in texts)  # a `\` continuation joined
    assert any(text.startswith("bench run --tasks a,b [--cells x,y]") and "[--quiet]" in text for text in texts)
    assert sum(command.concrete for command in BENCH) >= 10


@pytest.mark.parametrize("command", [command for command in BENCH], ids=lambda command: command.text[:70])
def test_every_flag_of_a_bench_command_exists(command: Command):
    """Placeholders and all: the command named exists and has every flag the README gives it."""
    leaf, words = leaf_command(command.words)
    flags = {flag for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", " ".join(words))}
    assert flags <= flag_names(leaf), (command.text, sorted(flags - flag_names(leaf)))


@pytest.mark.parametrize("command", [command for command in BENCH if command.concrete],
                         ids=lambda command: command.text[:70])
def test_click_accepts_every_concrete_bench_command(command: Command, tmp_path: Path, monkeypatch):
    """Each value as click types it (a number, a choice, an existing file): `bench ...` parses as written."""
    monkeypatch.chdir(ROOT)  # the files a command names are the repository's
    leaf, words = leaf_command(command.words)
    if not words or "--help" in words:
        return  # a command's name in prose; parsing --help prints and exits (the runs below show it)
    with leaf.make_context(leaf.name or "bench", words):
        pass


def _run_bench(command: Command, cwd: Path) -> click.testing.Result:
    words = [word.replace("results/<run-id>", str(_last_run(cwd))) for word in command.words[1:]]
    if words[0] == "run" and command.text.replace(".venv/bin/", "") not in AS_WRITTEN:
        words += TINY
    if words[0] == "run":
        words += ["--no-report"]  # the report's plots cost seconds and are tested elsewhere
    return invoke(*words)


def _last_run(cwd: Path) -> Path:
    runs = sorted((cwd / "results").glob("*/runs.csv"), key=lambda path: path.stat().st_mtime)
    return runs[-1].parent.relative_to(cwd) if runs else Path("results/<run-id>")


BLOCKS = sorted({command.block for command in BENCH if command.block is not None and command.concrete})


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: " / ".join(
    command.text[:40] for command in COMMANDS if command.block == block and command.words[0].endswith("bench")))
def test_each_block_of_bench_commands_runs_in_order(block: int, tmp_path: Path, monkeypatch):
    """A fresh folder, the block's commands in order (exit 0 each); output the README shows under a command is what
    it prints: a run's table has the same columns and rows (the figures vary with the machine), a sample at
    temperature 0 of a model trained as written the same text."""
    monkeypatch.chdir(tmp_path)
    for command in [command for command in COMMANDS if command.block == block]:
        if command.words[0] == "curl":  # a download: a small stand-in file of the same name
            (tmp_path / command.words[-1].rsplit("/", 1)[-1]).write_text(STAND_IN_TEXT, encoding="utf-8")
            continue
        if not command.words[0].endswith("bench") or not command.concrete:
            continue
        with single_thread():
            result = _run_bench(command, tmp_path)
        assert result.exit_code == 0, (command.text, result.output)
        if command.output and command.words[1] == "run":
            shown = [line.split() for line in command.output if line.strip() and not line.startswith(("results:",
                                                                                                          "report:"))]
            printed = [line.split() for line in result.stdout.splitlines()[:len(shown)]]
            assert printed[0] == shown[0], result.stdout
            keys = [index for index, column in enumerate(shown[0][:shown[0].index("params") + 1])
                    if column not in TINY_COLUMNS]  # the row's key and parameter count, not its measured figures
            assert [[row[index] for index in keys] for row in printed[1:]] == \
                   [[row[index] for index in keys] for row in shown[1:]], result.stdout
        if command.output and command.words[1] == "sample" and "--temperature 0" in command.text:
            assert result.stdout.strip() == "\n".join(command.output).strip()


def quick(command: Command) -> bool:
    """Trains nothing and needs no run folder; a bare `bench` is the program's name in prose."""
    leaf, words = leaf_command(command.words)
    return (command.concrete and len(command.words) > 1 and leaf.name not in ("run", "sample", "best")
            and not any(param.required for param in leaf.params))


@pytest.mark.parametrize("text", [pytest.param(text, marks=[pytest.mark.slow] if "--check" in text else [])
                                  for text in sorted({command.text for command in BENCH
                                                      if command.block is None and quick(command)})])
def test_each_quick_command_in_the_prose_runs(text: str, tmp_path: Path, monkeypatch):
    """`bench --help`, `bench list` and the like: exit 0."""
    monkeypatch.chdir(tmp_path)
    result = invoke(*Command(text, (), None).words[1:])
    assert result.exit_code == 0, (text, result.output)


def test_the_files_a_command_names_exist():
    for command in COMMANDS:
        cwd = ROOT / command.words[1] if command.words[0] == "cd" else ROOT
        named = [word for word in command.words if REPO_FILE.match(word) and not re.search(r"[A-Z]{3}", word)]
        missing = [word for word in named if not (cwd / word).exists() and not (ROOT / word).exists()
                   and not word.startswith("results/")]
        assert not missing, (command.text, missing)


@pytest.mark.slow
def test_ray_knows_the_flags_the_readme_gives_it():
    ray = Path(sys.executable).with_name("ray")
    commands = [command for command in COMMANDS if command.words[0] == "ray"]
    assert commands and ray.exists()
    usage = subprocess.run([ray, "start", "--help"], capture_output=True, text=True, check=True).stdout
    for command in commands:
        assert command.words[1] == "start"
        for flag in [word for word in command.words if word.startswith("--")]:
            assert re.search(rf"(?<![\w-]){flag}(?![\w-])", usage), (command.text, flag)


def test_the_ladder_runner_asks_for_the_python_benchsuite_is_installed_in(tmp_path: Path):
    """Run by a Python without benchsuite (here: site-packages switched off) it says so, exit 2, no traceback."""
    ladders = ROOT / "examples" / "ladders"
    result = subprocess.run([sys.executable, "-S", str(ladders / "ladder.py"), str(ladders / "ladder-parity.toml"),
                             "--rungs", "baseline", "--cells", "rnn", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "benchsuite is not installed for" in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


# Tables ----------------------------------------------------------------------------------------------------------


def load_tables():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_every_marked_table_is_registered_and_names_its_command():
    tables = load_tables()
    marked = tables.marked_tables(README)
    assert set(marked) <= set(tables.TABLES), sorted(set(marked) - set(tables.TABLES))
    for name, table in tables.TABLES.items():
        start = README.index(f"<!-- table: {name} -->")
        before = " ".join(README[max(0, start - 1000):start].split())  # prose wraps a command over lines
        assert f"`{table.command}`" in before, f"the command of table {name} is not given above it"


def figure_tables() -> list[tuple[int, str]]:
    """(offset, first line) of each markdown table in the README with a cell that is a figure alone."""
    figure = re.compile(r"-?\d*\.\d+( ± \d*\.\d+)?|\[-?\d*\.\d+, -?\d*\.\d+\]")
    unfenced = FENCE.sub(lambda match: " " * len(match[0]), README)  # offsets kept
    tables = re.finditer(r"(?m)^ *\|.*\|\n(?: *\|.*\|\n)+", unfenced)
    return [(table.start(), table[0].splitlines()[0].strip()) for table in tables
            if any(figure.fullmatch(cell.strip()) for cell in table[0].replace("\n", "|").split("|"))]


def test_every_figure_table_names_the_command_that_made_it():
    """A command (`bench ...`, `python ...`, `pytest ...`) stands in the 1,200 characters before each figure table."""
    command = re.compile(r"(?:`|^)(?:[A-Za-z_]+=\S+ )*(?:bench|python|pytest|\.venv/bin/\w+)\s", re.M)
    tables = figure_tables()
    assert len(tables) >= 7  # the example's is a console block, not a markdown table
    for start, header in tables:
        assert command.search(README[max(0, start - 1200):start]), f"no command before the table {header}"


@pytest.mark.parametrize("name", [name for name, table in load_tables().TABLES.items() if table.derive])
def test_a_derived_table_is_what_its_script_renders(name: str):
    tables = load_tables()
    assert tables.marked_tables(README)[name] == tables.TABLES[name].derive(README)


@pytest.mark.parametrize("name", [name for name, table in load_tables().TABLES.items() if table.layout])
def test_a_measured_table_has_the_columns_and_rows_its_command_produces(name: str):
    tables = load_tables()
    table = tables.TABLES[name]
    assert table.labels(tables.marked_tables(README)[name]) == table.layout()


@pytest.mark.slow
def test_the_check_mode_names_a_stale_table(tmp_path: Path):
    """`--check` on a README whose derived table was edited by hand: exit 1 naming it."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    shutil.copytree(ROOT / "examples" / "ladders", copy / "examples" / "ladders")
    tables = load_tables()
    body = tables.marked_tables(README)["ladder-scoreboard"]
    (copy / "README.md").write_text(README.replace(body, body.replace("0.", "0.9", 1)), encoding="utf-8")
    check = [sys.executable, str(copy / "scripts" / "readme_tables.py"), "--check"]
    stale = subprocess.run(check, capture_output=True, text=True, timeout=120)
    assert stale.returncode == 1 and "ladder-scoreboard" in stale.stderr, stale.stderr
    subprocess.run(check[:-1], check=True, timeout=120)  # rewrite
    assert (copy / "README.md").read_text(encoding="utf-8") == README


def test_the_ladder_table_is_rendered_from_the_ladder_runs(tmp_path: Path):
    """From run folders laid out as ladder.py writes them (`--out DIR`: DIR/TASK/RUNG/RUN/runs.csv), the table has the
    README's layout, each figure the mean over the runs' seeds and the rung's chance in its label."""
    import pandas

    tables = load_tables()
    header, labels = tables.ladder_layout()
    cells = header[2:]
    for row, (task, rung, _) in enumerate(labels):
        for seed in (0, 1):  # two runs of a rung, one seed each: the figure is their mean
            folder = tmp_path / task / rung / f"run-{seed}"
            folder.mkdir(parents=True)
            pandas.DataFrame({"cell": cells, "seed": seed, "chance": 0.25,
                              "test_accuracy": [(row + column + seed) / 100 for column in range(len(cells))]}
                             ).to_csv(folder / "runs.csv", index=False)
    table = tables.TABLES["ladder"].render(tmp_path)
    assert tables.ladder_table_layout(table) == (header, labels)
    rows = tables.markdown_rows(table)[1:]
    assert [row[1].endswith("; chance 0.25)") for row in rows] == [True] * len(labels)
    assert [[float(value) for value in row[2:]] for row in rows] == \
           [[(index + column + 0.5) / 100 for column in range(len(cells))] for index in range(len(labels))]
