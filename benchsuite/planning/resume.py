"""Which options a resumed run (`--resume RUN_DIR`) uses: each option's `Resume` rule (planning/options.py) applied.

A resumed run reuses the options recorded in the run's meta.json (a sweep file's included, resolved), so
`--resume RUN_DIR` needs nothing else. Options given again replace them when they only select rows or steer execution
(REPLACE): rows new to the grid are run, rows already `ok` are kept, rows outside the (narrowed) grid are kept whatever
their status. Naming an executor again replaces the recorded executor and its settings as a whole (EXECUTOR). A run
that loaded plugin files needs --plugins-dir again (LOADS_CODE): a resume never loads code named only by meta.json,
which anyone who can write the folder can edit; for the same reason one that used a Ray cluster needs --ray-address
again, or another executor named (REACHES_CLUSTER). Options that change what a row measures without showing in its key
must stay as they were (FIXED), or the table would mix incomparable rows. `--out` does not apply (RUN_FOLDER): it is
accepted only as the run folder's own parent (the command repeated with --resume added). The device is checked once
resolved, against the one the run measured on (results/resume.prepare_resume).

What the kept rows were made from must not have changed either: the files task and cell options name (recorded
absolute, with a digest of their content) and the code (benchsuite, plugins, torch, the git commit: the last entry
of meta.json's `code` list). Changed code is refused unless this resume is given --resume-across-versions
(THIS_RESUME: never inherited by a later resume); its rows then carry their own code_version.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import BenchInputError
from ..registry.loading import get_registry
from ..registry.provenance import code_changes, code_record
from ..results.resume import read_meta
from .options import INPUTS, OPTIONS, Resume, RunOptions, input_files, options_from_record


def _ruled(rule: Resume) -> list[str]:
    """The keywords (aliases included) of the options under `rule`."""
    return [name for name, spec in INPUTS.items() if spec.resume is rule]


# What a resume refuses to trust when only meta.json names it: (what the run did with the value, what a resume does
# not do, what the user vouches for by giving the value again).
UNTRUSTED = {
    Resume.LOADS_CODE: ("loaded plugin files from {!r}", "runs no code", "that folder"),
    Resume.REACHES_CLUSTER: ("used the Ray cluster at {}", "connects to no cluster",
                             "that cluster, or choose an --executor"),
}


def _refuse_untrusted(rule: Resume, stored: Mapping[str, Any], given: Mapping[str, Any], run_dir: Path) -> None:
    """Refuse a value under `rule` that the run recorded and this resume does not give again."""
    used, refused, vouched = UNTRUSTED[rule]
    for name in _ruled(rule):
        if stored.get(name) is not None and name not in given:
            raise BenchInputError(f"--resume {run_dir}: the run {used.format(stored[name])}. A resume {refused} "
                                  f"named only by the run's meta.json: pass {INPUTS[name].flag_name} {stored[name]} "
                                  f"again if you trust {vouched}")


def resume_options(run_dir: str | Path, given: Mapping[str, Any]) -> RunOptions:
    """The interrupted run's own options with the `given` ones (as typed, unparsed) on top; see the policy above."""
    run_dir = Path(run_dir)
    for name in _ruled(Resume.RUN_FOLDER):
        if name in given:  # pressing up and adding --resume repeats --out: fine when it names the run's own parent
            if Path(given[name]).resolve() != run_dir.resolve().parent:
                raise BenchInputError(f"{INPUTS[name].flag_name} {given[name]} does not apply with --resume: the run "
                                      f"is finished in {run_dir} itself, under {run_dir.parent}")
            given = {key: value for key, value in given.items() if key != name}
    meta = read_meta(run_dir)
    stored = {name: value for name, value in meta["options"].items() if name not in _ruled(Resume.THIS_RESUME)}
    _refuse_untrusted(Resume.LOADS_CODE, stored, given, run_dir)
    stored.update(dict.fromkeys(_ruled(Resume.LOADS_CODE)))
    executor = _ruled(Resume.EXECUTOR) + _ruled(Resume.REACHES_CLUSTER)
    if any(name in given for name in ("executor", *OPTIONS["executor"].aliases)):
        stored = {name: value for name, value in stored.items() if name not in executor}
    _refuse_untrusted(Resume.REACHES_CLUSTER, stored, given, run_dir)
    original, merged = options_from_record(stored), options_from_record({**stored, **given})
    for name in _ruled(Resume.FIXED):
        if getattr(merged, name) != getattr(original, name):
            raise BenchInputError(f"--resume {run_dir}: {INPUTS[name].flag_name} {_shown(getattr(merged, name))} "
                                  f"differs from the run's own {_shown(getattr(original, name))}; rows measured that "
                                  "way would not compare with the rows already there, so start a new run instead")
    _check_inputs(run_dir, meta, merged)
    _check_code(run_dir, meta, merged)
    return merged


def _check_inputs(run_dir: Path, meta: dict[str, Any], options: RunOptions) -> None:
    """Refuse a resume when a file the run's options name is gone or its content changed since the run began."""
    recorded = meta.get("input_files")
    if not isinstance(recorded, dict):
        return  # a run from before input files were recorded
    now = input_files(options)
    changed = []
    for label, then in recorded.items():
        if label not in now:
            changed.append(f"{label}={then.get('path')} no longer exists")
        elif now[label] != then:
            changed.append(f"{label}={then.get('path')} has changed (sha256 {str(then.get('sha256'))[:12]} when the "
                           f"run began, {now[label]['sha256'][:12]} now)")
    if changed:
        raise BenchInputError(f"--resume {run_dir}: {'; '.join(changed)}; rows trained on other data would not "
                              "compare with the rows kept, so restore the file or start a new run")


def _check_code(run_dir: Path, meta: dict[str, Any], options: RunOptions) -> None:
    """Refuse a resume whose code differs from the code of the run's latest rows, unless it is asked to go on."""
    history = meta.get("code")
    if not (isinstance(history, list) and history and isinstance(history[-1], dict)):
        return  # a run from before its code was recorded
    changes = code_changes(history[-1], code_record(get_registry(options.plugins_dir)))
    if changes and not options.resume_across_versions:
        raise BenchInputError(f"--resume {run_dir}: the code changed since the run's last rows were measured "
                              f"({'; '.join(changes)}); a table mixing the two would show the change as spread. "
                              "Start a new run, or pass --resume-across-versions to go on with each row's "
                              "code_version naming its code")


def _shown(value: Any) -> str:
    return "unset (the default)" if value in (None, {}) else str(value)
