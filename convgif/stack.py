"""Stacks of layers: their sizes, receptive fields and the cells each top cell depends on.

Pure computation (no numpy, no drawing). A :class:`StackSpec` is an input size
and one :class:`~convgif.spec.ConvSpec` per layer, bottom first, each layer's
input being the output of the layer below, so every rule of ``ConvSpec``
applies to every layer. Layers are direct convolutions or pooling (a
transposed layer would make the picture of "what this cell reads" a
scatter, not a window; the stack does not take one).

The receptive field follows Araujo et al., "Computing Receptive Fields of
Convolutional Neural Networks" (Distill, 2019), per axis, bottom-up, with the
dilated kernel ``d·(k−1)+1``:

* field ``r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1}`` (``r_0 = 1``),
* jump ``j_l = j_{l−1}·s_l`` (``j_0 = 1``): input cells between the fields of
  neighbouring cells of layer ``l``,
* start ``u_l = u_{l−1} − p_l·j_{l−1}`` (``u_0 = 0``, ``p_l`` the padding
  before: top or left): the input row (column) where the field of cell 0 of
  layer ``l`` begins, 0-based, negative where it reaches into the padding.
  Cell ``f`` of layer ``l`` then spans input cells ``u_l + f·j_l`` to
  ``u_l + f·j_l + r_l − 1``, borders ignored.

:class:`StackGeometry` composes the per-layer geometry
(:class:`convgif.geometry.Geometry`) through the layers: for each top cell, the
cells of every layer it depends on, borders and padding taken into account.

Example
-------
>>> stack = StackSpec.parse(7, ["kernel-size=3", "kernel-size=3"])
>>> stack.receptive_field
(5, 5)
>>> StackGeometry(stack).step(0).sources[:3]
((0, 0), (0, 1), (0, 2))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from convgif.errors import ConvgifError
from convgif.geometry import Cell, Geometry
from convgif.inputs import excerpt
from convgif.spec import (
    DEFAULTS,
    ArgumentTypeError,
    ConvSpec,
    Pair,
    SpecError,
    _show,
    parse_pair,
)

# The per-layer options, as written in a --layer SPEC (the command line's names).
LAYER_KEYS = ("kernel-size", "stride", "dilation", "padding", "mode")
_NOT_IN_A_STACK = ("transposed", "output-padding", "input-size")


class StackError(ConvgifError):
    """A stack that cannot be built: a malformed layer, or a layer ConvSpec refuses.

    The message is one line; a layer's problem starts with ``--layer N:``
    (1-based, bottom first) and then the key it is about.
    """


def _layer_fail(number: int, rule: str) -> StackError:
    return StackError(f"--layer {number}: {rule}")


def _layer_error(number: int, error: SpecError) -> StackError:
    """``--dilation: must be ...`` from ConvSpec becomes ``--layer 2: dilation: must be ...``."""
    return _layer_fail(number, str(error).removeprefix("--"))


def _tokens(text: str) -> list[str]:
    """Split a SPEC at spaces, keeping ``padding=1, 0, 1, 1`` (spaces after commas) whole."""
    tokens: list[str] = []
    for word in text.split():
        if tokens and (tokens[-1].endswith(",") or word.startswith(",")):
            tokens[-1] += word
        else:
            tokens.append(word)
    return tokens


def _layer_list(layers: object, kind: str) -> tuple[Any, ...]:
    """``layers`` as a tuple: any iterable but text, bytes or a single number."""
    if isinstance(layers, (str, bytes, bytearray, Mapping)) or not isinstance(layers, Iterable):
        raise ArgumentTypeError(
            f"layers: must be a list of {kind}, one per layer, got "
            f"{type(layers).__name__} {excerpt(layers)}"
        )
    return tuple(layers)


def parse_layer(layer: str | Mapping[str, object], number: int) -> dict[str, object]:
    """Read one layer's options into ConvSpec keyword arguments.

    Parameters
    ----------
    layer
        A SPEC string of ``key=value`` pairs separated by spaces
        (``"kernel-size=3 dilation=2 padding=causal"``), or a mapping of the
        same keys (``-`` or ``_``). Keys: ``kernel-size``, ``stride``,
        ``dilation``, ``padding``, ``mode``; missing keys take the defaults.
    number
        The layer's number (1-based, bottom first), for the error messages.

    Raises
    ------
    StackError
        For a malformed pair, an unknown or repeated key.
    """
    pairs: list[tuple[str, object]] = []
    if isinstance(layer, str):
        for token in _tokens(layer):
            key, equals, value = token.partition("=")
            if not equals or not key:
                raise _layer_fail(number, f"malformed {token!r} (write key=value, like stride=2)")
            pairs.append((key, value))
    elif isinstance(layer, Mapping):
        pairs = [(str(key).replace("_", "-"), value) for key, value in layer.items()]
    else:
        raise _layer_fail(number, f"must be a SPEC string like 'kernel-size=3', got {layer!r}")
    options: dict[str, object] = {}
    for key, value in pairs:
        name = key.strip().lower()
        if name not in LAYER_KEYS:
            why = " (a stack's layers are direct)" if name in _NOT_IN_A_STACK else ""
            raise _layer_fail(number, f"unknown key {key!r}{why} (known: {', '.join(LAYER_KEYS)})")
        field = name.replace("-", "_")
        if field in options:
            raise _layer_fail(number, f"{name} given twice")
        options[field] = value
    return options


@dataclass(frozen=True)
class StackSpec:
    """Layers stacked on an input, bottom first.

    Parameters
    ----------
    input_size
        The input's ``(height, width)``; an int or ``"N"`` means square.
    layers
        One direct convolution or pooling per layer, bottom first; each
        layer's ``input_size`` is the output size of the layer below. Build
        them from SPEC strings with :meth:`parse`.

    Raises
    ------
    StackError, SpecError
        No layers, a transposed layer, sizes that do not chain, a bad input size.
    """

    input_size: Pair
    layers: tuple[ConvSpec, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_size", parse_pair(self.input_size, "input_size"))
        object.__setattr__(self, "layers", _layer_list(self.layers, "ConvSpec objects"))
        if not self.layers:
            raise StackError("--layer: a stack needs at least one layer")
        size = self.input_size
        for number, layer in enumerate(self.layers, 1):
            if not isinstance(layer, ConvSpec):
                raise _layer_fail(number, f"must be a ConvSpec, got {layer!r}")
            if layer.transposed:
                raise _layer_fail(number, "transposed: a stack's layers are direct")
            if layer.input_size != size:
                raise _layer_fail(
                    number,
                    f"input-size: must be the output size of the layer below "
                    f"({_show(size)}), got {_show(layer.input_size)}",
                )
            size = layer.output_size

    @classmethod
    def parse(cls, input_size: object, layers: Sequence[str | Mapping[str, object]]) -> StackSpec:
        """Build a stack from the command line's values.

        Parameters
        ----------
        input_size
            ``N``, ``"HxW"``, or an ``(h, w)`` pair.
        layers
            One SPEC per layer, bottom first (see :func:`parse_layer`).

        Raises
        ------
        StackError
            One line naming the layer and the key (``--layer 2: dilation: must
            be at least 1, got 0``).
        SpecError
            A bad input size (``--input-size: ...``).
        """
        size = parse_pair(input_size, "input_size")
        if isinstance(layers, (str, Mapping)):
            layers = [layers]
        layers = _layer_list(layers, "SPEC strings or mappings")
        specs = []
        below = size
        for number, layer in enumerate(layers, 1):
            options = {field: DEFAULTS[field] for field in ("kernel_size", "stride", "dilation")}
            options["padding"] = DEFAULTS["padding"]
            options.update(parse_layer(layer, number))
            try:
                spec = ConvSpec(input_size=below, **options)  # type: ignore[arg-type]
            except SpecError as error:
                raise _layer_error(number, error) from None
            specs.append(spec)
            below = spec.output_size
        return cls(input_size=size, layers=tuple(specs))

    # -- sizes --------------------------------------------------------------
    @property
    def output_sizes(self) -> tuple[Pair, ...]:
        """Each layer's output ``(height, width)``, bottom to top."""
        return tuple(layer.output_size for layer in self.layers)

    @property
    def output_size(self) -> Pair:
        """The top layer's output size."""
        return self.layers[-1].output_size

    @property
    def step_count(self) -> int:
        """Number of steps (frames): one per top-layer cell."""
        h, w = self.output_size
        return h * w

    @property
    def cell_count(self) -> int:
        """The cells the stack's steps list: what bounds its JSON and its figure.

        Every layer's drawn grid and its steps' kernel taps (each layer's own
        geometry), plus, per top cell, an upper bound of the cells it depends
        on in every layer and of their links' reads: the span of a cell's
        dependencies, from the top down, is ``(span − 1)·s + d·(k − 1) + 1`` in
        the layer below, at most that layer's size.
        """
        total = 0
        for layer in self.layers:
            (rows, cols), (kh, kw) = layer.grid_size, layer.kernel_size
            total += rows * cols + layer.step_count * kh * kw
        span = (1, 1)
        per_step = 0
        for layer in reversed(self.layers):
            (kh, kw), (oh, ow) = layer.kernel_size, layer.output_size
            per_step += min(span[0], oh) * min(span[1], ow) * (1 + kh * kw)
            span = (
                min((span[0] - 1) * layer.stride[0] + layer.dilation[0] * (kh - 1) + 1,
                    layer.input_size[0]),
                min((span[1] - 1) * layer.stride[1] + layer.dilation[1] * (kw - 1) + 1,
                    layer.input_size[1]),
            )  # fmt: skip
        per_step += span[0] * span[1]  # the sources in the input
        return total + self.step_count * per_step

    # -- receptive field (Araujo et al.) -------------------------------------
    @cached_property
    def _recurrence(self) -> tuple[tuple[Pair, Pair, Pair], ...]:
        """``(field, jump, start)`` per layer, each ``(height, width)``."""
        field, jump, start = [1, 1], [1, 1], [0, 0]
        rows = []
        for layer in self.layers:
            for axis in (0, 1):
                before = layer.padding[2 * axis]
                span = layer.dilation[axis] * (layer.kernel_size[axis] - 1)
                start[axis] -= before * jump[axis]
                field[axis] += span * jump[axis]
                jump[axis] *= layer.stride[axis]
            rows.append(((field[0], field[1]), (jump[0], jump[1]), (start[0], start[1])))
        return tuple(rows)

    @property
    def fields(self) -> tuple[Pair, ...]:
        """Each layer's receptive field in input cells, borders ignored, bottom to top."""
        return tuple(row[0] for row in self._recurrence)

    @property
    def jumps(self) -> tuple[Pair, ...]:
        """Each layer's jump: input cells between neighbouring cells' fields."""
        return tuple(row[1] for row in self._recurrence)

    @property
    def starts(self) -> tuple[Pair, ...]:
        """Each layer's start: input row/column where cell (0, 0)'s field begins.

        Negative where the field reaches into the padding.
        """
        return tuple(row[2] for row in self._recurrence)

    @property
    def receptive_field(self) -> Pair:
        """One top cell's field in input cells, borders ignored (``r_L``)."""
        return self.fields[-1]

    def field_of(self, cell: Cell) -> tuple[Cell, Cell]:
        """First and last input cell of a top cell's field, borders ignored.

        Either may lie outside the input (in the padding, or past it).
        """
        (fh, fw), (jh, jw), (uh, uw) = self._recurrence[-1]
        top, left = uh + cell[0] * jh, uw + cell[1] * jw
        return (top, left), (top + fh - 1, left + fw - 1)

    # -- text ---------------------------------------------------------------
    def table_rows(self) -> list[tuple[str, ...]]:
        """The receptive-field table: a header, the input, then one row per layer."""
        header = ("layer", "kind", "kernel", "stride", "dilation", "padding", "output")
        header += ("field", "jump", "start")
        rows = [header, ("input", "", "", "", "", "", _show(self.input_size), "1", "1", "0")]
        for number, (layer, (field, jump, start)) in enumerate(
            zip(self.layers, self._recurrence, strict=True), 1
        ):
            rows.append(
                (
                    str(number),
                    {"conv": "conv", "max": "max pool", "avg": "avg pool"}[layer.mode],
                    _show(layer.kernel_size),
                    _show(layer.stride),
                    _show(layer.dilation),
                    _padding_text(layer),
                    _show(layer.output_size),
                    _show(field),
                    _show(jump),
                    _show(start),
                )
            )
        return rows

    def describe(self) -> str:
        """The table (layer, output size, field, jump, start) and the top cell's field."""
        rows = self.table_rows()
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        lines = [
            "  ".join(t.ljust(w) for t, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        (fh, fw), count = self.receptive_field, len(self.layers)
        lines.append(
            f"receptive field {fh}x{fw}: the input patch one top cell can see through "
            f"{count} layer{'s' if count != 1 else ''}, borders ignored"
        )
        lines.append(
            "jump: input cells between neighbouring cells' fields; start: the input "
            "row/column where cell 0's field begins (negative: in the padding)"
        )
        lines.append(f"{self.step_count} steps")
        return "\n".join(lines)


@dataclass(frozen=True)
class Link:
    """One dependent cell of a layer and the cells of the layer below it reads.

    Attributes
    ----------
    cell
        A cell of the layer's output.
    reads
        The cells of the layer below (of the input, for layer 1) under its
        kernel taps, in tap order; taps on padding are left out.
    """

    cell: Cell
    reads: tuple[Cell, ...]


@dataclass(frozen=True)
class StackStep:
    """One top-layer cell and everything below it depends on.

    Attributes
    ----------
    index
        Position in the animation (row-major over the top layer's output).
    output
        The top cell ``(row, col)``.
    sources
        The input cells it depends on, row-major (borders and padding taken
        into account: a subset of its receptive field).
    layers
        For each layer, bottom to top, the cells of its output the top cell
        depends on, row-major; the last is ``(output,)``.
    links
        For each layer, bottom to top, one :class:`Link` per cell of
        ``layers``: the cells of the layer below that cell reads (the
        connectors of the current path).
    """

    index: int
    output: Cell
    sources: tuple[Cell, ...]
    layers: tuple[tuple[Cell, ...], ...]
    links: tuple[tuple[Link, ...], ...]


@dataclass(frozen=True)
class StackGeometry:
    """The steps of a stack: per top cell, its dependent cells in every layer.

    Parameters
    ----------
    stack
        The stack to lay out.
    """

    stack: StackSpec

    @cached_property
    def geometries(self) -> tuple[Geometry, ...]:
        """Each layer's own geometry (its drawn grid and steps), bottom to top."""
        return tuple(Geometry(layer) for layer in self.stack.layers)

    @cached_property
    def _reads(self) -> tuple[tuple[tuple[Cell, ...], ...], ...]:
        """Per layer, per output cell (row-major): the cells of the layer below it reads."""
        return tuple(tuple(step.sources for step in g.steps()) for g in self.geometries)

    def step(self, index: int) -> StackStep:
        """The step for one top cell, row-major."""
        if not 0 <= index < len(self):
            raise IndexError(f"step {index} out of range (0..{len(self) - 1})")
        output = divmod(index, self.stack.output_size[1])
        cells: tuple[Cell, ...] = (output,)
        layers = [cells]
        links = []
        for number in reversed(range(len(self.stack.layers))):
            width = self.stack.layers[number].output_size[1]
            reads = self._reads[number]
            layer_links = tuple(Link(c, reads[c[0] * width + c[1]]) for c in cells)
            links.append(layer_links)
            cells = tuple(sorted({r for link in layer_links for r in link.reads}))
            layers.append(cells)
        # layers holds top, ..., layer 1, input; links holds top, ..., layer 1.
        return StackStep(
            index=index,
            output=output,
            sources=layers[-1],
            layers=tuple(reversed(layers[:-1])),
            links=tuple(reversed(links)),
        )

    def steps(self) -> Iterator[StackStep]:
        """Every step, row-major from the top-left top cell."""
        return (self.step(k) for k in range(len(self)))

    def __len__(self) -> int:
        return self.stack.step_count

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: the layers, the receptive field and every step.

        ``layers`` (bottom to top) and each step's ``layers`` and ``links`` are
        indexed alike: entry ``l`` is layer ``l + 1``'s output.
        """
        stack = self.stack
        layers = []
        for layer, (field, jump, start) in zip(stack.layers, stack._recurrence, strict=True):
            layers.append(
                {
                    "output_size": list(layer.output_size),
                    "input_size": list(layer.input_size),
                    "kernel_size": list(layer.kernel_size),
                    "stride": list(layer.stride),
                    "dilation": list(layer.dilation),
                    "padding": list(layer.padding),
                    "padding_name": layer.padding_name,
                    "mode": layer.mode,
                    "field": list(field),
                    "jump": list(jump),
                    "start": list(start),
                }
            )
        return {
            "input_size": list(stack.input_size),
            "layers": layers,
            "receptive_field": list(stack.receptive_field),
            "steps": [
                {
                    "output": list(s.output),
                    "sources": [list(c) for c in s.sources],
                    "layers": [[list(c) for c in cells] for cells in s.layers],
                    "links": [
                        [[list(link.cell), [list(r) for r in link.reads]] for link in layer]
                        for layer in s.links
                    ],
                }
                for s in self.steps()
            ],
        }


def _padding_text(layer: ConvSpec) -> str:
    """The padding as given: its name, else ``N``, ``HxW`` or ``T,B,L,R``."""
    if layer.padding_name:
        return layer.padding_name
    t, b, left, r = layer.padding
    return _show((t, left)) if (t, left) == (b, r) else f"{t},{b},{left},{r}"
