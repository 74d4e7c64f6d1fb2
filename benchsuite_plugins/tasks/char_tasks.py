"""Tasks that test what recurrent cells are for: fill-in-the-blank (`cloze`), long-range recall (`delay`), any text."""
from __future__ import annotations

from typing import Callable

from benchsuite import BenchInputError, TaskData, TaskSpec, hookimpl

from .task_options import DATA_SEED

# numpy and the array helpers are imported inside the builders, so that `bench list` stays light.

# Common short English words; random sentences of them make a text whose letters are decided by the word
# they sit in, so a blank is best filled by reading both sides of it.
CLOZE_WORDS = (
    "the of and to in is it that was for on are with as his they be at one have this from or had by word but "
    "what some we can out other were all there when up use your how said an each she which do their time if "
    "will way about many then them write would like so these her long make thing see him two has look more "
    "day could go come did number sound no most people my over know water than call first who may down side "
    "been now find"
).split()
MASK = "_"

DELAY_SYMBOLS = "abcdefghijklmnopqrstuvwxyz"
DELAY_DISTRACTORS = "0123456789"
DELAY_CUE = "?"


def build_cloze(seq_len: int = 32, mask_fraction: float = 0.15, samples: int = 2000) -> TaskData:
    """Random word sentences cut into windows, a share of characters masked; predict the masked ones.

    Held-out windows come from sentences drawn separately, so a model must know the words, not the windows;
    the test windows come from a random stream of their own.
    """
    if seq_len < 2 or samples < 1:
        raise BenchInputError(f"cloze: seq_len must be at least 2 and samples at least 1, got {seq_len}, {samples}")
    if not 0 < mask_fraction <= 1:
        raise BenchInputError(f"cloze.mask_fraction: expected a share in (0, 1], got {mask_fraction}")
    import numpy as np

    from .data.char import encode, masked_windows, random_words
    from .data.splits import split_rng

    rng = np.random.default_rng(DATA_SEED)
    vocab = sorted(set("".join(CLOZE_WORDS)) | {" ", MASK})
    splits = []
    held_out = max(samples // 4, 1)
    for count, stream in ((samples, rng), (held_out, rng), (held_out, split_rng("test"))):
        codes = encode(random_words(stream, CLOZE_WORDS, count * seq_len), vocab)
        splits.append(masked_windows(codes, seq_len, mask_fraction, vocab.index(MASK), stream))
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = splits
    return TaskData(vocab, x_train, y_train, x_valid, y_valid, x_test=x_test, y_test=y_test)


def build_delay(gap: int = 30, symbols: int = 4, samples: int = 4000, min_gap: int = 0) -> TaskData:
    """Recall the one symbol of a sequence after distractors; only the last step, a cue, has a target.

    Every sequence is gap + 2 steps long and ends with the cue. Held-out sequences put the symbol first,
    so it must be held across exactly `gap` distractors. Training sequences place it `min_gap` to `gap`
    steps before the cue, uniformly: with default initialisation no cell sees a gradient across 30 steps
    of noise at first, and the shorter spans let a cell find the dependency that it must then keep.
    Test sequences are drawn like the validation ones, from a random stream of their own.
    """
    if gap < 0 or not 0 <= min_gap <= gap:
        raise BenchInputError(f"delay: need 0 <= min_gap <= gap, got gap={gap}, min_gap={min_gap}")
    if not 2 <= symbols <= len(DELAY_SYMBOLS) or samples < 1:
        raise BenchInputError(f"delay: symbols must lie in 2..{len(DELAY_SYMBOLS)} and samples be at least 1, "
                              f"got symbols={symbols}, samples={samples}")
    import numpy as np

    from .data.char import recall_sequences
    from .data.splits import split_rng

    rng = np.random.default_rng(DATA_SEED)
    vocab = list(DELAY_SYMBOLS[:symbols] + DELAY_DISTRACTORS + DELAY_CUE)
    held_out = max(samples // 4, 1)
    draws = ((samples, min_gap, rng), (held_out, gap, rng), (held_out, gap, split_rng("test")))
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (
        recall_sequences(stream, count, gap, shortest, symbols, len(DELAY_DISTRACTORS))
        for count, shortest, stream in draws)
    return TaskData(vocab, x_train, y_train, x_valid, y_valid, ceiling=1.0, x_test=x_test, y_test=y_test)


def _split_point(length: int, seq_len: int, valid_fraction: float) -> int | None:
    """Where the held-out tail starts, or None when either part would hold less than one window."""
    start = length - int(length * valid_fraction)
    return start if min(start, length - start) >= seq_len + 1 else None


def _shortest_length(seq_len: int, valid_fraction: float) -> int:
    """The fewest characters that give both parts one window each.

    Both parts only grow with the length, so the lengths that fit form a range upwards from the answer: find a
    length that fits by doubling, then the first one by bisection (a tiny fraction needs billions of characters).
    """
    low, high = 2 * (seq_len + 1) - 1, 2 * (seq_len + 1)  # `low` never fits, `high` is moved until it does
    while _split_point(high, seq_len, valid_fraction) is None:
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if _split_point(middle, seq_len, valid_fraction) is not None else (middle, high)
    return high


def build_text(path: str | None = None, seq_len: int = 64, valid_fraction: float = 0.1) -> TaskData:
    """Next character of any UTF-8 text, in windows of `seq_len` that do not overlap.

    The last `valid_fraction` of the text is held out, and no window crosses into it: its first half for
    validation, its second for test, where each half holds a window (else all of it validates). The codes are
    kept in the smallest integer type; one-hot inputs are the backend's business, batch by batch. With `--steps`
    each step trains on windows starting anywhere in the training part instead, as nanoGPT draws them.
    """
    if seq_len < 1:
        raise BenchInputError(f"text.seq_len: must be at least 1, got {seq_len}")
    if not 0 < valid_fraction < 1:
        raise BenchInputError(f"text.valid_fraction: expected a share between 0 and 1, got {valid_fraction}")
    from functools import partial

    from .corpus import read_text_file
    from .data.char import code_dtype, encode, next_char_windows, random_windows

    text = read_text_file(path, "text.path")
    start = _split_point(len(text), seq_len, valid_fraction)
    if start is None:
        raise BenchInputError(
            f"text.path={path}: shorter than one window: {len(text)} characters, but seq_len={seq_len} with "
            f"valid_fraction={valid_fraction} needs at least {_shortest_length(seq_len, valid_fraction)} "
            "(a window of seq_len + 1 characters in both the training part and the held-out tail); "
            "use a longer file or a smaller text.seq_len")
    vocab = sorted(set(text))
    codes = encode(text, vocab, code_dtype(len(vocab)))
    del text  # the codes replace it; a big corpus should not be held twice
    x_train, y_train = next_char_windows(codes[:start], seq_len, stride=seq_len)
    fresh = partial(random_windows, codes[:start], context=seq_len)  # (rng, batch_size) -> random windows
    middle = (start + len(codes)) // 2
    if len(codes) - middle < seq_len + 1:
        return TaskData(vocab, x_train, y_train, *next_char_windows(codes[start:], seq_len, stride=seq_len),
                        sample_batch=fresh)
    x_valid, y_valid = next_char_windows(codes[start:middle], seq_len, stride=seq_len)
    x_test, y_test = next_char_windows(codes[middle:], seq_len, stride=seq_len)
    return TaskData(vocab, x_train, y_train, x_valid, y_valid, x_test=x_test, y_test=y_test, sample_batch=fresh)


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(TaskSpec("cloze", build_cloze, f"fill in masked characters ({MASK}) of random word sentences",
                      causal=False,
                      defaults={"hidden_size": 64, "num_layers": 1, "epochs": 10, "lr": 0.01, "batch_size": 64}))
    register(TaskSpec("delay", build_delay, "recall a symbol after `gap` distractor steps", causal=True,
                      defaults={"hidden_size": 32, "num_layers": 1, "epochs": 20, "lr": 0.01, "batch_size": 32}))
    register(TaskSpec("text", build_text, "next character of any UTF-8 text file (text.path=FILE)", causal=True,
                      defaults={"hidden_size": 128, "num_layers": 1, "epochs": 5, "lr": 0.002, "batch_size": 64},
                      selection_metric="bpc"))  # language modelling: judged by bits per character
