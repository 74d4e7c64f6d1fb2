"""`bench list` shows each task's causal flag, defaults and options."""


def task_line(output: str, task: str) -> str:
    return next(line for line in output.splitlines() if line.split()[:1] == [task])


def test_list_shows_causal_flag_defaults_and_options(bench):
    result = bench("list")
    assert result.exit_code == 0, result.output
    output = result.stdout
    cloze, delay, text = (task_line(output, name) for name in ("cloze", "delay", "text"))
    assert cloze.split()[1] == "no" and delay.split()[1] == "yes" and text.split()[1] == "yes"
    assert "batch_size=32" in delay and "gap=30" in delay and "min_gap=0" in delay
    assert "seq_len=32" in cloze and "mask_fraction=0.15" in cloze
    assert "path " in text and "valid_fraction=0.1" in text
