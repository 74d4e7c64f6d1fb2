"""The plugin passes benchsuite's conformance kit (the `benchsuite_kit` fixture comes with benchsuite)."""
import benchsuite_mingru


def test_plugin_registers_a_conforming_cell_and_task(benchsuite_kit):
    cells, tasks = benchsuite_kit.registered_specs(benchsuite_mingru)
    assert [cell.name for cell in cells] == ["mingru-loop"]
    assert [task.name for task in tasks] == ["reverse"]
    benchsuite_kit.check_cell(cells[0])
    benchsuite_kit.check_task(tasks[0])
    benchsuite_kit.check_task(tasks[0], length=8, samples=40)
