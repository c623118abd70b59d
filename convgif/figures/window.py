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

from convgif.figures.model import (
    Figure,
    Grid,
    Link,
    Mark,
    Outline,
    Ring,
    Shade,
    Step,
    Text,
    box_of,
)
from convgif.geometry import CellKind, Geometry
from convgif.geometry import Step as GeometryStep
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover - values imports numpy; this module stays pure
    from convgif.values import Values

_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def output_name(cell: tuple[int, int]) -> str:
    """``y₁,₂``: an output cell's name in an equation (row, column subscripts)."""
    return "y" + f"{cell[0]},{cell[1]}".translate(_SUBSCRIPT)


def window_figure(spec: ConvSpec, values: Values | None = None, decimals: int = 2) -> Figure:
    """The figure of one convolution, transposed convolution or pooling.

    Parameters
    ----------
    spec
        What to draw.
    values
        Its numbers (:func:`convgif.values.compute_values` for ``spec``), or None.
    decimals
        Decimals shown for values that are not whole numbers.
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
    numbers = _Numbers(spec, values, decimals) if values is not None else None
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
        caption=caption(spec),
        title=spec.parameters_text(),
    )


def caption(spec: ConvSpec) -> str:
    """The parameters, then the output size's formula and its numbers, as mathematics.

    One formula per axis unless both agree; mathtext (``$...$``) gives real
    subscripts, floor brackets and products.
    """
    lines = [spec.parameters_text()]
    axes = [("", 0)] if spec.is_square else [("height: ", 0), ("width: ", 1)]
    for name, axis in axes:
        before, after = spec.padding_pairs[axis]
        i, k = spec.input_size[axis], spec.kernel_size[axis]
        s, d = spec.stride[axis], spec.dilation[axis]
        o = spec.output_size[axis]
        symmetric = before == after
        pad = "2p" if symmetric else r"p_{\mathrm{t}} + p_{\mathrm{b}}"
        pad_n = f"2·{before}" if symmetric else f"{before} + {after}"
        # d·(k − 1) + 1 is the dilated kernel: plain k when d = 1.
        span, span_n = ("k", f"{k}") if d == 1 else (r"d(k - 1) + 1", f"{d}·({k} − 1) + 1")
        if spec.transposed:
            op = spec.output_padding[axis]
            tail, tail_n = (r" + p_{\mathrm{out}}", f" + {op}") if op else ("", "")
            pad = "2p" if symmetric else r"(p_{\mathrm{t}} + p_{\mathrm{b}})"
            pad_n = f"2·{before}" if symmetric else f"({before} + {after})"
            symbolic = rf"$o = (i - 1)\,s - {pad} + {span}{tail}$"
            numbers = f"= ({i} − 1)·{s} − {pad_n} + {span_n}{tail_n} = {o}"
        else:
            if d != 1:
                span, span_n = r"d(k - 1) - 1", f"{d}·({k} − 1) − 1"
            symbolic = rf"$o = \lfloor(i + {pad} - {span})\,/\,s\rfloor + 1$"
            numbers = f"= ⌊({i} + {pad_n} − {span_n}) / {s}⌋ + 1 = {o}"
        lines.append(f"{name}{symbolic}  {numbers}")
    return "\n".join(lines)


def _labels(spec: ConvSpec) -> tuple[str, str]:
    """The planes' labels; a transposed figure says whose input and output they are."""
    (ih, iw), (oh, ow) = spec.input_size, spec.output_size
    if spec.transposed:
        gh, gw = spec.grid_size
        return (
            f"input {ih}×{iw} of the transposed conv\n(drawn {gh}×{gw}: zeros inserted, padded)",
            f"output {oh}×{ow} of the transposed conv",
        )
    padding = spec.padding
    pad = f", padding {padding[0]}" if len(set(padding)) == 1 and padding[0] else ""
    stride = f", stride {spec.stride[0]}" if spec.stride[0] == spec.stride[1] != 1 else ""
    return (f"input {ih}×{iw}{pad}{stride}", f"output {oh}×{ow}")


class _Numbers:
    """The text marks of a numerical window figure.

    Every number is shown rounded to ``decimals``. An equation is exact when
    every number it shows is the value itself; when any is rounded, its
    result says so with ``≈`` (the output is computed from the full values).
    """

    def __init__(self, spec: ConvSpec, values: Values, decimals: int) -> None:
        from convgif.values import shown as shown_rounded

        self.spec = spec
        self.values = values
        grid = values.grid

        def shown(x: float) -> tuple[str, bool]:
            return shown_rounded(x, decimals)

        self.cell_text = {}
        self.cell_exact = {}
        rows, cols = grid.shape
        for r, c in ((r, c) for r in range(rows) for c in range(cols)):
            text, exact = shown(float(grid[r, c]))
            if text:
                self.cell_text[(r, c)], self.cell_exact[(r, c)] = text, exact
        kernel = values.window_kernel
        weights = [] if kernel is None else [shown(float(w)) for w in kernel.ravel()]
        self.weights = [t for t, _ in weights]
        self.weights_exact = all(e for _, e in weights)
        outputs = [shown(float(v)) for v in values.output.ravel()]
        self.outputs = [t for t, _ in outputs]
        self.outputs_exact = [e for _, e in outputs]

    def static_texts(self, kinds: tuple[tuple[CellKind, ...], ...]) -> tuple[Text, ...]:
        return tuple(
            Text("input", cell, text, "value" if kinds[cell[0]][cell[1]] == CellKind.INPUT
                 else "faint")
            for cell, text in self.cell_text.items()
        )  # fmt: skip

    def step_texts(self, step: GeometryStep) -> list[Mark]:
        texts: list[Mark] = [
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

    def reveals(self, step: GeometryStep) -> tuple[Mark, ...]:
        if step.index == 0:
            return ()
        cols = self.spec.output_size[1]
        cell = divmod(step.index - 1, cols)
        return (Text("output", cell, self.outputs[step.index - 1]),)

    def equation(self, step: GeometryStep) -> str:
        """The output written out with the shown numbers."""
        name = output_name(step.output)
        result = self.outputs[step.index]
        cells = [cell for cell in step.window if cell in self.cell_text]
        taps = [self.cell_text[cell] for cell in cells]
        exact = self.outputs_exact[step.index] and all(self.cell_exact[c] for c in cells)
        if self.spec.mode == "max":
            # The maximum is one of the shown numbers: it is exact as shown.
            return f"{name} = max({', '.join(taps)}) = {result}"
        if self.spec.mode == "avg":
            count = self.spec.kernel_size[0] * self.spec.kernel_size[1]
            total = " + ".join(_wrapped(t) for t in taps)
            return f"{name} = ({total}) / {count} {'=' if exact else '≈'} {result}"
        exact = exact and self.weights_exact
        products = [f"{_wrapped(w)}·{_wrapped(t)}" for t, w in zip(taps, self.weights, strict=True)]
        return f"{name} = {' + '.join(products)} {'=' if exact else '≈'} {result}"


def _wrapped(text: str) -> str:
    """A negative number in parentheses, so ``2·(−1)`` reads as a product."""
    return f"({text})" if text.startswith("\N{MINUS SIGN}") else text
