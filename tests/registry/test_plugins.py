"""Plugin loading: entry points and loose files, isolation of broken plugins, strict, disable and load switches,
duplicate names, versions, and what `bench list` / `bench plugins` show.

The session loads no installed entry point (conftest); a test that installs one names it in LOAD_ENV.
"""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from benchsuite.errors import BenchInputError
from benchsuite.registry.loading import BUILTIN_PLUGINS, LOAD_ENV, PluginError, get_registry, load_registry
from helpers.cli import assert_bad_input, invoke
from helpers.fakedist import fake_install

CELL_PLUGIN = textwrap.dedent('''
    from benchsuite import CellSpec, TaskSpec, hookimpl

    __version__ = "{version}"

    @hookimpl
    def register_cells(register):
        for name in {cells!r}:
            register(CellSpec(name, "torch", lambda config: None, "from a test plugin"))
''')
TASK_PLUGIN = textwrap.dedent('''
    from benchsuite import TaskSpec, hookimpl

    @hookimpl
    def register_tasks(register):
        for name in {tasks!r}:
            register(TaskSpec(name, lambda: None, "from a test plugin"))
''')


def cell_plugin(*cells: str, version: str = "9.9") -> str:
    return CELL_PLUGIN.format(cells=list(cells), version=version)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path where tests 'install' plugin distributions."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def fresh_registry():
    """The CLI caches its registry per process; tests that change plugins need a fresh one."""
    get_registry.cache_clear()
    yield
    get_registry.cache_clear()


def statuses(registry) -> dict[str, str]:
    return {info.name: info.status for info in registry.plugins}


def test_entry_point_plugin_registers_like_a_builtin(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_ENV, "extra")
    fake_install(site, "bench-extra", "1.2.3", {"extra": "bench_extra_mod"},
                 {"bench_extra_mod": cell_plugin("extra-cell") + TASK_PLUGIN.format(tasks=["extra-task"])})
    registry = load_registry()
    assert registry.cells["extra-cell"].plugin == "extra"
    assert registry.tasks["extra-task"].plugin == "extra"
    assert {"rnn", "lstm", "gru", "extra-cell"} <= set(registry.cells)
    info = next(info for info in registry.plugins if info.name == "extra")
    assert (info.version, info.origin, info.status) == ("1.2.3", "entry point of bench-extra", "loaded")
    assert registry.registered_by("extra") == (["extra-cell"], ["extra-task"])


def test_builtins_carry_benchsuite_version() -> None:
    import benchsuite

    registry = load_registry()
    builtins = [info for info in registry.plugins if info.origin == "built-in"]
    assert tuple(info.name for info in builtins) == BUILTIN_PLUGINS
    assert all(info.version == benchsuite.__version__ for info in builtins)


def test_loose_files_load_with_their_own_version(tmp_path: Path) -> None:
    (tmp_path / "loose_one.py").write_text(cell_plugin("loose-cell", version="0.3"))
    (tmp_path / "notes.txt").write_text("not a plugin")
    registry = load_registry(str(tmp_path))
    assert registry.cells["loose-cell"].plugin == "loose_one"
    info = registry.plugins[-1]
    assert (info.name, info.version, info.origin) == ("loose_one", "0.3", str(tmp_path / "loose_one.py"))


def test_missing_plugins_dir_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BenchInputError, match="is not a folder"):
        load_registry(str(tmp_path / "absent"))


def test_plugin_whose_import_raises_is_named_and_skipped(site: Path, capsys: pytest.CaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_ENV, "broken,fine")
    fake_install(site, "bench-broken", "0.1", {"broken": "bench_broken_mod"},
                 {"bench_broken_mod": "raise RuntimeError('cannot start')\n"})
    fake_install(site, "bench-fine", "0.2", {"fine": "bench_fine_mod"}, {"bench_fine_mod": cell_plugin("fine-cell")})
    registry = load_registry()
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "plugin 'broken'" in err and "RuntimeError: cannot start" in err
    assert {"rnn", "lstm", "gru", "fine-cell"} <= set(registry.cells)
    assert statuses(registry)["broken"] == "failed"
    assert "cannot start" in next(info.error for info in registry.plugins if info.name == "broken")


def test_plugin_failing_in_register_loses_all_of_its_specs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "half.py").write_text(textwrap.dedent('''
        from benchsuite import CellSpec, hookimpl

        @hookimpl
        def register_cells(register):
            register(CellSpec("half-cell", "torch", lambda config: None))
            raise ValueError("second cell is broken")
    '''))
    (tmp_path / "whole.py").write_text(cell_plugin("whole-cell"))
    registry = load_registry(str(tmp_path))
    assert "half-cell" not in registry.cells and "whole-cell" in registry.cells
    assert "plugin 'half'" in capsys.readouterr().err
    assert statuses(registry)["half"] == "failed"


@pytest.mark.parametrize("source, problem", [
    ("from benchsuite import hookimpl\n@hookimpl\ndef register_cell(register):\n    pass\n", "register_cell"),
    ("from benchsuite import hookimpl\n@hookimpl\ndef register_cells(register, extra):\n    pass\n", "extra"),
    ("from benchsuite import hookimpl\n@hookimpl\ndef register_cells(register):\n    register('rnn2')\n",
     "must register CellSpec objects, got str"),
    ("from benchsuite import CellSpec, hookimpl\n@hookimpl\ndef register_cells(register):\n"
     "    register(CellSpec('jaxcell', 'jax', print))\n", "names backend 'jax'; known backends: numpy, torch"),
    ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
])
def test_invalid_plugin_is_skipped_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   source: str, problem: str) -> None:
    (tmp_path / "invalid.py").write_text(source)
    registry = load_registry(str(tmp_path))
    assert statuses(registry)["invalid"] == "failed"
    err = capsys.readouterr().err
    assert "plugin 'invalid'" in err and problem in err
    assert {"rnn", "lstm", "gru"} <= set(registry.cells)


def test_strict_mode_makes_a_broken_plugin_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.setenv("BENCHSUITE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=r"plugin 'broken' .* failed to load: ModuleNotFoundError"):
        load_registry(str(tmp_path))
    monkeypatch.setenv("BENCHSUITE_STRICT_PLUGINS", "0")
    assert statuses(load_registry(str(tmp_path)))["broken"] == "failed"


def test_disabled_plugins_are_not_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.setenv("BENCHSUITE_DISABLE_PLUGINS", "broken, seed_tasks")
    registry = load_registry(str(tmp_path))
    expected = {"torch_cells": "loaded", "seed_tasks": "disabled", "broken": "disabled"}
    assert expected.items() <= statuses(registry).items()
    assert "apple" not in registry.tasks and "rnn" in registry.cells
    assert capsys.readouterr().err == ""


def test_disabling_an_unknown_plugin_warns(capsys: pytest.CaptureFixture) -> None:
    registry = load_registry(disabled=["nope"])
    assert "BENCHSUITE_DISABLE_PLUGINS names no known plugin: nope" in capsys.readouterr().err
    assert "disabled" not in statuses(registry).values()


@pytest.mark.parametrize("kind, source, builtin, name", [
    ("cell", cell_plugin("rnn", "own-cell"), "torch_cells", "rnn"),
    ("task", TASK_PLUGIN.format(tasks=["ship", "own-task"]), "seed_tasks", "ship"),
])
def test_a_name_a_builtin_has_stays_the_builtins_and_the_plugins_is_qualified(
        tmp_path: Path, capsys: pytest.CaptureFixture, kind: str, source: str, builtin: str, name: str) -> None:
    (tmp_path / "mine.py").write_text(source)
    registry = load_registry(str(tmp_path))
    table = registry.cells if kind == "cell" else registry.tasks
    assert table[name].plugin == builtin and table[name].spec.name == name
    assert table[f"mine:{name}"].plugin == "mine" and table[f"mine:{name}"].spec.name == f"mine:{name}"
    assert table[f"own-{kind}"].plugin == "mine"  # the plugin's other names are untouched
    assert statuses(registry)["mine"] == "loaded"
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning == (f"warning: plugin 'mine' registered {kind} {name!r}, which plugin {builtin!r} registered "
                       f"first; the one from plugin 'mine' is named 'mine:{name}'")


def test_a_name_clash_is_an_error_when_strict(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(cell_plugin("rnn"))
    with pytest.raises(PluginError, match="plugin 'mine' registered cell 'rnn', which plugin 'torch_cells' "
                                          "registered first"):
        load_registry(str(tmp_path), strict=True)


def test_a_clash_that_cannot_be_qualified_costs_that_one_name(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "twice.py").write_text(cell_plugin("rnn", "rnn", "kept"))  # its qualified name is taken by itself
    (tmp_path / "bad name.py").write_text(cell_plugin("lstm", "also-kept"))  # "bad name" cannot qualify a name
    registry = load_registry(str(tmp_path))
    assert registry.cells["twice:rnn"].plugin == "twice" and registry.cells["kept"].plugin == "twice"
    assert registry.cells["lstm"].plugin == "torch_cells" and registry.cells["also-kept"].plugin == "bad name"
    assert not [name for name in registry.cells if name.startswith("bad name")]
    err = capsys.readouterr().err
    assert ("plugin 'twice' registered cell 'rnn', which plugin 'torch_cells' registered first; skipped: "
            "'twice:rnn' is taken too") in err
    assert "plugin 'bad name' registered cell 'lstm'" in err and "skipped: the plugin's name cannot qualify it" in err


def test_two_plugins_with_one_name_is_an_error_naming_both(site: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_ENV, "twin")
    fake_install(site, "bench-twin", "1.0", {"twin": "bench_twin_mod"}, {"bench_twin_mod": cell_plugin("a-cell")})
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "twin.py").write_text(cell_plugin("b-cell"))
    with pytest.raises(BenchInputError, match=r"two plugins are called 'twin': entry point of bench-twin and "
                                              r".*twin\.py"):
        load_registry(str(loose))


def test_bench_list_and_plugins_show_versions_and_registrations(site: Path, fresh_registry,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_ENV, "extra,broken")
    fake_install(site, "bench-extra", "1.2.3", {"extra": "bench_extra_mod2"},
                 {"bench_extra_mod2": cell_plugin("extra-cell")})
    fake_install(site, "bench-broken", "0.1", {"broken": "bench_broken_mod2"},
                 {"bench_broken_mod2": "raise ImportError('missing dependency')\n"})
    for command in (["list"], ["plugins"]):
        get_registry.cache_clear()
        result = invoke(*command)
        assert result.exit_code == 0, result.output
        lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
        assert "1.2.3" in lines["extra"] and "cells: extra-cell" in lines["extra"]
        assert "entry point of bench-extra" in lines["extra"]
        assert "failed" in lines["broken"] and "missing dependency" in lines["broken"]
        assert "cells: rnn, lstm, gru" in lines["torch_cells"] and "tasks: apple, ship" in lines["seed_tasks"]
        assert "built-in" in lines["torch_cells"]
        assert "plugin 'broken'" in result.stderr
    listing = invoke("list").stdout
    assert any(line.split()[:2] == ["extra-cell", "torch"] for line in listing.splitlines())


def test_strict_mode_on_the_command_line_exits_2(site: Path, fresh_registry, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_install(site, "bench-broken", "0.1", {"broken": "bench_broken_mod3"},
                 {"bench_broken_mod3": "raise ImportError('missing dependency')\n"})
    monkeypatch.setenv("BENCHSUITE_STRICT_PLUGINS", "1")
    monkeypatch.setenv(LOAD_ENV, "broken")
    assert_bad_input(invoke("list"), "plugin 'broken'", "missing dependency")


# --------------------------------------------------------------------------- BENCHSUITE_LOAD_PLUGINS

def install_extra_and_other(site: Path) -> None:
    """Two installed entry points: `extra` registers a cell; `other` must never even be imported."""
    fake_install(site, "bench-extra", "1.2.3", {"extra": "bench_allowed_mod"},
                 {"bench_allowed_mod": cell_plugin("allowed-cell")})
    fake_install(site, "bench-other", "0.1", {"other": "bench_other_mod"},
                 {"bench_other_mod": "raise RuntimeError('must not be imported')\n"})


def test_an_installed_entry_point_the_list_does_not_name_is_not_loaded(site: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    install_extra_and_other(site)
    assert os.environ[LOAD_ENV] == ""  # the session's setting: no entry point at all
    (tmp_path / "loose_one.py").write_text(cell_plugin("loose-cell"))
    registry = load_registry(str(tmp_path))
    assert [info.name for info in registry.plugins] == [*BUILTIN_PLUGINS, "loose_one"]  # built-ins and files load
    assert "allowed-cell" not in registry.cells and "loose-cell" in registry.cells
    assert "bench_allowed_mod" not in sys.modules and "bench_other_mod" not in sys.modules  # not even imported
    assert capsys.readouterr().err == ""


def test_an_installed_entry_point_loads_when_the_list_names_it(site: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture) -> None:
    install_extra_and_other(site)
    monkeypatch.setenv(LOAD_ENV, " extra ,")
    registry = load_registry()
    assert [info.name for info in registry.plugins] == [*BUILTIN_PLUGINS, "extra"]
    assert registry.cells["allowed-cell"].plugin == "extra" and "bench_other_mod" not in sys.modules
    assert capsys.readouterr().err == ""
    monkeypatch.delenv(LOAD_ENV)  # unset: every installed entry point is tried, as outside the tests
    registry = load_registry()
    assert {"extra": "loaded", "other": "failed"}.items() <= statuses(registry).items()
    assert "must not be imported" in capsys.readouterr().err



@pytest.mark.parametrize("backport", [False, True])
@pytest.mark.parametrize("group", ["benchsuite", "another-tool"])
def test_quick_plugin_check_agrees_with_importlib_metadata(group: str, backport: bool, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`bench --help` skips importlib.metadata when plugins_may_be_installed() says no; on folders of installed
    distributions it must answer exactly as importlib.metadata does (here: the real sys.path plus a fake install),
    also once the importlib_metadata backport has added its finder (mlflow and wandb import it)."""
    import importlib.metadata

    if backport:
        pytest.importorskip("importlib_metadata")  # importing it installs its finder on sys.meta_path

    from benchsuite.registry.declared import ENTRY_POINT_GROUP, plugins_may_be_installed

    monkeypatch.syspath_prepend(str(fake_install(tmp_path / "site", "benchsuite-extra", "1.0", {"extra": "x:y"},
                                                 group=group)))
    declared = bool(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    if group == ENTRY_POINT_GROUP:
        assert declared  # the fake install is seen
    assert plugins_may_be_installed() == declared
