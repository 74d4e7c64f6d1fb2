"""The row reader resume relies on: what the appender wrote reads back exactly, a file cut anywhere reads as its
whole rows, anything else is refused as bad input."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from benchsuite.errors import BenchInputError
from benchsuite.results.files import CsvAppender, read_csv_rows
from benchsuite.results.schema import SCHEMA_VERSION

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # any character a str can hold in UTF-8
columns = st.lists(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8), min_size=1,
                   max_size=4, unique=True).filter(lambda names: "schema_version" not in names)


@st.composite
def tables(draw) -> tuple[list[str], list[dict[str, str]]]:
    names = draw(columns)
    rows = draw(st.lists(st.fixed_dictionaries({column: text for column in names}), max_size=6))
    return ["schema_version", *names], rows


def append_each(path: Path, names: list[str], rows: list[dict[str, str]]) -> list[int]:
    """Append the rows one at a time, as a run does; the file's size once the header and then each row is on disk."""
    appender = CsvAppender(path, names)
    sizes = [path.stat().st_size]
    for row in rows:
        appender.append([row])
        sizes.append(path.stat().st_size)
    appender.close()
    return sizes


def stamped(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"schema_version": str(SCHEMA_VERSION), **row} for row in rows]


@settings(max_examples=60)
@given(tables())
def test_what_is_appended_reads_back_exactly(table):
    names, rows = table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "runs.csv"
        append_each(path, names, rows)
        assert read_csv_rows(path) == stamped(rows)


@settings(max_examples=60)
@given(tables(), st.data())
def test_a_file_cut_anywhere_reads_as_its_whole_rows(table, data):
    """What `kill -9` (or a lost disk cache) can leave: a prefix of the bytes; it must read as the rows before it."""
    names, rows = table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "runs.csv"
        sizes = append_each(path, names, rows)
        cut = data.draw(st.integers(0, sizes[-1]), label="cut")
        path.write_bytes(path.read_bytes()[:cut])
        whole = sum(1 for size in sizes[1:] if size <= cut)
        assert read_csv_rows(path) == stamped(rows[:whole])


@settings(max_examples=100)
@given(st.binary(max_size=200))
def test_any_bytes_are_rows_or_bad_input(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "some.csv"
        path.write_bytes(content)
        try:
            rows = read_csv_rows(path)
        except BenchInputError as exc:
            assert str(path) in str(exc)
            return
        assert all(isinstance(row, dict) and len(row) >= 1 for row in rows)
