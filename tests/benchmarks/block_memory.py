"""Peak memory of a Zoology-sized recall run under the `block` backbone: vocabulary 8,192 (keys and values as
integer tokens), batch 64, length 64, width 128, two blocks of attention. It must stay below 1.5 GiB, which holds
only because inputs are never one-hot and the head reads only the scored positions.

Run: python tests/benchmarks/block_memory.py [--steps N]. Prints the peak resident set size of the training (Linux
VmHWM, reset before it) and exits 1 when it reaches the limit. A script, not a timed test: the figure is the
process's, so it runs alone in its own process.
"""
from __future__ import annotations

import argparse
import sys

LIMIT_MIB = 1.5 * 1024
VOCAB, BATCH, LENGTH, WIDTH, BLOCKS, KV_PAIRS = 8192, 64, 64, 128, 2, 8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    steps = parser.parse_args().steps

    import numpy as np
    import torch

    from benchsuite import CellConfig, TaskData
    from benchsuite.backbones import open_session
    from benchsuite.backends import TrainingSettings
    from benchsuite.measurement.memory import PeakMemory
    from benchsuite.registry.loading import get_registry
    from benchsuite_plugins.tasks.data.memory import recall_rows

    torch.set_num_threads(1)
    rows = BATCH * steps
    x, y, _ = recall_rows(np.random.default_rng(0), rows, VOCAB // 2, VOCAB // 2 - 1, KV_PAIRS, LENGTH, KV_PAIRS)
    data = TaskData([str(code) for code in range(VOCAB)], x, y)
    with PeakMemory("cpu") as peak:
        session = open_session(get_registry().cell("transformer"), CellConfig(VOCAB, WIDTH, BLOCKS, False, LENGTH),
                               data, TrainingSettings(lr=1e-3, batch_size=BATCH), "block")
        for batch in session.batches(1):
            session.train_step(batch)
    print(f"recall, vocabulary {VOCAB}, batch {BATCH}, length {LENGTH}, d {WIDTH}, {BLOCKS} blocks, {steps} steps: "
          f"peak memory {peak.mib:.0f} MiB; limit {LIMIT_MIB:.0f} MiB")
    return 0 if peak.mib < LIMIT_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
