"""Formal languages with length generalisation (Deletang et al. 2023): parity, modular, even-pairs, dyck, reverse.

Training strings have lengths 1..train_len; validation and test strings are longer, train_len+1..test_len, and
only what lies beyond the training lengths is scored there, as in the paper. Rows are padded with `_`.
"""
from __future__ import annotations

from typing import Callable

from benchsuite import BenchInputError, TaskData, TaskSpec, hookimpl

from .task_options import check_range, check_samples

# numpy and the array helpers are imported inside the builders, so that `bench list` stays light.

DIGITS = "0123456789"
OPENERS, CLOSERS = "([{<", ")]}>"
DYCK_ANSWERS = "bux"  # balanced, unfinished (brackets open), broken: in the order of data/formal.py's labels
DELIMITER = "|"


def _check_lengths(task: str, train_len: int, test_len: int, samples: int) -> None:
    if not 1 <= train_len < test_len:
        raise BenchInputError(f"{task}: need 1 <= train_len < test_len (test strings are the longer ones), "
                              f"got train_len={train_len}, test_len={test_len}")
    check_samples(task, samples)


def _length_split(split: str, rng, rows: int, train_len: int, test_len: int):
    """Row lengths for a split, and the longest: 1..train_len to train on, train_len+1..test_len held out."""
    from .data.splits import uniform_lengths

    if split == "train":
        return uniform_lengths(rng, rows, 1, train_len), train_len
    return uniform_lengths(rng, rows, train_len + 1, test_len), test_len


def _prefix_task(vocab: list[str], draw: Callable, label: Callable, samples: int, train_len: int,
                 test_len: int) -> TaskData:
    """A task answering for every prefix: `draw(rng, lengths, width)` makes the strings, `label(x)` the answers.

    Held-out rows score only the prefixes longer than any training string.
    """
    from .data.splits import IGNORED, generated_task, pad_rows

    def make_split(split, rng, rows):
        lengths, width = _length_split(split, rng, rows, train_len, test_len)
        x = draw(rng, lengths, width)
        y = label(x)
        pad_rows(x, y, lengths, vocab.index("_"))
        if split != "train":
            y[:, :train_len] = IGNORED
        return x, y, lengths

    return generated_task(vocab, samples, make_split, slice_name="length")


def _digit_strings(digits: int) -> Callable:
    def draw(rng, lengths, width):
        return rng.integers(0, digits, size=(lengths.size, width))
    return draw


def build_modular(modulus: int = 5, train_len: int = 40, test_len: int = 100, samples: int = 2000) -> TaskData:
    """Digits 0..modulus-1; at every step, the sum of the digits so far mod `modulus`."""
    _check_lengths("modular", train_len, test_len, samples)
    check_range("modular", "modulus", modulus, 2, len(DIGITS))
    from .data.formal import running_sum_labels

    return _prefix_task([*DIGITS[:modulus], "_"], _digit_strings(modulus),
                        lambda x: running_sum_labels(x, modulus), samples, train_len, test_len)


def build_parity(train_len: int = 40, test_len: int = 100, samples: int = 2000) -> TaskData:
    """Bits; at every step, 1 if the count of 1s so far is odd, else 0 (modular arithmetic mod 2)."""
    _check_lengths("parity", train_len, test_len, samples)
    return build_modular(2, train_len, test_len, samples)


def build_even_pairs(train_len: int = 40, test_len: int = 100, samples: int = 2000) -> TaskData:
    """Strings of a and b; at every step, y if the count of ab and ba pairs so far is even, else n."""
    _check_lengths("even-pairs", train_len, test_len, samples)
    from .data.formal import same_as_first_labels

    # codes: a, b, then the answers n (odd: 0 + 2) and y (even: 1 + 2)
    return _prefix_task(["a", "b", "n", "y", "_"], _digit_strings(2), lambda x: same_as_first_labels(x) + 2,
                        samples, train_len, test_len)


def build_dyck(depth: int = 2, kinds: int = 1, train_len: int = 40, test_len: int = 100,
               samples: int = 2000) -> TaskData:
    """Brackets of `kinds` kinds nested at most `depth` deep, half the rows with one bracket changed; at every
    step, b if the prefix is balanced, u if it is well formed with brackets still open, x if it is broken."""
    _check_lengths("dyck", train_len, test_len, samples)
    check_range("dyck", "depth", depth, 1, test_len)
    check_range("dyck", "kinds", kinds, 1, len(OPENERS))
    from .data.formal import dyck_labels, dyck_strings

    brackets = [*OPENERS[:kinds], *CLOSERS[:kinds]]
    return _prefix_task([*brackets, *DYCK_ANSWERS, "_"],
                        lambda rng, lengths, width: dyck_strings(rng, lengths, width, depth, kinds),
                        lambda x: dyck_labels(x, kinds) + len(brackets), samples, train_len, test_len)


def build_reverse(symbols: int = 2, train_len: int = 40, test_len: int = 100, samples: int = 2000) -> TaskData:
    """A word of `symbols` digits, then a delimiter at each step of the answer: the word reversed.

    Lengths are the word's; a row of a word of length n is 2n steps long. Held-out words are all longer than
    the training words, so every answer step is scored there.
    """
    _check_lengths("reverse", train_len, test_len, samples)
    check_range("reverse", "symbols", symbols, 2, len(DIGITS))
    from .data.formal import reverse_rows
    from .data.splits import generated_task, pad_rows

    vocab = [*DIGITS[:symbols], DELIMITER, "_"]

    def make_split(split, rng, rows):
        lengths, longest = _length_split(split, rng, rows, train_len, test_len)
        x, y, _ = reverse_rows(rng, lengths, longest, symbols)
        pad_rows(x, y, 2 * lengths, vocab.index("_"))
        return x, y, lengths

    return generated_task(vocab, samples, make_split, slice_name="length")


FORMAL_DEFAULTS = {"hidden_size": 64, "num_layers": 1, "epochs": 10, "lr": 0.01, "batch_size": 32}


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    tasks = (("parity", build_parity, "is the count of 1s so far odd; tested on longer strings"),
             ("modular", build_modular, "running sum of digits mod `modulus`; tested on longer strings"),
             ("even-pairs", build_even_pairs, "is the count of ab/ba pairs so far even; tested on longer strings"),
             ("dyck", build_dyck, "is the bracket prefix balanced, open or broken; tested on longer strings"),
             ("reverse", build_reverse, "emit the word reversed after it; tested on longer words"))
    for name, build, description in tasks:
        register(TaskSpec(name, build, description, causal=True, defaults=FORMAL_DEFAULTS))
