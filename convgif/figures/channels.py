"""Figures of convolutions with channels: decks of planes, groups, depthwise-separable.

One plane per channel. In the oblique layout (the guide's look, extended in
depth) the input channels are a deck (level 0) and the output channels a deck
above them (level 1); at each step the window is shaded on every input channel
the current output channel reads (its group's: the 3-D filter), a link joins
the window on the group's front plane to the output cell, and the output cell
is shaded on its own plane.

In the flat layout (the arithmetic) three columns: the input channels top to
bottom, each channel's *partial sums* (its window cross-correlated with its
kernel slice, for the current output channel), and the output channels; a
depthwise convolution (one channel a group) has no partial sums to add, so
its inputs lead straight to its outputs. One step per output element, as in
the geometry's JSON: a step shows every input channel it reads at once (the
windows with their kernel slices' weights, the partial sums) and their sum
plus the bias in the output cell; the equation writes the sum out.

:func:`separable_figure` draws a depthwise-separable convolution in two
stages: the depthwise convolution (each channel its own kernel), then the
1×1 pointwise convolution that mixes the depthwise maps into the outputs.

Groups are coloured when there are two or three of them (a group's input and
output planes share a colour) and named in the planes' labels; ``rgb`` colours
three input channels red, green and blue.

Pure Python: no matplotlib, no numpy import at module level.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
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
from convgif.figures.window import _wrapped, caption
from convgif.geometry import CellKind, Geometry
from convgif.geometry import Step as GeometryStep
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover - values imports numpy; this module stays pure
    from convgif.values import Values

# The fills of RGB input planes, in channel order.
RGB_FILLS = ("red", "green", "blue")
# Group colours: a group's input and output planes share one (two or three groups).
GROUP_FILLS = ("red", "green", "blue")
RGB_NAMES = ("red", "green", "blue")

_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def channel_output_name(channel: int, cell: tuple[int, int], letter: str = "y") -> str:
    """``y₀,₁,₂``: output channel 0's cell (1, 2) in an equation."""
    return letter + f"{channel},{cell[0]},{cell[1]}".translate(_SUBSCRIPT)


def _sub(number: int) -> str:
    return str(number).translate(_SUBSCRIPT)


def needs_channels_figure(spec: ConvSpec) -> bool:
    """Whether a spec is drawn by this module (it has channels) rather than the window figure."""
    return not spec.is_single_channel


def input_name(channel: int) -> str:
    """The grid of input channel ``channel``."""
    return f"input{channel}"


def output_name_of(channel: int) -> str:
    """The grid of output channel ``channel``."""
    return f"output{channel}"


def partial_name(channel: int) -> str:
    """The grid of input channel ``channel``'s partial sums (flat layout)."""
    return f"partial{channel}"


def depthwise_name(channel: int) -> str:
    """The grid of depthwise map ``channel`` (separable figures)."""
    return f"depthwise{channel}"


# -- one convolution between two sets of planes ---------------------------------
@dataclass(frozen=True)
class _Stage:
    """One convolution (or pooling) drawn from input planes to output planes."""

    spec: ConvSpec
    values: Values | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    partials: tuple[str, ...] | None  # per input channel (flat layout), or None
    decimals: int
    letter: str = "y"
    link_every_channel: bool = False  # flat: a link from every channel read, not the front one

    def front(self, channels: tuple[int, ...]) -> int:
        """The channel whose plane is drawn over the others of a group (the last drawn)."""
        return max(channels)

    def step(self, geometry_step: GeometryStep, reveals: tuple[Mark, ...]) -> Step:
        step = geometry_step
        box = box_of(step.window)
        out = step.output
        out_box = (out[0], out[1], out[0] + 1, out[1] + 1)
        target = self.outputs[step.out_channel]
        marks: list[Mark] = []
        for c in step.in_channels:
            marks += [Shade(self.inputs[c], step.window), Outline(self.inputs[c], box)]
        front = self.inputs[self.front(step.in_channels)]
        if self.partials is not None:
            for c in step.in_channels:
                marks.append(Shade(self.partials[c], (out,)))
                marks.append(Link(self.inputs[c], box, self.partials[c], out_box))
                marks.append(Link(self.partials[c], out_box, target, out_box))
        elif self.link_every_channel:
            marks += [Link(self.inputs[c], box, target, out_box) for c in step.in_channels]
        else:
            marks.append(Link(front, box, target, out_box))
        marks.append(Shade(target, (out,)))
        equation = None
        if self.values is not None:
            marks += self._texts(step)
            equation = self._equation(step)
        return Step(marks=tuple(marks), reveals=reveals, equation=equation)

    # -- numbers -------------------------------------------------------------
    def shown(self, x: float) -> tuple[str, bool]:
        from convgif.values import shown

        return shown(x, self.decimals)

    def static_texts(self) -> list[Text]:
        """Every input plane's values (padding and inserted zeros faint)."""
        assert self.values is not None
        kinds = Geometry(self.spec).cell_kinds()
        texts = []
        for c, plane in enumerate(self.values.grid_planes):
            for r, row in enumerate(plane):
                for col, x in enumerate(row):
                    text, _ = self.shown(float(x))
                    if text:
                        role = "value" if kinds[r][col] == CellKind.INPUT else "faint"
                        texts.append(Text(self.inputs[c], (r, col), text, role))
        return texts

    def output_text(self, step: GeometryStep, on_shade: bool) -> Text:
        assert self.values is not None
        text, _ = self.shown(self.values.output_value(step.index))
        return Text(self.outputs[step.out_channel], step.output, text, on_shade=on_shade)

    def _texts(self, step: GeometryStep) -> list[Mark]:
        values = self.values
        assert values is not None
        texts: list[Mark] = []
        weights = values.window_weights
        for j, c in enumerate(step.in_channels):
            grid = values.grid_planes[c]
            for t, cell in enumerate(step.window):
                text, _ = self.shown(float(grid[cell]))
                if text:
                    texts.append(Text(self.inputs[c], cell, text, on_shade=True))
                if weights is not None:
                    w = float(weights[step.out_channel, j].ravel()[t])
                    texts.append(Text(self.inputs[c], cell, self.shown(w)[0], "weight", True))
        if self.partials is not None and values.channel_sums is not None:
            cols = self.spec.output_size[1]
            first = step.index - (step.output[0] * cols + step.output[1])
            for k in range(first, step.index + 1):
                cell = divmod(k - first, cols)
                sums = values.partial_sums(k)
                for j, c in enumerate(step.in_channels):
                    text, _ = self.shown(float(sums[j]))
                    texts.append(Text(self.partials[c], cell, text, on_shade=k == step.index))
        texts.append(self.output_text(step, on_shade=True))
        winners = values.winners
        if winners is not None and winners[step.index] is not None:
            texts.append(Ring(self.inputs[step.out_channel], winners[step.index]))
        return texts

    def _equation(self, step: GeometryStep) -> str:
        values = self.values
        assert values is not None
        name = channel_output_name(step.out_channel, step.output, self.letter)
        result, exact = self.shown(values.output_value(step.index))
        if self.spec.mode != "conv":
            grid = values.grid_planes[step.out_channel]
            taps = [self.shown(float(grid[cell])) for cell in step.window]
            shown = [t for t, _ in taps if t]
            if self.spec.mode == "max":
                return f"{name} = max({', '.join(shown)}) = {result}"
            exact = exact and all(e for t, e in taps if t)
            total = " + ".join(_wrapped(t) for t in shown)
            return f"{name} = ({total}) / {len(step.window)} {'=' if exact else '≈'} {result}"
        weights = values.window_weights
        assert weights is not None
        terms: list[str] = []
        taps_count = len(step.window)
        if taps_count == 1 or len(step.in_channels) == 1:
            # Few products: write them all (a 1×1 kernel, or one channel a group).
            for j, c in enumerate(step.in_channels):
                grid = values.grid_planes[c]
                for t, cell in enumerate(step.window):
                    w, w_exact = self.shown(float(weights[step.out_channel, j].ravel()[t]))
                    x, x_exact = self.shown(float(grid[cell]))
                    exact = exact and w_exact and x_exact
                    terms.append(f"{_wrapped(w)}·{_wrapped(x)}")
            symbolic = ""
        else:
            sums = values.partial_sums(step.index)
            parts = [self.shown(float(s)) for s in sums]
            exact = exact and all(e for _, e in parts)
            terms = [_wrapped(t) for t, _ in parts]
            names = [f"p{_sub(c)}" for c in step.in_channels]
            symbolic = " + ".join(names)
        if values.bias is not None:
            b, b_exact = self.shown(values.bias_of(step.out_channel))
            exact = exact and b_exact
            terms.append(_wrapped(b))
            if symbolic:
                symbolic += f" + b{_sub(step.out_channel)}"
        head = f"{name} = {symbolic} = " if symbolic else f"{name} = "
        return f"{head}{' + '.join(terms)} {'=' if exact else '≈'} {result}"


# -- planes ----------------------------------------------------------------------
def _group_fill(spec: ConvSpec, group: int) -> str | None:
    if spec.mode == "conv" and 2 <= spec.groups <= len(GROUP_FILLS):
        return GROUP_FILLS[group]
    return None


def _input_fill(spec: ConvSpec, channel: int, rgb: bool) -> str:
    if rgb:
        return RGB_FILLS[channel]
    if spec.mode == "conv":
        fill = _group_fill(spec, channel // spec.in_channels_per_group)
        if fill is not None:
            return fill
    return "input"


def _partial_fill(spec: ConvSpec, channel: int, rgb: bool) -> str:
    """A channel's partial sums take its plane's colour, or the outputs' for plain inputs."""
    fill = _input_fill(spec, channel, rgb)
    return "output" if fill == "input" else fill


def _output_fill(spec: ConvSpec, channel: int) -> str:
    fill = _group_fill(spec, spec.group_of(channel))
    return fill if fill is not None else "output"


def _group_note(spec: ConvSpec, group: int) -> str:
    return f", group {group}" if spec.mode == "conv" and spec.groups > 1 else ""


def _input_grids(spec: ConvSpec, rgb: bool) -> list[Grid]:
    """The input planes (padded as drawn), a deck on level 0."""
    geometry = Geometry(spec)
    kinds = geometry.cell_kinds()
    rows, cols = geometry.grid_size
    ih, iw = spec.input_size
    grids = []
    for c in range(spec.in_channels):
        fill = _input_fill(spec, c, rgb)
        fills = tuple(fill if k == CellKind.INPUT else None for row in kinds for k in row)
        name = RGB_NAMES[c] if rgb else f"channel {c}"
        group = c // spec.in_channels_per_group if spec.mode == "conv" else c
        label = f"input {ih}×{iw}, {name}{_group_note(spec, group)}"
        grids.append(
            Grid(
                input_name(c), rows, cols, fills, level=0, index=c, label=label,
            )
        )  # fmt: skip
    return grids


def _output_grids(spec: ConvSpec, level: int, names: Sequence[str], what: str) -> list[Grid]:
    oh, ow = spec.output_size
    return [
        Grid.filled(
            name,
            oh,
            ow,
            _output_fill(spec, m),
            level=level,
            index=m,
            label=f"{what} {oh}×{ow}, channel {m}{_group_note(spec, spec.group_of(m))}",
        )
        for m, name in enumerate(names)
    ]


def _check_values(spec: ConvSpec, values: Values | None) -> None:
    if values is not None and values.spec != spec:
        raise ValueError("the values were computed for another spec")


def check_rgb(spec: ConvSpec, rgb: bool) -> None:
    """Refuse ``rgb`` for a spec without three input channels (``--rgb``)."""
    from convgif.errors import RenderError

    if rgb and spec.in_channels != len(RGB_FILLS):
        raise RenderError(
            f"--rgb: colours three input channels red, green and blue; this spec has "
            f"--in-channels {spec.in_channels}"
        )


def _steps(stages: Sequence[_Stage]) -> list[Step]:
    """Every stage's steps in turn; each output value is revealed the step after its own."""
    steps: list[Step] = []
    previous: tuple[_Stage, GeometryStep] | None = None
    for stage in stages:
        for geometry_step in Geometry(stage.spec).steps():
            reveals: tuple[Mark, ...] = ()
            if previous is not None and previous[0].values is not None:
                reveals = (previous[0].output_text(previous[1], on_shade=False),)
            steps.append(stage.step(geometry_step, reveals))
            previous = (stage, geometry_step)
    return steps


def channels_figure(
    spec: ConvSpec,
    values: Values | None = None,
    *,
    layout: str = "oblique",
    rgb: bool = False,
    decimals: int = 2,
) -> Figure:
    """The figure of a convolution (or pooling) with channels.

    Parameters
    ----------
    spec
        What to draw (any channels, groups; direct or transposed).
    values
        Its numbers (:func:`convgif.values.compute_values`), or None.
    layout
        ``oblique``: input and output channels as decks, one above the other;
        ``flat``: one column per input channel (its plane, then its partial
        sums), the output planes last.
    rgb
        Colour the three input planes red, green and blue.
    decimals
        Decimals shown for values that are not whole numbers.

    Raises
    ------
    RenderError
        ``rgb`` for a spec without three input channels.
    """
    _check_values(spec, values)
    check_rgb(spec, rgb)
    flat = layout == "flat"
    conv = spec.mode == "conv"
    channels = spec.in_channels
    inputs = tuple(input_name(c) for c in range(channels))
    outputs = tuple(output_name_of(m) for m in range(spec.out_channels))
    grids = _input_grids(spec, rgb)
    partials = None
    # A channel's partial sums are worth a plane only when several are added up.
    if flat and conv and spec.in_channels_per_group > 1:
        partials = tuple(partial_name(c) for c in range(channels))
        oh, ow = spec.output_size
        grids += [
            Grid.filled(
                partials[c],
                oh,
                ow,
                _partial_fill(spec, c, rgb),
                level=1,
                index=c,
                label=f"channel {c}'s partial sums {oh}×{ow}",
            )
            for c in range(channels)
        ]
    grids += _output_grids(spec, 2 if partials else 1, outputs, "output")
    stage = _Stage(spec, values, inputs, outputs, partials, decimals, link_every_channel=flat)
    return Figure(
        grids=tuple(grids),
        steps=tuple(_steps([stage])),
        texts=tuple(stage.static_texts()) if values is not None else (),
        caption=caption(spec),
        title=spec.parameters_text(),
    )


# -- depthwise-separable -----------------------------------------------------------
def separable_specs(spec: ConvSpec) -> tuple[ConvSpec, ConvSpec]:
    """The two stages of a depthwise-separable convolution.

    ``spec`` gives the input channels ``C``, the spatial parameters and the
    outputs ``M``: the depthwise stage is ``spec`` with ``groups = C`` and
    ``C`` outputs; the pointwise stage a 1×1 convolution of its output from
    ``C`` to ``M`` channels.

    Raises
    ------
    SpecError
        For a transposed spec, pooling, or groups other than 1.
    """
    from convgif.spec import SpecError

    if spec.mode != "conv":
        raise SpecError(f"--separable: a convolution's figure, not pooling (--mode {spec.mode})")
    if spec.transposed:
        raise SpecError("--separable: draws a direct convolution, not a transposed one")
    if spec.groups != 1:
        raise SpecError(
            f"--separable: the depthwise stage's groups are the input channels; leave out "
            f"--groups (got {spec.groups})"
        )
    channels = spec.in_channels
    depthwise = dataclasses.replace(spec, out_channels=channels, groups=channels)
    pointwise = ConvSpec(
        input_size=depthwise.output_size, kernel_size=1, in_channels=channels,
        out_channels=spec.out_channels,
    )  # fmt: skip
    return depthwise, pointwise


def separable_figure(
    spec: ConvSpec,
    values: tuple[Values, Values] | None = None,
    *,
    layout: str = "oblique",
    rgb: bool = False,
    decimals: int = 2,
) -> Figure:
    """A depthwise-separable convolution in two stages, one step per output element of each.

    Parameters
    ----------
    spec
        As :func:`separable_specs` reads it.
    values
        The two stages' values (:func:`convgif.values.compute_values` for
        each of :func:`separable_specs`, the pointwise stage's input being the
        depthwise stage's output), or None.
    layout, rgb, decimals
        As :func:`channels_figure`.
    """
    depthwise, pointwise = separable_specs(spec)
    if values is not None:
        _check_values(depthwise, values[0])
        _check_values(pointwise, values[1])
    check_rgb(spec, rgb)
    channels = spec.in_channels
    inputs = tuple(input_name(c) for c in range(channels))
    middles = tuple(depthwise_name(c) for c in range(channels))
    outputs = tuple(output_name_of(m) for m in range(spec.out_channels))
    grids = _input_grids(depthwise, rgb)
    oh, ow = depthwise.output_size
    for c in range(channels):
        grids.append(
            Grid.filled(
                middles[c],
                oh,
                ow,
                _partial_fill(depthwise, c, rgb),
                level=1,
                index=c,
                label=f"depthwise {oh}×{ow}, channel {c}",
            )
        )
    grids += _output_grids(pointwise, 2, outputs, "pointwise")
    flat = layout == "flat"
    first = _Stage(
        depthwise, None if values is None else values[0], inputs, middles, None, decimals, "d"
    )
    second = _Stage(
        pointwise, None if values is None else values[1], middles, outputs, None, decimals,
        link_every_channel=flat,
    )  # fmt: skip
    texts = tuple(first.static_texts()) if values is not None else ()
    return Figure(
        grids=tuple(grids),
        steps=tuple(_steps([first, second])),
        texts=texts,
        caption=caption(depthwise) + f"\nthen 1×1 pointwise: {channels} → {spec.out_channels}",
        title=f"depthwise-separable: {spec.parameters_text()}",
    )
