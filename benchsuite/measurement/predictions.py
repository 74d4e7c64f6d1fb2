"""What a trained model predicts, as text: the seed notebook's `pple!`, and the model state a checkpoint keeps."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Session
from ..checkpoints import ModelState
from ..specs import TaskData

PREDICTION_CHARS = 60  # a row holds the start of the prediction: enough to read, short enough for a table


def decode(codes: Any, vocab: Any) -> str:
    return "".join(str(vocab[int(code)]) for code in codes)


def prediction_text(session: Session, data: TaskData) -> str:
    """The likeliest next character at every counted step of the first training sample, truncated."""
    targets = np.asarray(data.y_train[0])
    predicted = session.logits(np.asarray(data.x_train[:1]))[0].argmax(-1)
    return decode(predicted[targets >= 0], data.vocab)[:PREDICTION_CHARS]


def model_state(session: Session, data: TaskData, key: dict[str, Any]) -> ModelState:
    """The session's trained model as plain data for a checkpoint: arrays, vocabulary and what rebuilds it."""
    first = np.asarray(data.x_train[0])
    config = {**key, "input_size": len(data.vocab), "window": len(first), "text_start": decode(first, data.vocab)}
    return ModelState(session.state(), [str(token) for token in data.vocab], config)
