"""Short samples from a run's saved models, for the report: one per unidirectional variant (its lowest seed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checkpoints import read_model, saved_models
from ..checkpoints.sampling import load_predictor, sample_text
from ..errors import BenchInputError
from ..results.naming import variant_name

SAMPLE_LENGTH = 120
SAMPLE_TEMPERATURE = 0.8
PRIME_CHARS = 20  # the prime: the start of the first training sample


def model_samples(run_dir: Path, plugins_dir: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """By task: (variant, prime + generated text) for each unidirectional variant with a saved model, its cell
    loaded from the installed plugins and `plugins_dir` (given on the command line). A model that cannot be
    rebuilt (its plugin is not loaded) gets the reason instead of a sample."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    models = {}
    for path in saved_models(run_dir):
        model = read_model(path)
        config = model.config
        if config["bidirectional"]:
            continue  # it reads the future: there is no next character for it to draw
        variant = (str(config["task"]), variant_name(config))
        if variant not in chosen or config["seed"] < chosen[variant]["seed"]:
            chosen[variant], models[variant] = config, model
    samples: dict[str, list[tuple[str, str]]] = {}
    for (task, variant), model in sorted(models.items()):
        prime = str(model.config["text_start"])[:PRIME_CHARS]
        try:
            text = prime + "".join(sample_text(load_predictor(model, plugins_dir), model.vocab, prime,
                                               SAMPLE_LENGTH, SAMPLE_TEMPERATURE, 0, int(model.config["window"])))
        except BenchInputError as exc:
            text = f"(no sample: {exc})"
        samples.setdefault(task, []).append((variant, text))
    return samples
