"""Where a row's hyperparameters come from when nobody set them, and in which order the sources win.

Kept apart from the grid so `bench list` can show them without importing the planner.
"""
from __future__ import annotations

# Used when neither the command line, the cell nor the task sets a hyperparameter. A batch_size of None is full
# batch, as in the notebook; clip None is no gradient clipping; weight_decay 0 is plain Adam.
SUITE_DEFAULTS = {"hidden_size": 32, "num_layers": 1, "epochs": 100, "lr": 0.01, "batch_size": None, "clip": None,
                  "weight_decay": 0.0}
PRECEDENCE = "command line > cell defaults > task defaults > suite defaults"
