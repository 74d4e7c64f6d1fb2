"""`text`: any UTF-8 file as a char-level task with a held-out tail, bpc, and one message per bad file."""
import math

import numpy as np
import pytest

import benchsuite
from benchsuite.report.console import format_runs
from benchsuite_plugins.tasks.char_tasks import build_text
from helpers.cli import assert_bad_input

SAMPLE = "the quick brown fox jumps over the lazy dog; ünïcödé ✓ too.\n" * 40


def write(tmp_path, content: bytes, name="corpus.txt"):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_windows_follow_the_text_and_never_cross_into_the_held_out_tail_or_its_halves(tmp_path):
    data = build_text(write(tmp_path, SAMPLE.encode()), seq_len=16, valid_fraction=0.25)
    start = len(SAMPLE) - int(len(SAMPLE) * 0.25)
    middle = (start + len(SAMPLE)) // 2
    assert data.vocab == sorted(set(SAMPLE))
    assert np.array_equal(data.x_train[:, 1:], data.y_train[:, :-1])  # targets are the inputs moved on by one
    train_text = "".join("".join(data.vocab[i] for i in row) for row in data.x_train)
    assert train_text == SAMPLE[:len(train_text)]
    assert len(data.x_train) == (start - 1) // 16 and len(data.x_valid) == (middle - start - 1) // 16
    assert len(data.x_test) == (len(SAMPLE) - middle - 1) // 16
    parts = ((data.x_train, data.y_train, SAMPLE[:start]), (data.x_valid, data.y_valid, SAMPLE[start:middle]),
             (data.x_test, data.y_test, SAMPLE[middle:]))
    for x, y, part in parts:
        for row, (inputs, targets) in enumerate(zip(x, y)):
            window = part[row * 16:row * 16 + 17]
            assert "".join(data.vocab[i] for i in inputs) == window[:-1]
            assert "".join(data.vocab[i] for i in targets) == window[1:]


def test_a_leading_byte_order_mark_is_not_a_character(tmp_path):
    data = build_text(write(tmp_path, b"\xef\xbb\xbf" + SAMPLE.encode()), seq_len=16)
    assert "\ufeff" not in data.vocab


def test_rows_report_bpc_as_held_out_loss_over_ln2(tmp_path):
    path = write(tmp_path, SAMPLE.encode())
    table = benchsuite.run(tasks="text", cells="rnn,gru", task_opts=[f"text.path={path}", "text.seq_len=16"],
                           hidden=8, epochs=2, seeds="0,1", out=tmp_path / "out", device="cpu",
                           threads=1)
    assert len(table) == 4 and (table["status"] == "ok").all()
    assert table["valid_loss"].notna().all()
    assert table["bpc"].tolist() == pytest.approx((table["valid_loss"] / math.log(2)).tolist(), rel=1e-12)
    assert table["test_bpc"].tolist() == pytest.approx((table["test_loss"] / math.log(2)).tolist(), rel=1e-12)
    assert (table["batch_size"] == 64).all()
    assert {"valid_acc", "bpc"} <= set(format_runs(table).splitlines()[0].split())


BAD_FILES = {
    "missing": (None, "no such file"),
    "empty": (b"", "the file is empty"),
    "short": (b"only a few words", "shorter than one window: 16 characters"),
    "not utf-8": (b"caf\xe9 au lait " * 20, "not UTF-8 text (byte 0xe9 at offset 3"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_corpus_is_exit_2_with_one_clear_message(bench, tmp_path, case):
    content, message = BAD_FILES[case]
    path = str(tmp_path / "absent.txt") if content is None else write(tmp_path, content)
    result = bench("run", "--tasks", "text", "--task-opt", f"text.path={path}")
    assert_bad_input(result, message, f"text.path={path}")
    assert result.stdout == ""


def test_short_file_message_says_how_long_it_must_be(bench, tmp_path):
    path = write(tmp_path, b"x" * 19)
    assert_bad_input(bench("run", "--tasks", "text", "--task-opt", f"text.path={path}", "--task-opt", "text.seq_len=9",
                           "--task-opt", "text.valid_fraction=0.5"), "needs at least 20")
    data = build_text(write(tmp_path, b"x" * 20, "twenty.txt"), seq_len=9, valid_fraction=0.5)  # and 20 is enough
    assert data.x_test is None and len(data.x_valid) == 1  # a tail of one window is all validation


@pytest.mark.parametrize("options, message", [
    ([], "text.path: no file given"),
    (["text.path=."], "is a folder"),
    (["text.path=a.txt", "text.colour=red"], "task 'text' has no option 'colour'; its options: path, seq_len, "
                                             "valid_fraction"),
    (["text.path=a.txt", "text.seq_len=ten"], "text.seq_len=ten: expected"),
    (["text.path=a.txt", "text.valid_fraction=1.5"], "text.valid_fraction: expected a share between 0 and 1"),
])
def test_bad_text_options_are_exit_2(bench, options, message):
    arguments = ["run", "--tasks", "text"]
    for option in options:
        arguments += ["--task-opt", option]
    assert_bad_input(bench(*arguments), message)


def test_nanogpt_split_is_at_floor_nine_tenths_and_keeps_every_code():
    from benchsuite_plugins.tasks.data.char import train_valid_split
    for n in (10, 11, 19, 1_115_394):
        codes = np.arange(n)
        train, valid = train_valid_split(codes)
        assert len(train) == math.floor(n * 9 / 10) and np.array_equal(np.concatenate([train, valid]), codes)
    with pytest.raises(benchsuite.BenchInputError, match="between 0 and 1"):
        train_valid_split(np.arange(10), 1.0)


def test_random_windows_are_contiguous_slices_with_targets_one_code_on_and_starts_anywhere():
    from benchsuite_plugins.tasks.data.char import random_windows
    text = "".join(chr(ord("a") + i % 26) + str(i) for i in range(60))  # no slice occurs twice
    codes = np.array([ord(char) for char in text])
    x, y = random_windows(codes, np.random.default_rng(0), batch=3000, context=8)
    assert x.shape == y.shape == (3000, 8)
    starts = set()
    for inputs, targets in zip(x, y):
        window = "".join(map(chr, inputs))
        start = text.index(window)
        assert "".join(map(chr, targets)) == text[start + 1:start + 9]
        starts.add(start)
    assert starts == set(range(len(text) - 8))  # every start that leaves room for the last target
    with pytest.raises(benchsuite.BenchInputError, match="needs 9 codes, only 8 given"):
        random_windows(codes[:8], np.random.default_rng(0), batch=1, context=8)
