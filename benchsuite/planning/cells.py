"""A cell's own options (`--cell-opt`, typed from its `build` signature) and its declared constraint on a variant."""
from __future__ import annotations

from dataclasses import replace
from itertools import islice
from typing import Any, Iterable, Mapping

from ..errors import BenchInputError
from ..specs import CellConfig, CellSpec
from .parsers import convert_options, signature_options

FITTING_SIZES_SHOWN = 2  # the nearest hidden sizes that fit, named when a variant is skipped


def cell_options(spec: CellSpec) -> dict[str, Any]:
    """The options a cell accepts: `build`'s keyword parameters after `config`, with their defaults."""
    return signature_options(spec.build, skip=1)


def convert_cell_options(spec: CellSpec, raw: Mapping[str, str]) -> dict[str, Any]:
    """`--cell-opt` values for one cell, checked against its `build` signature and converted to its types."""
    return convert_options("--cell-opt", "cell", spec.name, spec.build, raw, skip=1)


def check_cell_options_target(cell_opts: Mapping[str, Any], selected: Iterable[str], known: Iterable[str]) -> None:
    """`--cell-opt` must name a cell of this run."""
    selected = list(selected)
    for cell in cell_opts:
        if cell not in selected:
            hint = "" if cell in set(known) else f"; known cells: {', '.join(sorted(known))}"
            raise BenchInputError(f"--cell-opt {cell}.*: cell {cell!r} is not among this run's cells "
                                  f"({', '.join(selected)}){hint}")


def refusal(spec: CellSpec, config: CellConfig, options: Mapping[str, Any]) -> str:
    """Why the cell's constraint refuses `config` with `options` ("" when it accepts it or has no constraint)."""
    if spec.constraint is None:
        return ""
    try:
        return str(spec.constraint(config, **options) or "")
    except Exception as exc:  # a broken constraint must not end the run; the row says what happened
        return f"its constraint raised {type(exc).__name__}: {exc}"


def constraint_refusal(spec: CellSpec, config: CellConfig, options: Mapping[str, Any]) -> str:
    """Why the cell cannot be built for `config` with `options`, with the nearest hidden sizes that fit; "" if it
    can (or declares no constraint)."""
    if spec.constraint is None:
        return ""
    reason = refusal(spec, config, options)
    if not reason:
        return ""
    hidden = config.hidden_size
    nearest = sorted(range(1, 4 * hidden + 1), key=lambda size: (abs(size - hidden), size))
    fitting = sorted(islice((size for size in nearest if size != hidden
                             and not refusal(spec, replace(config, hidden_size=size), options)), FITTING_SIZES_SHOWN))
    fits = (f"; hidden sizes that fit: {', '.join(map(str, fitting))}" if fitting
            else "; no hidden size up to 4x this one fits")
    return f"cell {spec.name!r} cannot be built for hidden_size {hidden}: {reason}{fits}"
