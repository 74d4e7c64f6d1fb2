"""Memory diagnostics: multi-query associative recall (Zoology's MQAR), selective copying (MAD, Mamba), induction."""
from __future__ import annotations

from typing import Callable

from benchsuite import BenchInputError, TaskData, TaskSpec, hookimpl

from .task_options import check_range, check_samples

# numpy and the array helpers are imported inside the builders, so that `bench list` stays light.

KEYS, VALUES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
FILLER, DELIMITER, TRIGGER = ".", "|", "^"


def build_recall(vocab: int = 8, kv_pairs: int = 2, seq_len: int = 12, queries: int = 4,
                 samples: int = 2000) -> TaskData:
    """Key-value pairs (1..kv_pairs per row), then queries of the keys; the answer to a query is its value.

    `vocab` symbols, half keys (A, B, ...) and half values (a, b, ...); the rest of the row is filler (.).
    Sliced by the row's number of pairs.
    """
    check_samples("recall", samples)
    check_range("recall", "vocab", vocab, 2, len(KEYS) + len(VALUES))
    keys, values = vocab // 2, vocab - vocab // 2
    if not 1 <= kv_pairs <= keys:
        raise BenchInputError(f"recall.kv_pairs: must lie in 1..{keys} (the keys among vocab={vocab}), got {kv_pairs}")
    if queries < 1:
        raise BenchInputError(f"recall.queries: must be at least 1, got {queries}")
    needed = 2 * kv_pairs + min(queries, kv_pairs)
    if seq_len < needed:
        raise BenchInputError(f"recall.seq_len: {kv_pairs} pairs and their queries need at least {needed} steps, "
                              f"got {seq_len}")
    from .data.memory import recall_rows
    from .data.splits import generated_task

    return generated_task([*KEYS[:keys], *VALUES[:values], FILLER], samples,
                          lambda split, rng, rows: recall_rows(rng, rows, keys, values, kv_pairs, seq_len, queries),
                          slice_name="kv_pairs")


def build_copy(seq_len: int = 24, tokens: int = 4, vocab: int = 8, samples: int = 2000) -> TaskData:
    """`tokens` symbols scattered among noise (.), then delimiters (|) at which to emit them in order."""
    check_samples("copy", samples)
    check_range("copy", "vocab", vocab, 2, len(VALUES))
    if not 1 <= tokens <= seq_len // 2:
        raise BenchInputError(f"copy.tokens: must lie in 1..seq_len/2 = {seq_len // 2} (the tokens are scattered "
                              f"over the first seq_len - tokens steps, then emitted), got {tokens}")
    from .data.memory import copy_rows
    from .data.splits import generated_task

    return generated_task([*VALUES[:vocab], FILLER, DELIMITER], samples,
                          lambda split, rng, rows: copy_rows(rng, rows, vocab, seq_len, tokens))


def build_induction(seq_len: int = 32, vocab: int = 8, samples: int = 2000) -> TaskData:
    """Random symbols with a trigger (^) twice, the second at the end: predict the symbol after the first."""
    check_samples("induction", samples)
    check_range("induction", "vocab", vocab, 2, len(VALUES))
    if seq_len < 3:
        raise BenchInputError(f"induction.seq_len: must be at least 3 (trigger, symbol, trigger), got {seq_len}")
    from .data.memory import induction_rows
    from .data.splits import generated_task

    return generated_task([*VALUES[:vocab], TRIGGER], samples,
                          lambda split, rng, rows: induction_rows(rng, rows, vocab, seq_len))


MEMORY_DEFAULTS = {"hidden_size": 64, "num_layers": 1, "epochs": 10, "lr": 0.01, "batch_size": 32}


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(TaskSpec("recall", build_recall, "multi-query associative recall: the value of each queried key",
                      causal=True, defaults={**MEMORY_DEFAULTS, "epochs": 20}))
    register(TaskSpec("copy", build_copy, "selective copying: emit the scattered tokens in order", causal=True,
                      defaults=MEMORY_DEFAULTS))
    register(TaskSpec("induction", build_induction, "after a trigger recurs, the symbol that followed it first",
                      causal=True, defaults=MEMORY_DEFAULTS))
