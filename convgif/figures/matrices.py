"""Figures of the other views of one convolution: im2col, the convolution matrix, scatter.

Builders of :class:`convgif.figures.model.Figure` s from the matrices of
:mod:`convgif.views` (pure data: no drawing here).

- :func:`im2col_figure`: the drawn input grid, the kernel flattened to a row,
  the patch matrix, the output as a row and as a grid. One step per output
  cell: the window, *its* column (filled in as the steps go), the output
  entry and the output cell.
- :func:`matrix_figure`: ``y = C·x`` with ``y``, ``C`` and ``x`` as columns
  and matrices, the input and output grids beside them. One step per row of
  ``C`` (an output cell); for a transposed spec ``Cᵀ`` with one step per
  column (an input cell, scattered into the output).
- :func:`scatter_figure`: a transposed convolution as scatter-and-sum: the
  input, the kernel and the output; one step per input cell, the output's
  partial sums growing until they are the whole output.

Fill roles: the input's cells ``input``, the output's ``output``, weights
``green``; an entry that is always zero (padding, an inserted zero, a zero of
the convolution matrix) is empty (None).

Texts: with :class:`convgif.values.Values` the numbers; with ``symbols``
(and no values) ``x₀₀``, ``w₀₀``, ``y₀₀``; with neither, the im2col figure
writes each input cell's flat index (where it lands in the patch matrix is
the structure), the other figures show structure by their fills alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from convgif import views
from convgif.figures.model import Figure, Grid, Link, Mark, Outline, Shade, Step, Text, box_of
from convgif.figures.window import caption, output_name
from convgif.geometry import CellKind, Geometry
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover
    from convgif.values import Values

WEIGHT_FILL = "green"
# A convolution matrix with at most this many entries writes its zeros (with --symbols).
MAX_WRITTEN_ZEROS = 400
_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def _cell_name(letter: str, cell: tuple[int, int]) -> str:
    """``x₁,₂``: a cell's name in an equation (as :func:`output_name` names ``y``)."""
    return letter + f"{cell[0]},{cell[1]}".translate(_SUBSCRIPT)


def _formatter(decimals: int) -> Callable[[float], str]:
    from convgif.values import format_value

    return lambda x: format_value(float(x), decimals)


def _wrapped(text: str) -> str:
    """A negative number in parentheses, so ``2·(−1)`` reads as a product."""
    return f"({text})" if text.startswith("\N{MINUS SIGN}") else text


def _check(spec: ConvSpec, values: Values | None, symbols: bool) -> None:
    if values is not None and values.spec != spec:
        raise ValueError("the values were computed for another spec")
    if values is not None and symbols:
        raise ValueError("symbols replace numbers: give values or symbols, not both")


def _with_shaded_texts(steps: list[Step], texts: list[Text]) -> tuple[Step, ...]:
    """Each step with the static texts of the cells it shades written again, on the shade.

    A shade covers the static texts under it (as the window figure's window
    does); these copies are drawn over it, in a colour that reads there.
    """
    by_cell: dict[tuple[str, tuple[int, int]], list[Text]] = {}
    for text in texts:
        by_cell.setdefault((text.grid, text.cell), []).append(text)
    lifted = []
    for step in steps:
        written = {(m.grid, m.cell, m.role == "weight") for m in step.marks if isinstance(m, Text)}
        extra = [
            replace(text, on_shade=True)
            for mark in step.marks
            if isinstance(mark, Shade)
            for cell in mark.cells
            for text in by_cell.get((mark.grid, cell), ())
            if (text.grid, text.cell, text.role == "weight") not in written
        ]
        lifted.append(replace(step, marks=(*step.marks, *extra)))
    return tuple(lifted)


def _column_box(column: int, rows: int) -> tuple[int, int, int, int]:
    return (0, column, rows, column + 1)


def _row_box(row: int, cols: int) -> tuple[int, int, int, int]:
    return (row, 0, row + 1, cols)


def _cell_box(cell: tuple[int, int]) -> tuple[int, int, int, int]:
    return (cell[0], cell[1], cell[0] + 1, cell[1] + 1)


# -- im2col ---------------------------------------------------------------------------
def im2col_figure(
    spec: ConvSpec, values: Values | None = None, decimals: int = 2, symbols: bool = False
) -> Figure:
    """The patch-matrix figure: ``kernel row × patch matrix = output row``, reshaped.

    Grids: ``input`` (the drawn grid, as the window figure's), ``kernel`` (the
    kernel flattened to a row, as it multiplies the patch matrix; none for
    pooling), ``patches`` (the patch matrix, ``kh·kw × Ho·Wo``), ``product``
    (the output as a row, under its columns) and ``output`` (``Ho×Wo``).
    Step ``k`` (output cell ``k``, row-major) shades the window, column ``k``
    of the patch matrix, entry ``k`` of the row and the output cell; the
    columns of earlier steps stay written (the matrix fills in).

    Parameters
    ----------
    spec
        A convolution, transposed convolution or pooling.
    values
        Its numbers, or None.
    decimals
        Decimals shown for values that are not whole numbers.
    symbols
        Without values: write ``x₀₀``, ``w₀₀``, ``y₀₀`` in the cells; else each
        input cell's flat index.
    """
    _check(spec, values, symbols)
    geometry = Geometry(spec)
    kinds = geometry.cell_kinds()
    gh, gw = geometry.grid_size
    oh, ow = spec.output_size
    padding_mode = values.padding_mode if values is not None else "zeros"
    patches = views.im2col(
        spec, None if values is None else values.input, padding_mode=padding_mode
    )
    taps, steps_count = patches.shape
    conv = spec.mode == "conv"
    fmt = _formatter(decimals)
    h, w = spec.input_size

    # Texts of every cell, by grid; None: no text.
    def input_text(index: int) -> str:
        r, c = divmod(index, w)
        if values is not None:
            return fmt(values.input[r, c])
        return views.symbol("x", (r, c)) if symbols else str(index)

    def entry_text(row: int, column: int) -> str | None:
        if values is not None:
            text = fmt(patches.values[row, column])  # type: ignore[index]
            return text or None  # max pooling's padding: no candidate, no text
        if symbols:
            return views._source_symbol(patches, row, column)
        source = int(patches.sources[row, column])
        return str(source) if source >= 0 else None

    def entry_role(row: int, column: int) -> str:
        return "value" if patches.sources[row, column] >= 0 else "faint"

    grid_texts: list[Text] = []
    for r in range(gh):
        for c in range(gw):
            cell = geometry.input_cell((r, c))
            if values is not None:
                text = fmt(values.grid[r, c])
                if text:
                    role = "value" if kinds[r][c] == CellKind.INPUT else "faint"
                    grid_texts.append(Text("input", (r, c), text, role))
            elif cell is not None:
                grid_texts.append(Text("input", (r, c), input_text(cell[0] * w + cell[1])))
            elif symbols:
                grid_texts.append(Text("input", (r, c), "0", "faint"))

    kernel_texts: list[str] = []
    kernel_numbers = None
    if conv and values is not None and values.kernel is not None:
        kernel_numbers = views.kernel_rows(spec, values.kernel, flip=values.flip)[0]
        kernel_texts = [fmt(x) for x in kernel_numbers]
    elif conv and symbols:
        kh, kw = spec.kernel_size
        for t in range(taps):
            a, b = divmod(t, kw)
            if spec.transposed:  # the window draws conv_transpose2d's kernel flipped
                a, b = kh - 1 - a, kw - 1 - b
            kernel_texts.append(views.symbol("w", (a, b)))

    def output_text(k: int) -> str | None:
        if values is not None:
            return fmt(values.output.ravel()[k])
        return views.symbol("y", divmod(k, ow)) if symbols else None

    kernel_label = f"kernel as a row 1×{taps}"
    if spec.transposed or (values is not None and values.flip):
        kernel_label += " (flipped)"
    in_label = f"input {h}×{w}" if (gh, gw) == (h, w) else f"input {h}×{w} (drawn {gh}×{gw})"
    fills = tuple("input" if k == CellKind.INPUT else None for row in kinds for k in row)
    patch_fills = tuple("input" if s >= 0 else None for s in patches.sources.ravel())
    grids = [Grid("input", gh, gw, fills, level=2, index=1, label=in_label)]
    if conv:
        grids.append(
            Grid.filled("kernel", 1, taps, WEIGHT_FILL, level=2, index=0, label=kernel_label)
        )
    grids += [
        Grid.filled("output", oh, ow, "output", level=2, index=2, label=f"output {oh}×{ow}"),
        Grid("patches", taps, steps_count, patch_fills, level=1,
             label=f"patch matrix {taps}×{steps_count}"),
        Grid.filled("product", 1, steps_count, "output", level=0,
                    label=f"output as a row 1×{steps_count}"),
    ]  # fmt: skip
    static = list(grid_texts)
    static += [Text("kernel", (0, t), text) for t, text in enumerate(kernel_texts)]

    steps = []
    for step in geometry.steps():
        k = step.index
        column = _column_box(k, taps)
        marks: list[Mark] = [
            Shade("input", step.window),
            Outline("input", box_of(step.window)),
            Link("input", box_of(step.window), "patches", column),
            Shade("patches", tuple((t, k) for t in range(taps))),
            Outline("patches", column),
            Shade("product", ((0, k),)),
            Shade("output", (step.output,)),
        ]
        for t in range(taps):
            text = entry_text(t, k)
            if text is not None:
                marks.append(Text("patches", (t, k), text, entry_role(t, k), on_shade=True))
        out = output_text(k)
        if out is not None:
            marks += [
                Text("product", (0, k), out, on_shade=True),
                Text("output", step.output, out, on_shade=True),
            ]
        reveals: list[Mark] = []
        if k > 0:
            previous = k - 1
            for t in range(taps):
                text = entry_text(t, previous)
                if text is not None:
                    reveals.append(Text("patches", (t, previous), text, entry_role(t, previous)))
            out = output_text(previous)
            if out is not None:
                reveals += [
                    Text("product", (0, previous), out),
                    Text("output", divmod(previous, ow), out),
                ]
        equation = None
        if values is not None:
            equation = _im2col_equation(spec, patches, kernel_numbers, values, k, fmt, ow)
        steps.append(Step(marks=tuple(marks), reveals=tuple(reveals), equation=equation))
    return Figure(
        grids=tuple(grids),
        steps=_with_shaded_texts(steps, static),
        texts=tuple(static),
        caption=caption(spec),
        arrangement="column",
        title=f"{spec.parameters_text()}, im2col",
    )


def _im2col_equation(
    spec: ConvSpec,
    patches: views.PatchMatrix,
    kernel: np.ndarray | None,
    values: Values,
    k: int,
    fmt: Callable[[float], str],
    ow: int,
) -> str:
    """Column ``k`` times the kernel row (or its max / mean), with the shown numbers."""
    name = output_name(divmod(k, ow))
    column = patches.values[:, k]  # type: ignore[index]
    result = fmt(values.output.ravel()[k])
    entries = [fmt(x) for x in column]
    if spec.mode == "max":
        return f"{name} = max({', '.join(e for e in entries if e)}) = {result}"
    if spec.mode == "avg":
        return f"{name} = ({' + '.join(_wrapped(e) for e in entries)}) / {len(entries)} = {result}"
    assert kernel is not None
    products = [f"{_wrapped(fmt(w))}·{_wrapped(e)}" for w, e in zip(kernel, entries, strict=True)]
    return f"{name} = {' + '.join(products)} = {result}"


# -- the convolution matrix --------------------------------------------------------------
def matrix_figure(
    spec: ConvSpec, values: Values | None = None, decimals: int = 2, symbols: bool = False
) -> Figure:
    """The convolution as a matrix product ``y = C·x`` (``Cᵀ`` for a transposed spec).

    Grids, left to right and top-aligned: ``y`` (the output flattened, a
    column), ``C`` (``Ho·Wo × H·W``: nonzero entries filled, zeros empty, the
    doubly block Toeplitz blocks outlined), ``x`` (the input flattened), and
    beside them ``input`` (``H×W``, unpadded: the padding is in ``C``) over
    ``output``.

    A direct spec has one step per row of ``C`` (output cell, row-major): the
    row, the entries of ``x`` it multiplies (the window's input cells), the
    output entry, the window in the input grid and the output cell. A
    transposed spec has one step per column of ``Cᵀ`` (input cell,
    row-major): the column, its entry of ``x``, the entries of ``y`` it adds
    into (with numbers, ``y``'s partial sums) and their cells in the output.
    """
    _check(spec, values, symbols)
    kernel = None if values is None else values.kernel
    flip = values.flip if values is not None else False
    matrix = views.convolution_matrix(spec, kernel, flip=flip)
    rows, cols = matrix.shape
    (h, w), (oh, ow) = spec.input_size, spec.output_size
    fmt = _formatter(decimals)
    name = "Cᵀ" if spec.transposed else "C"
    fills = tuple(WEIGHT_FILL if t >= 0 else None for t in matrix.taps.ravel())
    grids = (
        Grid.filled("y", rows, 1, "output", level=0, label=f"y ({rows})"),
        Grid("C", rows, cols, fills, level=1, label=f"{name} ({rows}×{cols})"),
        Grid.filled(
            "x", 1, cols, "input", level=1, index=1, label=f"x: the input flattened ({cols})"
        ),
        Grid.filled("input", h, w, "input", level=2, label=f"input {h}×{w}"),
        Grid.filled("output", oh, ow, "output", level=2, index=1, label=f"output {oh}×{ow}"),
    )
    texts: list[Text] = []
    if values is not None:
        texts += [
            Text("C", (r, c), fmt(matrix.values[r, c]))  # type: ignore[index]
            for r, c in zip(*np.nonzero(matrix.taps >= 0), strict=True)
        ]
        x = values.input.ravel()
        texts += [Text("x", (0, j), fmt(x[j])) for j in range(cols)]
        texts += [Text("input", divmod(j, w), fmt(x[j])) for j in range(cols)]
    elif symbols:
        table = views.symbol_table(matrix)
        # The guide writes C's zeros too; in a large matrix they would bury the weights.
        zeros = rows * cols <= MAX_WRITTEN_ZEROS
        texts += [
            Text("C", (r, c), table[r][c], "value" if matrix.taps[r, c] >= 0 else "faint")
            for r in range(rows)
            for c in range(cols)
            if zeros or matrix.taps[r, c] >= 0
        ]
        texts += [Text("x", (0, j), views.symbol("x", divmod(j, w))) for j in range(cols)]
        texts += [Text("input", divmod(j, w), views.symbol("x", divmod(j, w))) for j in range(cols)]
    blocks = tuple(
        Outline("C", (b.rows.start, b.columns.start, b.rows.stop, b.columns.stop))
        for b in matrix.blocks
    )
    if spec.transposed:
        steps = _transposed_matrix_steps(spec, matrix, values, symbols, fmt)
    else:
        steps = _direct_matrix_steps(spec, matrix, values, symbols, fmt)
    # The block outlines are part of every frame (a mark is drawn at its step only).
    steps = [
        Step(marks=blocks + step.marks, reveals=step.reveals, equation=step.equation)
        for step in steps
    ]
    return Figure(
        grids=grids,
        steps=_with_shaded_texts(steps, texts),
        texts=tuple(texts),
        caption=caption(spec),
        arrangement="row",
        title=f"{spec.parameters_text()}, {'transposed ' if spec.transposed else ''}"
        "convolution matrix",
    )


def _direct_matrix_steps(
    spec: ConvSpec,
    matrix: views.ConvolutionMatrix,
    values: Values | None,
    symbols: bool,
    fmt: Callable[[float], str],
) -> list[Step]:
    rows, cols = matrix.shape
    w = spec.input_size[1]
    ow = spec.output_size[1]
    outputs = None if values is None else [fmt(v) for v in values.output.ravel()]
    steps = []
    for r in range(rows):
        cell = divmod(r, ow)
        used = [int(j) for j in np.nonzero(matrix.taps[r] >= 0)[0]]
        row_box = _row_box(r, cols)
        marks: list[Mark] = [
            Shade("C", tuple((r, c) for c in range(cols))),
            Outline("C", row_box),
            Link("C", row_box, "y", (r, 0, r + 1, 1)),
            Shade("y", ((r, 0),)),
            Shade("x", tuple((0, j) for j in used)),
            Shade("output", (cell,)),
        ]
        if used:
            window = tuple(divmod(j, w) for j in used)
            marks += [Shade("input", window), Outline("input", box_of(window))]
        reveals: list[Mark] = []
        equation = None
        out_text = None
        if outputs is not None:
            out_text = outputs[r]
        elif symbols:
            out_text = views.symbol("y", cell)
        if out_text is not None:
            marks += [
                Text("y", (r, 0), out_text, on_shade=True),
                Text("output", cell, out_text, on_shade=True),
            ]
            if r > 0:
                previous = (
                    outputs[r - 1] if outputs is not None else views.symbol("y", divmod(r - 1, ow))
                )
                reveals = [
                    Text("y", (r - 1, 0), previous),
                    Text("output", divmod(r - 1, ow), previous),
                ]
        if values is not None:
            x = values.input.ravel()
            products = [
                f"{_wrapped(fmt(matrix.values[r, j]))}·{_wrapped(fmt(x[j]))}"  # type: ignore[index]
                for j in used
            ]
            equation = f"{output_name(cell)} = {' + '.join(products) or '0'} = {outputs[r]}"  # type: ignore[index]
        steps.append(Step(marks=tuple(marks), reveals=tuple(reveals), equation=equation))
    return steps


def _transposed_matrix_steps(
    spec: ConvSpec,
    matrix: views.ConvolutionMatrix,
    values: Values | None,
    symbols: bool,
    fmt: Callable[[float], str],
) -> list[Step]:
    rows, cols = matrix.shape
    w = spec.input_size[1]
    ow = spec.output_size[1]
    partial = None
    if values is not None:
        scatter = views.scatter(spec, values.input, values.kernel)
        partial = [out[0].ravel() for out in scatter.partial_outputs()]
    steps = []
    touched: set[int] = set()
    for j in range(cols):
        cell = divmod(j, w)
        targets = [int(i) for i in np.nonzero(matrix.taps[:, j] >= 0)[0]]
        touched.update(targets)
        column_box = _column_box(j, rows)
        marks: list[Mark] = [
            Shade("C", tuple((i, j) for i in range(rows))),
            Outline("C", column_box),
            Shade("x", ((0, j),)),
            Shade("input", (cell,)),
        ]
        if targets:
            out_cells = tuple(divmod(i, ow) for i in targets)
            marks += [
                Shade("y", tuple((i, 0) for i in targets)),
                Shade("output", out_cells),
                Outline("output", box_of(out_cells)),
            ]
        equation = None
        if partial is not None:
            last = j == cols - 1
            shown = range(rows) if last else sorted(touched)
            for i in shown:
                text = fmt(partial[j][i])
                on = i in targets
                marks += [
                    Text("y", (i, 0), text, on_shade=on),
                    Text("output", divmod(i, ow), text, on_shade=on),
                ]
            x = fmt(values.input.ravel()[j])  # type: ignore[union-attr]
            adds = [
                f"{output_name(divmod(i, ow))} += {_wrapped(fmt(matrix.values[i, j]))}·"  # type: ignore[index]
                f"{_wrapped(x)}"
                for i in targets
            ]
            equation = f"{_cell_name('x', cell)} = {x}: " + (", ".join(adds) or "adds nothing")
        elif symbols:
            marks += [Text("y", (i, 0), views.symbol("y", divmod(i, ow)), on_shade=True)
                      for i in targets]  # fmt: skip
        steps.append(Step(marks=tuple(marks), equation=equation))
    return steps


# -- scatter-and-sum ---------------------------------------------------------------------
def scatter_figure(spec: ConvSpec, values: Values | None = None, decimals: int = 2) -> Figure:
    """A transposed convolution as scatter-and-sum.

    Grids, left to right: ``input`` (the transposed convolution's input,
    ``H×W``), ``kernel`` (``kh×kw``, ``conv_transpose2d``'s weight, unflipped)
    and ``output`` (``Ho×Wo``). Step ``k`` (input cell ``k``, row-major)
    shades the input cell, the kernel and the output cells it adds into. With
    numbers the kernel shows what it adds (input × weight, the weight small
    in the corner) and the output its partial sums after this step; the last
    step shows the whole output.
    """
    if not spec.transposed:
        raise ValueError("scatter is a transposed convolution's view")
    _check(spec, values, False)
    (h, w), (oh, ow), (kh, kw) = spec.input_size, spec.output_size, spec.kernel_size
    scatter = views.scatter(
        spec, None if values is None else values.input, None if values is None else values.kernel
    )
    fmt = _formatter(decimals)
    grids = (
        Grid.filled("input", h, w, "input", level=0,
                    label=f"input {h}×{w} of the transposed conv"),
        Grid.filled("kernel", kh, kw, WEIGHT_FILL, level=1, label=f"kernel {kh}×{kw}"),
        Grid.filled("output", oh, ow, "output", level=2,
                    label=f"output {oh}×{ow} of the transposed conv"),
    )  # fmt: skip
    kernel_cells = tuple((a, b) for a in range(kh) for b in range(kw))
    kernel_box = (0, 0, kh, kw)
    texts: list[Text] = []
    partial = None
    if values is not None:
        texts += [
            Text("input", (r, c), fmt(values.input[r, c])) for r in range(h) for c in range(w)
        ]
        texts += [
            Text("kernel", cell, fmt(values.kernel[cell]), "weight")  # type: ignore[index]
            for cell in kernel_cells
        ]
        partial = [out[0] for out in scatter.partial_outputs()]
    steps = []
    touched: set[tuple[int, int]] = set()
    for k, step in enumerate(scatter.steps):
        touched.update(step.targets)
        marks: list[Mark] = [
            Shade("input", (step.input,)),
            Link("input", _cell_box(step.input), "kernel", kernel_box),
            Shade("kernel", kernel_cells),
        ]
        if step.targets:
            target_box = box_of(step.targets)
            # No link from the kernel to the targets: it would cross the output's other cells.
            marks += [
                Shade("output", step.targets),
                Outline("output", target_box),
            ]
        equation = None
        if values is not None:
            assert partial is not None and values.kernel is not None
            x = float(values.input[step.input])
            marks += [
                Text("kernel", cell, fmt(x * values.kernel[cell]), on_shade=True)
                for cell in kernel_cells
            ]
            last = k == len(scatter.steps) - 1
            shown = [(i, j) for i in range(oh) for j in range(ow)] if last else sorted(touched)
            marks += [
                Text("output", cell, fmt(partial[k][cell]), on_shade=cell in step.targets)
                for cell in shown
            ]
            adds = [
                f"{output_name(t)} += {_wrapped(fmt(x))}·{_wrapped(fmt(values.kernel[tap]))}"
                for tap, t in zip(step.taps, step.targets, strict=True)
            ]
            equation = f"{_cell_name('x', step.input)} = {fmt(x)}: " + (
                ", ".join(adds) or "adds nothing (cropped)"
            )
        steps.append(Step(marks=tuple(marks), equation=equation))
    return Figure(
        grids=grids,
        steps=_with_shaded_texts(steps, texts),
        texts=tuple(texts),
        caption=caption(spec),
        arrangement="row",
        title=f"{spec.parameters_text()}, scatter-and-sum",
    )
