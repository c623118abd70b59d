"""The sliding-window figure: the guide's picture of one convolution.

Two grids: ``input``, the drawn grid of :class:`convgif.geometry.Geometry`
(the padded input; for a transposed convolution the zero-inserted input,
padded as the equivalent direct convolution), and ``output`` above it (level
1). One step per output cell: the window's taps shaded and outlined,
connector lines from the window to the output cell, the output cell shaded.

With :class:`convgif.values.Values` the figure also has numbers: every drawn
cell's value (padding and inserted zeros faint, max-pooling padding empty),
under the window the values at full strength and each tap's weight small in
its corner, the current output's value, the earlier outputs' values (revealed
at the step after their own), max pooling's winner ringed, and the step's
arithmetic written out as an equation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convgif.figures.model import Figure, Grid, Link, Outline, Ring, Shade, Step, Text, box_of
from convgif.geometry import CellKind, Geometry
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover - values imports numpy; this module stays pure
    from convgif.values import Values

_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def output_name(cell: tuple[int, int]) -> str:
    """``y₁,₂``: an output cell's name in an equation (row, column subscripts)."""
    return "y" + f"{cell[0]},{cell[1]}".translate(_SUBSCRIPT)


def window_figure(spec: ConvSpec, values: Values | None = None) -> Figure:
    """The figure of one convolution, transposed convolution or pooling.

    Parameters
    ----------
    spec
        What to draw.
    values
        Its numbers (:func:`convgif.values.compute_values` for ``spec``), or None.
    """
    if values is not None and values.spec != spec:
        raise ValueError("the values were computed for another spec")
    geometry = Geometry(spec)
    kinds = geometry.cell_kinds()
    rows, cols = geometry.grid_size
    out_rows, out_cols = geometry.output_size
    fills = tuple("input" if k == CellKind.INPUT else None for row in kinds for k in row)
    in_label, out_label = _labels(spec)
    grids = (
        Grid("input", rows, cols, fills, level=0, label=in_label),
        Grid.filled("output", out_rows, out_cols, "output", level=1, label=out_label),
    )
    numbers = _Numbers(spec, values) if values is not None else None
    steps = []
    for step in geometry.steps():
        box = box_of(step.window)
        out_box = (step.output[0], step.output[1], step.output[0] + 1, step.output[1] + 1)
        marks: list = [
            Shade("input", step.window),
            Outline("input", box),
            Link("input", box, "output", out_box),
            Shade("output", (step.output,)),
        ]
        reveals: tuple = ()
        equation = None
        if numbers is not None:
            marks += numbers.step_texts(step)
            reveals = numbers.reveals(step)
            equation = numbers.equation(step)
        steps.append(Step(marks=tuple(marks), reveals=reveals, equation=equation))
    return Figure(
        grids=grids,
        steps=tuple(steps),
        texts=numbers.static_texts(kinds) if numbers is not None else (),
        caption=spec.parameters_text() + "\n" + spec.arithmetic(),
        title=spec.parameters_text(),
    )


def _labels(spec: ConvSpec) -> tuple[str, str]:
    """The planes' labels; a transposed figure says whose input and output they are."""
    (ih, iw), (oh, ow) = spec.input_size, spec.output_size
    if spec.transposed:
        gh, gw = spec.grid_size
        return (
            f"transposed conv's input {ih}×{iw} (drawn {gh}×{gw}: zeros inserted, padded)",
            f"transposed conv's output {oh}×{ow}",
        )
    padding = spec.padding
    pad = f", padding {padding[0]}" if len(set(padding)) == 1 and padding[0] else ""
    stride = f", stride {spec.stride[0]}" if spec.stride[0] == spec.stride[1] != 1 else ""
    return (f"input {ih}×{iw}{pad}{stride}", f"output {oh}×{ow}")


class _Numbers:
    """The text marks of a numerical window figure."""

    def __init__(self, spec: ConvSpec, values: Values) -> None:
        from convgif.values import format_value

        self.spec = spec
        self.values = values
        grid = values.grid
        self.cell_text = {
            (r, c): format_value(grid[r, c])
            for r in range(grid.shape[0])
            for c in range(grid.shape[1])
            if format_value(grid[r, c])
        }
        kernel = values.window_kernel
        self.weights = [] if kernel is None else [format_value(w) for w in kernel.ravel()]
        self.outputs = [format_value(v) for v in values.output.ravel()]

    def static_texts(self, kinds: tuple[tuple[CellKind, ...], ...]) -> tuple[Text, ...]:
        return tuple(
            Text("input", cell, text, "value" if kinds[cell[0]][cell[1]] == CellKind.INPUT
                 else "faint")
            for cell, text in self.cell_text.items()
        )  # fmt: skip

    def step_texts(self, step) -> list:  # type: ignore[no-untyped-def]
        texts: list = [
            Text("input", cell, self.cell_text[cell], "value", on_shade=True)
            for cell in step.window
            if cell in self.cell_text
        ]
        texts += [
            Text("input", cell, weight, "weight", on_shade=True)
            for cell, weight in zip(step.window, self.weights, strict=False)
        ]
        texts.append(Text("output", step.output, self.outputs[step.index], on_shade=True))
        winners = self.values.winners
        if winners is not None and winners[step.index] is not None:
            texts.append(Ring("input", winners[step.index]))
        return texts

    def reveals(self, step) -> tuple:  # type: ignore[no-untyped-def]
        if step.index == 0:
            return ()
        cols = self.spec.output_size[1]
        cell = divmod(step.index - 1, cols)
        return (Text("output", cell, self.outputs[step.index - 1]),)

    def equation(self, step) -> str:  # type: ignore[no-untyped-def]
        """The output written out with the shown numbers."""
        name = output_name(step.output)
        result = self.outputs[step.index]
        taps = [self.cell_text.get(cell, "") for cell in step.window]
        if self.spec.mode == "max":
            shown = [t for t in taps if t]
            return f"{name} = max({', '.join(shown)}) = {result}"
        if self.spec.mode == "avg":
            count = len(taps)
            return f"{name} = ({' + '.join(_wrapped(t) for t in taps)}) / {count} = {result}"
        products = [f"{_wrapped(w)}·{_wrapped(t)}" for t, w in zip(taps, self.weights, strict=True)]
        return f"{name} = {' + '.join(products)} = {result}"


def _wrapped(text: str) -> str:
    """A negative number in parentheses, so ``2·(−1)`` reads as a product."""
    return f"({text})" if text.startswith("\N{MINUS SIGN}") else text
