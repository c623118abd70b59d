"""The receptive-field figure: a stack of layers, bottom (input) to top.

One grid per level: ``input`` (level 0), then each layer's *output*
``layer1`` ... ``layerL`` (level ``l``), drawn plain: a layer's padding is
not drawn (it would make every grid of the stack a different, padded, size;
the receptive field is what the figure is about). The input and the hidden
layers are filled as inputs (each is the next layer's input), the top layer
as the output.

One step per top-layer cell, row-major (:class:`convgif.stack.StackGeometry`):
that cell shaded, and in every layer below it the cells it depends on, down
to its sources in the input. The connectors follow the current path:

* a 2-D stack (the guide's oblique view, or flat side by side): the box of a
  layer's dependent cells, outlined, linked corner to corner to the box of
  the layer above's: the receptive field growing downwards;
* a 1-D stack (one row in every grid, WaveNet's picture, rows bottom to top): one
  line from each dependent unit to each unit it reads in the row below.
"""

from __future__ import annotations

from convgif.figures.model import Figure, Grid, Link, Mark, Outline, Shade, Step, box_of
from convgif.figures.window import output_name
from convgif.geometry import Cell
from convgif.spec import ConvSpec, _show
from convgif.stack import StackGeometry, StackSpec, StackStep

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def grid_name(level: int) -> str:
    """The grid of a level: ``input`` (0), ``layer1`` ... (the layers' outputs)."""
    return "input" if level == 0 else f"layer{level}"


def is_one_dimensional(stack: StackSpec) -> bool:
    """True when the input and every layer have one row (``1×N``): WaveNet's picture."""
    return all(rows == 1 for rows, _ in (stack.input_size, *stack.output_sizes))


def stack_figure(stack: StackSpec) -> Figure:
    """The receptive-field figure of a stack of layers.

    Parameters
    ----------
    stack
        The layers and their input.

    Returns
    -------
    Figure
        Arrangement ``stack`` for a 2-D input, ``column`` for a ``1×N`` one;
        one step per top-layer cell.
    """
    one_d = is_one_dimensional(stack)
    count = len(stack.layers)
    sizes = (stack.input_size, *stack.output_sizes)
    grids = tuple(
        Grid.filled(
            grid_name(level), rows, cols, "output" if level == count else "input",
            level=level, label=_label(stack, level),
        )
        for level, (rows, cols) in enumerate(sizes)
    )  # fmt: skip
    geometry = StackGeometry(stack)
    steps = tuple(
        Step(marks=tuple(_marks(step, one_d)), equation=_equation(stack, step))
        for step in geometry.steps()
    )
    return Figure(
        grids=grids,
        steps=steps,
        caption=caption(stack),
        arrangement="column" if one_d else "stack",
        title=title(stack),
    )


def dependent_cells(step: StackStep) -> tuple[tuple[Cell, ...], ...]:
    """The shaded cells of every level, input first: the sources, then each layer's cells."""
    return (step.sources, *step.layers)


def _marks(step: StackStep, one_d: bool) -> list[Mark]:
    cells = dependent_cells(step)
    marks: list[Mark] = []
    for level, level_cells in enumerate(cells):
        name = grid_name(level)
        if level + 1 < len(cells):
            if one_d:
                # One line per (unit, unit it reads): the links are stored per
                # reading cell, in the layer above.
                marks += [
                    Link(name, _box(read), grid_name(level + 1), _box(link.cell), "centre")
                    for link in step.links[level]
                    for read in link.reads
                ]
            elif level_cells:
                box = box_of(level_cells)
                marks.append(Link(name, box, grid_name(level + 1), box_of(cells[level + 1])))
        if level_cells:
            marks.append(Shade(name, level_cells))
            if not one_d and level + 1 < len(cells):
                marks.append(Outline(name, box_of(level_cells)))
    return marks


def _box(cell: Cell) -> tuple[int, int, int, int]:
    return (cell[0], cell[1], cell[0] + 1, cell[1] + 1)


def _layer_text(layer: ConvSpec, one_d: bool) -> str:
    """``3×3``, ``3×3 max pool``, with the stride, dilation and padding that are not plain.

    A 1-D stack's layers are written by their widths: ``2, dilation 8, causal``.
    """
    show = _width if one_d else _times
    kind = {"conv": "", "max": " max pool", "avg": " avg pool"}[layer.mode]
    kernel = f"kernel {_width(layer.kernel_size)}" if one_d else _size(layer.kernel_size)
    parts = [kernel + kind]
    if layer.stride != (1, 1):
        parts.append(f"stride {show(layer.stride)}")
    if layer.dilation != (1, 1):
        parts.append(f"dilation {show(layer.dilation)}")
    if layer.padding_name == "causal":
        parts.append("causal")
    elif layer.padding_name and layer.padding_name != "valid":
        parts.append(f"{layer.padding_name} padding")
    elif not layer.padding_name and any(layer.padding):
        t, b, left, r = layer.padding
        if one_d and not t + b:
            pad = str(left) if left == r else f"{left},{r}"
        else:
            pad = _times((t, left)) if (t, left) == (b, r) else f"{t},{b},{left},{r}"
        parts.append(f"padding {pad}")
    return ", ".join(parts)


def _times(pair: tuple[int, int]) -> str:
    """``3`` for ``(3, 3)``, ``1×2`` otherwise."""
    return _show(pair).replace("x", "×")


def _size(pair: tuple[int, int]) -> str:
    return f"{pair[0]}×{pair[1]}"


def _width(pair: tuple[int, int]) -> str:
    return str(pair[1])


def _label(stack: StackSpec, level: int) -> str:
    one_d = is_one_dimensional(stack)
    size = _width if one_d else _size
    if level == 0:
        return f"input {size(stack.input_size)}"
    layer = stack.layers[level - 1]
    return f"layer {level}: {_layer_text(layer, one_d)} → {size(layer.output_size)}"


def title(stack: StackSpec) -> str:
    """``input 7×7; 3×3; 3×3`` (alt text)."""
    one_d = is_one_dimensional(stack)
    layers = [_layer_text(layer, one_d) for layer in stack.layers]
    return "; ".join([f"input {_size(stack.input_size)}", *layers])


def caption(stack: StackSpec) -> str:
    """The grids' labels, each layer's receptive field, jump and start, one line a layer."""
    one_d = is_one_dimensional(stack)
    show = _width if one_d else _times
    lines = [_label(stack, 0)]
    rows = zip(stack.fields, stack.jumps, stack.starts, strict=True)
    for level, (field, jump, start) in enumerate(rows, 1):
        numbers = f"field {show(field)}, jump {show(jump)}, start {show(start)}"
        lines.append(f"{_label(stack, level)};  " + numbers.replace("-", "\N{MINUS SIGN}"))
    count = len(stack.layers)
    field = (_width if one_d else _size)(stack.receptive_field)
    lines.append(
        f"receptive field {field}: the input one top cell sees through {count} "
        f"layer{'s' if count != 1 else ''}, borders ignored"
    )
    return "\n".join(lines)


def _equation(stack: StackSpec, step: StackStep) -> str:
    """``y₁₅ at layer 4 sees 16 input cells, 0…15 (field 16)``; 2-D: rows and columns.

    Says when part of the field lies in the padding (the cells seen are then fewer).
    """
    count = len(stack.layers)
    one_d = is_one_dimensional(stack)
    # A 1-D stack's unit is named by its column alone: y₁₅.
    name = "y" + str(step.output[1]).translate(_SUBSCRIPT) if one_d else output_name(step.output)
    if not step.sources:
        return f"{name} at layer {count} sees no input cell, only padding"
    rows = [r for r, _ in step.sources]
    cols = [c for _, c in step.sources]
    seen = len(step.sources)
    seen_text = f"{seen} input cell{'s' if seen != 1 else ''}"
    if one_d:
        seen_text += f", {min(cols)}…{max(cols)}"
    else:
        seen_text += f": rows {min(rows)}…{max(rows)}, columns {min(cols)}…{max(cols)}"
    field = (_width if one_d else _size)(stack.receptive_field)
    (top, left), (bottom, right) = stack.field_of(step.output)
    height, width = stack.input_size
    padded = top < 0 or left < 0 or bottom >= height or right >= width
    note = "; part of it is padding" if padded else ""
    return f"{name} at layer {count} sees {seen_text} (field {field}{note})"
