"""`cloze`: masked characters of random word sentences, predicted where masked only; reading both sides helps."""
import numpy as np
import pytest

import benchsuite
from benchsuite.planning.grid import plan_task
from benchsuite.planning.options import RunOptions
from benchsuite_plugins.tasks.char_tasks import CLOZE_WORDS, MASK, build_cloze


def test_targets_exist_only_where_the_input_is_masked_and_restore_real_words():
    data = build_cloze(seq_len=20, samples=300)
    mask = data.vocab.index(MASK)
    for x, y in ((data.x_train, data.y_train), (data.x_valid, data.y_valid), (data.x_test, data.y_test)):
        masked = x == mask
        assert np.array_equal(masked, y >= 0)
        assert (y[masked] != mask).all()
        restored = np.where(masked, y, x)
        text = "".join(data.vocab[i] for i in restored.reshape(-1))
        inner_words = text.split(" ")[1:-1]  # the ends may be cut mid-word
        assert set(inner_words) <= set(CLOZE_WORDS)
    share = (data.x_train == mask).mean()
    assert share == pytest.approx(0.15, abs=0.01)


def test_validation_and_test_windows_are_not_training_windows_nor_each_other():
    data = build_cloze(seq_len=20, samples=300)
    def restore(x: np.ndarray, y: np.ndarray) -> set[tuple]:
        return {tuple(row) for row in np.where(y >= 0, y, x)}

    train, valid = restore(data.x_train, data.y_train), restore(data.x_valid, data.y_valid)
    test = restore(data.x_test, data.y_test)
    assert not train & valid and not train & test and not valid & test and len(test) == len(data.x_test)


def test_cloze_is_not_causal_so_both_directions_run_by_default():
    """With no --directions, cloze plans a uni and a bi row and skips neither; causal apple plans uni only."""
    def planned(task: str) -> list[tuple[bool, str]]:
        spec = benchsuite.get_task(task)
        jobs = plan_task(RunOptions.parse(tasks=task), task, spec.causal, spec.defaults, [benchsuite.get_cell("rnn")],
                         "cpu")
        return [(job.bidirectional, job.skip_reason) for job in jobs]

    assert planned("cloze") == [(False, ""), (True, "")]
    assert planned("apple") == [(False, "")]


def test_seeing_both_sides_fills_blanks_better_on_held_out_text(tmp_path):
    """A small version of the acceptance run (rnn, fewer samples and epochs): bi at least 5 points above uni."""
    table = benchsuite.run(tasks="cloze", cells="rnn", task_opts=["cloze.samples=600"], hidden=32, epochs=6,
                           out=tmp_path, device="cpu", threads=1)
    assert (table["status"] == "ok").all() and table["bidirectional"].tolist() == [False, True]
    uni, bi = table["valid_accuracy"]
    assert bi >= uni + 0.05, (uni, bi)
