"""Delétang et al.'s tasks: every answer checked against a plain Python computation, the tape layout against
hand-written examples, and the training and test draws against the paper's protocol."""
from __future__ import annotations

import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest

import benchsuite.repro
from benchsuite import BenchInputError
from benchsuite_plugins.tasks.data.chomsky import (
    BLANK,
    PAD,
    TASKS,
    chomsky_task,
    length_generalisation_score,
    length_sweep,
    sample_batch,
    tapes,
)

IGNORED = None  # how a decoded target reads where nothing is scored


def decode(task, x, y):
    """Each row as (its string, as symbols; its answer, as symbols read at the blanks; the targets under the
    string). The string ends at the first blank."""
    vocab = task.vocab
    for row, targets in zip(x, y):
        symbols = [vocab[code] for code in row]
        end = symbols.index(BLANK)
        tape_end = len(symbols) - symbols[::-1].index(BLANK)
        assert all(symbol == BLANK for symbol in symbols[end:tape_end]) and set(symbols[tape_end:]) <= {PAD}
        answers = [vocab[code] if code >= 0 else IGNORED for code in targets]
        assert all(answer is IGNORED for answer in answers[:end] + answers[tape_end:])
        yield symbols[:end], answers[end:tape_end]


def parity(string):
    return [str(string.count("1") % 2)]


def even_pairs(string):
    unequal = sum(first != second for first, second in zip(string, string[1:]))
    return [str(unequal % 2)]


def modular_arithmetic(string):
    # Python's own precedence binds * first and reads a - b * c as a + (-(b * c)), as the paper does; Python's %
    # of a negative number by 5 is already in 0..4.
    return [str(eval("".join(string)) % 5)]


def cycle_navigation(string):
    place = 0
    for move in string:
        place = (place + {"<": -1, "=": 0, ">": 1}[move]) % 5
    return [str(place)]


def stack_manipulation(string):
    stack = []
    for symbol in string:
        if symbol == "POP":
            if stack:
                stack.pop()
        else:
            stack.append(symbol[-1])  # "0", "1", "PUSH0", "PUSH1" push their last character
    answer = stack[::-1] + ["$"]
    return answer + [IGNORED] * (len(string) + 1 - len(answer))


ORACLES = {"parity_check": parity, "even_pairs": even_pairs, "modular_arithmetic": modular_arithmetic,
           "cycle_navigation": cycle_navigation, "stack_manipulation": stack_manipulation,
           "reverse_string": lambda string: string[::-1], "duplicate_string": lambda string: string + string}


def test_every_task_has_an_oracle_here():
    assert set(ORACLES) == set(TASKS)


def as_strings(task, *strings):
    return np.array([[task.symbols.index(symbol) for symbol in string] for string in strings])


@pytest.mark.parametrize("name, string, answer", [
    ("parity_check", "1101", ["1"]),
    ("parity_check", "0", ["0"]),
    ("even_pairs", "abba", ["0"]),
    ("even_pairs", "abbb", ["1"]),
    ("modular_arithmetic", "1+2*3", ["2"]),
    ("modular_arithmetic", "1-1-1", ["4"]),
    ("modular_arithmetic", "3-4*2", ["0"]),
    ("modular_arithmetic", "0*1+4*3-2", ["0"]),
    ("cycle_navigation", "<<=", ["3"]),
    ("cycle_navigation", ">>>>>>=", ["1"]),
    ("reverse_string", "011", ["1", "1", "0"]),
    ("duplicate_string", "10", ["1", "0", "1", "0"]),
    ("stack_manipulation", ["0", "1", "1", "0", "PUSH1", "POP", "POP"],
     ["1", "1", "0", "$", IGNORED, IGNORED, IGNORED, IGNORED]),
    ("stack_manipulation", ["1", "1", "0", "POP", "POP", "POP", "POP", "PUSH0"],
     ["0", "$", *[IGNORED] * 7]),
])
def test_tape_is_the_string_then_one_blank_per_answer_token_scored_only_there(name, string, answer):
    task = TASKS[name]
    x, y = tapes(task, as_strings(task, string))
    vocab = task.vocab
    assert [vocab[code] for code in x[0]] == list(string) + [BLANK] * len(answer)
    assert [vocab[code] if code >= 0 else IGNORED for code in y[0]] == [IGNORED] * len(string) + answer


@pytest.mark.parametrize("name", TASKS)
def test_answers_agree_with_a_plain_python_computation_at_every_length(name):
    task = TASKS[name]
    lengths = [1, 2, 3, 4, 7, 8, 40, 41, 60]
    x, y, slices = length_sweep(task, np.random.default_rng(1), lengths, per_length=40)
    assert np.array_equal(slices, np.repeat(lengths, 40))
    for length, (string, answer) in zip(slices, decode(task, x, y)):
        # modular arithmetic keeps expressions odd: an even length loses its last symbol, as in the paper
        assert len(string) == (length - 1 + length % 2 if name == "modular_arithmetic" else length)
        assert set(string) <= set(task.symbols)
        assert answer == ORACLES[name](string), string


@pytest.mark.parametrize("name", TASKS)
def test_training_batches_are_fresh_and_share_one_length_drawn_from_1_to_the_maximum(name):
    task = TASKS[name]
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(300):
        x, y = sample_batch(task, rng, batch_size=16, max_length=8)
        rows = list(decode(task, x, y))
        string_lengths = {len(string) for string, _ in rows}
        assert len(string_lengths) == 1 and x.shape[0] == 16
        seen |= string_lengths
        assert all(answer == ORACLES[name](string) for string, answer in rows)
    expected = set(range(1, 9, 2)) if name == "modular_arithmetic" else set(range(1, 9))
    assert seen == expected
    first, second = sample_batch(task, rng, 64, max_length=40), sample_batch(task, rng, 64, max_length=40)
    assert first[0].shape != second[0].shape or not np.array_equal(first[0], second[0])


@pytest.mark.parametrize("name", [name for name, task in TASKS.items() if task.chance is not None])
def test_answers_are_balanced_so_guessing_reaches_the_papers_chance(name):
    task = TASKS[name]
    x, y, _ = length_sweep(task, np.random.default_rng(3), [41, 50], per_length=3000)
    shares = np.unique(y[y >= 0], return_counts=True)[1] / (y >= 0).sum()
    assert len(shares) == round(1 / task.chance)
    assert np.allclose(shares, task.chance, atol=0.03), shares


def test_modular_arithmetic_draws_digits_and_operators_uniformly_at_alternate_places():
    task = TASKS["modular_arithmetic"]
    x, y, _ = length_sweep(task, np.random.default_rng(4), [41], per_length=2000)
    string = np.array([[task.vocab[code] for code in row[:41]] for row in x])
    digits, operators = string[:, 0::2], string[:, 1::2]
    assert set(digits.ravel()) == set("01234") and set(operators.ravel()) == set("+-*")
    for symbols, kinds in ((digits, "01234"), (operators, "+-*")):
        shares = [np.mean(symbols == kind) for kind in kinds]
        assert np.allclose(shares, 1 / len(kinds), atol=0.01), shares


def test_stack_manipulation_writes_a_nonempty_initial_stack_before_its_actions():
    task = TASKS["stack_manipulation"]
    length = 30
    x, y, _ = length_sweep(task, np.random.default_rng(5), [length], per_length=3000)
    sizes = []
    for string, _ in decode(task, x, y):
        is_bit = [symbol in ("0", "1") for symbol in string]
        size = is_bit.index(False) if False in is_bit else len(string)
        assert not any(is_bit[size:])  # no bit after the first action
        sizes.append(size)
    assert min(sizes) == 1 and max(sizes) == length - 1  # initial stacks of 1..length-1 bits
    assert abs(np.mean(sizes) - length / 2) < 1


def test_sweep_pads_shorter_tapes_with_pad_and_unscored_targets():
    task = TASKS["duplicate_string"]
    x, y, slices = length_sweep(task, np.random.default_rng(6), [2, 5], per_length=3)
    pad = task.vocab.index(PAD)
    assert x.shape == (6, 15) and list(slices) == [2, 2, 2, 5, 5, 5]
    assert (x[:3, 6:] == pad).all() and (y[:3, 6:] < 0).all() and (x[3:] != pad).all()


def test_score_is_the_mean_per_length_accuracy_beyond_the_training_lengths():
    accuracy = {39: 0.0, 40: 0.0, 41: 0.5, 42: 1.0, 100: 0.75}
    assert length_generalisation_score(accuracy) == pytest.approx((0.5 + 1.0 + 0.75) / 3)
    assert length_generalisation_score(accuracy, train_max_length=41) == pytest.approx((1.0 + 0.75) / 2)
    with pytest.raises(BenchInputError, match="beyond the training lengths"):
        length_generalisation_score({10: 1.0, 40: 1.0})


def test_unknown_task_and_empty_or_zero_requests_are_bad_input():
    with pytest.raises(BenchInputError, match="unknown Delétang task 'parity'; known: parity_check, even_pairs"):
        chomsky_task("parity")
    assert chomsky_task("parity_check") is TASKS["parity_check"]
    task, rng = TASKS["parity_check"], np.random.default_rng(0)
    with pytest.raises(BenchInputError, match="at least one length"):
        length_sweep(task, rng, [], per_length=4)
    with pytest.raises(BenchInputError, match="need length >= 1 and count >= 1"):
        length_sweep(task, rng, [0], per_length=4)
    with pytest.raises(BenchInputError, match="need length >= 1 and count >= 1"):
        sample_batch(task, rng, batch_size=0)


def test_reproduction_file_covers_every_task_at_both_scales_and_publishes_each():
    path = Path(benchsuite.repro.__file__).parent / "protocols" / "deletang.toml"
    repro = tomllib.loads(path.read_text(encoding="utf-8"))
    assert all(set(repro["protocol"][scale]["tasks"]) == set(TASKS) for scale in ("paper", "cpu"))
    assert {row["task"] for row in repro["published"]} == set(TASKS)


@pytest.mark.parametrize("name", TASKS)
def test_task_data_survives_the_pickling_that_ships_it_to_an_isolated_or_ray_worker(name):
    from benchsuite_plugins.tasks.chomsky_tasks import build_chomsky

    data = build_chomsky(name, test_last=50, test_every=9, per_length=2)
    copy = pickle.loads(pickle.dumps(data))
    for batch, shipped in zip(*(
            [sampler(np.random.default_rng(4), 8) for _ in range(5)] for sampler in (data.sample_batch,
                                                                                      copy.sample_batch))):
        assert all(np.array_equal(mine, theirs) for mine, theirs in zip(batch, shipped))
    assert np.array_equal(copy.x_test, data.x_test) and np.array_equal(copy.test_slices, data.test_slices)
