"""Memory diagnostics: multi-query associative recall (Zoology's MQAR), selective copying (MAD, Mamba), induction."""
from __future__ import annotations

from dataclasses import replace
from functools import partial
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


def build_mqar(seq_len: int = 64, num_kv_pairs: int = 4, vocab_size: int = 8192, power_a: float = 0.01,
               train_examples: int = 100_000, test_examples: int = 3_000) -> TaskData:
    """Zoology's MQAR (Arora et al. 2023) with its generator (data/mqar.py): integer tokens, keys from the lower
    half of the vocabulary, values from the upper, every key queried once; only the queries are scored.

    Zoology trains on a fixed set of `train_examples` for many epochs; valid and test hold `test_examples` each,
    drawn apart (the fresh-batch sampler is there for `--steps`). Its vocabulary of 8,192 tokens is meant for the
    block backbone: the stack backbone would one-hot it.
    """
    check_range("mqar", "train_examples", train_examples, 1, 10_000_000)
    check_range("mqar", "test_examples", test_examples, 1, 10_000_000)
    from .data.mqar import mqar
    from .data.splits import split_rng

    draw = partial(mqar, seq_len=seq_len, num_kv_pairs=num_kv_pairs, vocab_size=vocab_size, power_a=power_a)
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (
        draw(split_rng(split), count) for split, count in
        (("train", train_examples), ("valid", test_examples), ("test", test_examples)))
    # Guessing any value of the upper half is right once in vocab_size/2 tries.
    return TaskData([str(code) for code in range(vocab_size)], x_train, y_train, x_valid, y_valid, ceiling=1.0,
                    x_test=x_test, y_test=y_test, chance=1 / (vocab_size - vocab_size // 2), sample_batch=draw)


def build_selective_copy(noise_steps: int = 64, num_tokens: int = 4, vocab_size: int = 6,
                         samples: int = 2000) -> TaskData:
    """Selective copying as Mamba (Gu and Dao 2023) sets it and minGRU's paper uses it (data/selective_copy.py):
    `num_tokens` data tokens among `noise_steps` noise steps (.), then markers (|) under which to emit them in
    order. The paper draws fresh rows every step (`--steps`); `samples` rows train without it, a quarter of that
    is held out for valid and for test each.
    """
    check_samples("selective_copy", samples)
    check_range("selective_copy", "vocab_size", vocab_size, 3, len(VALUES) + 2)
    from .data.selective_copy import selective_copy
    from .data.splits import generated_task

    draw = partial(selective_copy, noise_steps=noise_steps, num_tokens=num_tokens, vocab_size=vocab_size)
    data = generated_task([FILLER, *VALUES[:vocab_size - 2], DELIMITER], samples,
                          lambda split, rng, rows: (*draw(rng, rows), None))
    return replace(data, sample_batch=draw)


MEMORY_DEFAULTS = {"hidden_size": 64, "num_layers": 1, "epochs": 10, "lr": 0.01, "batch_size": 32}

# Zoology's Figure 2 recipe at its smallest width (2 blocks, batch 512, 64 epochs; its lrs span 1e-4..1e-2).
MQAR_DEFAULTS = {"hidden_size": 64, "num_layers": 2, "epochs": 64, "lr": 2.2e-3, "batch_size": 512}
# The small public minGRU check: 2,000 fresh batches of 64, Adam 1e-3, width 64; two blocks, the paper's least that
# selects.
SELECTIVE_COPY_DEFAULTS = {"hidden_size": 64, "num_layers": 2, "epochs": 1, "steps": 2000, "lr": 1e-3,
                           "batch_size": 64}


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(TaskSpec("recall", build_recall, "multi-query associative recall: the value of each queried key",
                      causal=True, defaults={**MEMORY_DEFAULTS, "epochs": 20}))
    register(TaskSpec("copy", build_copy, "selective copying: emit the scattered tokens in order", causal=True,
                      defaults=MEMORY_DEFAULTS))
    register(TaskSpec("mqar", build_mqar, "Zoology's MQAR: 4 integer key-value pairs in 64 tokens, each key queried "
                      "once (--backbone block)", causal=True, defaults=MQAR_DEFAULTS))
    register(TaskSpec("selective_copy", build_selective_copy, "Mamba's selective copying: emit the tokens among "
                      "the noise in order, fresh rows each step", causal=True, defaults=SELECTIVE_COPY_DEFAULTS))
    register(TaskSpec("induction", build_induction, "after a trigger recurs, the symbol that followed it first",
                      causal=True, defaults=MEMORY_DEFAULTS))
