"""The tasks of Delétang et al. 2023 ("Neural Networks and the Chomsky Hierarchy", Table 2), built as the paper
builds them: pure NumPy, no model code.

Layout (the paper's): the input tape is the string, then one BLANK per answer token; the answer is read at those
blank positions only (targets elsewhere are IGNORED) and scored per token. Every string of a batch has one length;
training draws that length uniformly in 1..40 and a fresh batch every step (`sample_batch`); the test set holds
`per_length` strings of every test length, sliced by length (`length_sweep`), and the score is the mean of the
per-length accuracies beyond the training lengths (`length_generalisation_score`).

Input and answer codes share one vocabulary (the suite's convention): the input symbols first (so a string's
codes are its vocabulary codes), then BLANK, PAD, and the answer symbols the inputs do not already name.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Mapping

import numpy as np

from benchsuite import BenchInputError

from .splits import IGNORED, PAD

BLANK = "?"  # the extra input symbol at every position where an answer token is read
TRAIN_MAX_LENGTH = 40  # the paper trains on lengths 1..40 and scores lengths 41..500
MODULUS = 5  # modular arithmetic and cycle navigation count mod 5

# A sampler: (rng, count, length) -> strings (count, string length) as input-symbol codes. An answerer: strings ->
# answers (count, answer length) as answer-symbol codes, IGNORED where a token is not scored.
Sampler = Callable[[np.random.Generator, int, int], np.ndarray]
Answerer = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ChomskyTask:
    """One task: its alphabets, where the paper places it (regular, DCF, CS), chance, and how strings are drawn
    and answered."""

    name: str
    level: str
    symbols: tuple[str, ...]
    answers: tuple[str, ...]
    chance: float | None  # the paper's chance accuracy; None where the paper states none
    sample: Sampler
    answer: Answerer

    @property
    def vocab(self) -> list[str]:
        return [*self.symbols, BLANK, PAD, *(a for a in self.answers if a not in self.symbols)]

    @property
    def answer_codes(self) -> np.ndarray:
        """Vocabulary code of each answer symbol."""
        vocab = self.vocab
        return np.array([vocab.index(answer) for answer in self.answers])


def _uniform_strings(symbols: int, rng: np.random.Generator, count: int, length: int) -> np.ndarray:
    return rng.integers(0, symbols, size=(count, length))


def _uniform(symbols: int) -> Sampler:
    # a partial, not a closure: the isolated and Ray executors pickle a task's data (and its sampler) to a child
    return partial(_uniform_strings, symbols)


def _parity(strings: np.ndarray) -> np.ndarray:
    return strings.sum(axis=1, keepdims=True) % 2


def _unequal_pairs_parity(strings: np.ndarray) -> np.ndarray:
    return (strings[:, 1:] != strings[:, :-1]).sum(axis=1, keepdims=True) % 2


OPERATORS = ("+", "-", "*")  # codes MODULUS + 0, 1, 2 in modular arithmetic's input alphabet
PLUS, MINUS, TIMES = range(MODULUS, MODULUS + len(OPERATORS))


def _expressions(rng: np.random.Generator, count: int, length: int) -> np.ndarray:
    """Digits at even positions, operators at odd ones, all uniform; an even length loses one symbol, as in
    the paper (an expression has odd length)."""
    length -= 1 - length % 2
    strings = np.empty((count, length), dtype=np.int64)
    strings[:, 0::2] = rng.integers(0, MODULUS, size=(count, (length + 1) // 2))
    strings[:, 1::2] = rng.integers(PLUS, TIMES + 1, size=(count, length // 2))
    return strings


def _expression_value(strings: np.ndarray) -> np.ndarray:
    """Left to right: `term` is the signed product being built, `total` the sum of the finished terms; `*` binds
    first, and `a - b` is `a + (-b)`."""
    total = np.zeros(len(strings), dtype=np.int64)
    term = strings[:, 0].copy()
    for position in range(1, strings.shape[1], 2):
        operator, digit = strings[:, position], strings[:, position + 1]
        finishes = operator != TIMES
        total = np.where(finishes, (total + term) % MODULUS, total)
        term = np.where(finishes, np.where(operator == MINUS, -digit, digit), term * digit % MODULUS)
    return ((total + term) % MODULUS)[:, None]


def _final_place(strings: np.ndarray) -> np.ndarray:
    """Moves 0, 1, 2 step -1, 0, +1 on a cycle of MODULUS places from place 0; the answer is the last place."""
    return (strings - 1).sum(axis=1, keepdims=True) % MODULUS


def _reversed(strings: np.ndarray) -> np.ndarray:
    return strings[:, ::-1].copy()


def _twice(strings: np.ndarray) -> np.ndarray:
    return np.concatenate([strings, strings], axis=1)


STACK_SYMBOLS = ("0", "1", "POP", "PUSH0", "PUSH1")
POP, PUSH0 = 2, 3  # PUSH1 is PUSH0 + 1: pushing code - PUSH0
TERMINATOR = 2  # answer code of "$", after the final stack


def _stack_programs(rng: np.random.Generator, count: int, length: int) -> np.ndarray:
    """The initial stack written bottom to top (1..length-1 bits; the whole string when length is 1), then
    uniform actions for the rest of the length.

    The paper says only "an initial stack"; its authors' generator puts that stack on the tape before the actions,
    as here, so the string's length counts both and the answer (at most length symbols) always fits."""
    stack_size = rng.integers(1, length, size=count) if length > 1 else np.ones(count, dtype=np.int64)
    in_stack = np.arange(length) < stack_size[:, None]
    return np.where(in_stack, rng.integers(0, 2, size=(count, length)),
                    rng.integers(POP, PUSH0 + 2, size=(count, length)))


def _final_stack(strings: np.ndarray) -> np.ndarray:
    """A bit pushes itself, PUSH0/PUSH1 push 0/1, a POP on an empty stack does nothing. The answer, length + 1
    tokens: the final stack top first, the terminator, then padding that is not scored.

    The paper masks that padding out of its accuracy only (its loss learns to emit 0 there); with one target
    array it is IGNORED here by loss and accuracy alike."""
    count, length = strings.shape
    rows = np.arange(count)
    stack = np.zeros((count, length), dtype=np.int64)
    depth = np.zeros(count, dtype=np.int64)
    for position in range(length):  # vectorised over rows; each step acts on the stack the last one left
        code = strings[:, position]
        pushes = code != POP
        stack[rows[pushes], depth[pushes]] = np.where(code < POP, code, code - PUSH0)[pushes]
        depth = np.where(pushes, depth + 1, np.maximum(depth - 1, 0))
    places = np.arange(length)
    from_top = np.take_along_axis(stack, np.clip(depth[:, None] - 1 - places, 0, length - 1), axis=1)
    answers = np.full((count, length + 1), IGNORED, dtype=np.int64)
    answers[:, :length] = np.where(places < depth[:, None], from_top, IGNORED)
    answers[rows, depth] = TERMINATOR
    return answers


BINARY = ("0", "1")
DIGITS = tuple(str(digit) for digit in range(MODULUS))
TASKS: Mapping[str, ChomskyTask] = {task.name: task for task in (
    ChomskyTask("parity_check", "regular", BINARY, BINARY, 0.5, _uniform(2), _parity),
    ChomskyTask("even_pairs", "regular", ("a", "b"), BINARY, 0.5, _uniform(2), _unequal_pairs_parity),
    ChomskyTask("modular_arithmetic", "regular", DIGITS + OPERATORS, DIGITS, 1 / MODULUS, _expressions,
                _expression_value),
    ChomskyTask("cycle_navigation", "regular", ("<", "=", ">"), DIGITS, 1 / MODULUS, _uniform(3), _final_place),
    ChomskyTask("stack_manipulation", "DCF", STACK_SYMBOLS, ("0", "1", "$"), None, _stack_programs,
                _final_stack),
    ChomskyTask("reverse_string", "DCF", BINARY, BINARY, 0.5, _uniform(2), _reversed),
    ChomskyTask("duplicate_string", "CS", BINARY, BINARY, 0.5, _uniform(2), _twice),
)}


def chomsky_task(name: str) -> ChomskyTask:
    """The task called `name`; an unknown name is bad input."""
    if name not in TASKS:
        raise BenchInputError(f"unknown Delétang task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]


def tapes(task: ChomskyTask, strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tapes for `strings` (rows of input-symbol codes, one length): inputs (the string, then one BLANK per answer
    token) and targets (IGNORED under the string, the answer's vocabulary codes under the blanks)."""
    answers = task.answer(strings)
    count, answer_length = answers.shape
    x = np.concatenate([strings, np.full((count, answer_length), task.vocab.index(BLANK))], axis=1)
    scored = np.where(answers >= 0, task.answer_codes[np.maximum(answers, 0)], IGNORED)
    return x, np.concatenate([np.full(strings.shape, IGNORED), scored], axis=1)


def draw_tapes(task: ChomskyTask, rng: np.random.Generator, count: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` fresh tapes whose strings all have `length` symbols (modular arithmetic: the odd length at most it)."""
    if length < 1 or count < 1:
        raise BenchInputError(f"{task.name}: need length >= 1 and count >= 1, got length={length}, count={count}")
    return tapes(task, task.sample(rng, count, length))


def sample_batch(task: ChomskyTask, rng: np.random.Generator, batch_size: int,
                 max_length: int = TRAIN_MAX_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """A fresh training batch: one length drawn uniformly in 1..max_length, shared by every row."""
    return draw_tapes(task, rng, batch_size, int(rng.integers(1, max_length + 1)))


def length_sweep(task: ChomskyTask, rng: np.random.Generator, lengths: Iterable[int],
                 per_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`per_length` tapes of every string length in `lengths`, one array: inputs, targets and each row's length
    (its slice). Tapes shorter than the longest are padded with PAD and IGNORED; a causal reader never sees it.

    Size: rows x the longest tape; the paper's sweep (460 lengths x 512 rows, duplicate_string's tapes up to
    1,500) does not fit one array, so sweep fewer lengths or fewer rows at a time."""
    lengths = list(lengths)
    if not lengths:
        raise BenchInputError(f"{task.name}: the test sweep needs at least one length")
    pad = task.vocab.index(PAD)
    batches = [draw_tapes(task, rng, per_length, length) for length in lengths]
    width = max(x.shape[1] for x, _ in batches)
    x = np.concatenate([np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=pad) for x, _ in batches])
    y = np.concatenate([np.pad(y, ((0, 0), (0, width - y.shape[1])), constant_values=IGNORED) for _, y in batches])
    return x, y, np.repeat(lengths, per_length)


def length_generalisation_score(accuracy_by_length: Mapping[int, float],
                                train_max_length: int = TRAIN_MAX_LENGTH) -> float:
    """The paper's score: the mean of the per-length accuracies over the lengths beyond training."""
    beyond = [accuracy for length, accuracy in accuracy_by_length.items() if length > train_max_length]
    if not beyond:
        raise BenchInputError(f"no accuracy measured beyond the training lengths (1..{train_max_length})")
    return float(np.mean(beyond))
