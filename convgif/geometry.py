"""The geometry engine: the drawn grid and every step of a convolution.

Pure computation (no drawing, no files). A direct convolution is drawn over its
padded input. A transposed convolution is drawn as the guide
(arXiv:1603.07285) draws it: the equivalent direct convolution, stride 1, over
its input with ``s−1`` zeros inserted between cells, padded by ``d·(k−1)−p``
on each side plus the output padding at the bottom/right.

Both directions work one axis at a time: a 2-D cell is the product of a row
and a column, so every map below is built per axis and combined.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import Any

from convgif.spec import ConvSpec, Pair

Cell = tuple[int, int]


class CellKind(IntEnum):
    """What a cell of the drawn grid is."""

    PADDING = 0
    INPUT = 1
    ZERO = 2  # inserted between input cells by a transposed convolution's stride

    @property
    def letter(self) -> str:
        """One-letter code used in the JSON grid: ``p``, ``i`` or ``z``."""
        return "piz"[self.value]


@dataclass(frozen=True)
class Step:
    """One output element being computed.

    Attributes
    ----------
    index
        Position in the animation: output channel first, then row-major over
        the output.
    output
        The output cell ``(row, col)`` (in its channel).
    window
        The grid cells under the kernel taps, row-major over the taps
        (``kh·kw`` cells, spaced by the dilation).
    sources
        The cells of the real input (0-based, unpadded) this output depends on,
        in tap order; the same cells in every channel of ``in_channels``.
    out_channel
        The output channel of the element.
    in_channels
        The input channels it reads: its group's (convolution), or its own
        channel (pooling).
    """

    index: int
    output: Cell
    window: tuple[Cell, ...]
    sources: tuple[Cell, ...]
    out_channel: int = 0
    in_channels: tuple[int, ...] = (0,)


def _axis_input_index(spec: ConvSpec, axis: int) -> tuple[int | None, ...]:
    """For each drawn row (axis 0) or column (axis 1): its input index, or None."""
    before = spec.display_padding[2 * axis]
    length = spec.grid_size[axis]
    stride = spec.stride[axis]
    size = spec.input_size[axis]
    indices: list[int | None] = []
    for g in range(length):
        offset = g - before
        if spec.transposed:
            real = offset >= 0 and offset % stride == 0 and offset // stride < size
            indices.append(offset // stride if real else None)
        else:
            indices.append(offset if 0 <= offset < size else None)
    return tuple(indices)


def _axis_kind(spec: ConvSpec, axis: int, index: tuple[int | None, ...]) -> tuple[CellKind, ...]:
    before = spec.display_padding[2 * axis]
    inner = spec.zero_inserted_size[axis] if spec.transposed else spec.input_size[axis]
    kinds = []
    for g, i in enumerate(index):
        if i is not None:
            kinds.append(CellKind.INPUT)
        elif 0 <= g - before < inner:
            kinds.append(CellKind.ZERO)
        else:
            kinds.append(CellKind.PADDING)
    return tuple(kinds)


@dataclass(frozen=True)
class Geometry:
    """The drawn grid and the steps of one spec.

    Parameters
    ----------
    spec
        The convolution to lay out.
    """

    spec: ConvSpec

    @cached_property
    def _row_index(self) -> tuple[int | None, ...]:
        return _axis_input_index(self.spec, 0)

    @cached_property
    def _col_index(self) -> tuple[int | None, ...]:
        return _axis_input_index(self.spec, 1)

    @cached_property
    def _row_kind(self) -> tuple[CellKind, ...]:
        return _axis_kind(self.spec, 0, self._row_index)

    @cached_property
    def _col_kind(self) -> tuple[CellKind, ...]:
        return _axis_kind(self.spec, 1, self._col_index)

    @property
    def grid_size(self) -> Pair:
        """Size of the drawn grid ``(rows, cols)``."""
        return self.spec.grid_size

    @property
    def output_size(self) -> Pair:
        """Size of the output grid ``(rows, cols)``."""
        return self.spec.output_size

    def cell_kind(self, cell: Cell) -> CellKind:
        """Kind of a drawn-grid cell: real input, padding or inserted zero."""
        row, col = self._row_kind[cell[0]], self._col_kind[cell[1]]
        if row == CellKind.INPUT and col == CellKind.INPUT:
            return CellKind.INPUT
        if row == CellKind.PADDING or col == CellKind.PADDING:
            return CellKind.PADDING
        return CellKind.ZERO

    def cell_kinds(self) -> tuple[tuple[CellKind, ...], ...]:
        """Kind of every drawn-grid cell, row by row."""
        rows, cols = self.grid_size
        return tuple(tuple(self.cell_kind((r, c)) for c in range(cols)) for r in range(rows))

    def input_cell(self, cell: Cell) -> Cell | None:
        """The real input cell drawn at a grid cell, or None for padding / zeros."""
        r, c = self._row_index[cell[0]], self._col_index[cell[1]]
        return None if r is None or c is None else (r, c)

    def grid_cell(self, input_cell: Cell) -> Cell:
        """The grid cell where a real input cell is drawn.

        Raises
        ------
        IndexError
            If the input cell is cropped from the drawing (a transposed padding
            larger than the dilated kernel) or out of range.
        """
        try:
            return (
                self._row_index.index(input_cell[0]),
                self._col_index.index(input_cell[1]),
            )
        except ValueError:
            raise IndexError(f"input cell {input_cell} is not drawn") from None

    def kernel_window(self, output: Cell) -> tuple[Cell, ...]:
        """Grid cells under the kernel taps for one output cell, tap by tap."""
        (sh, sw), (dh, dw) = self.spec.display_stride, self.spec.dilation
        kh, kw = self.spec.kernel_size
        top, left = output[0] * sh, output[1] * sw
        return tuple((top + a * dh, left + b * dw) for a in range(kh) for b in range(kw))

    def step(self, index: int) -> Step:
        """The step for one frame: output channel first, then row-major over the output."""
        if not 0 <= index < len(self):
            raise IndexError(f"step {index} out of range (0..{len(self) - 1})")
        rows, cols = self.output_size
        out_channel, cell = divmod(index, rows * cols)
        output = divmod(cell, cols)
        window = self.kernel_window(output)
        sources = tuple(s for s in map(self.input_cell, window) if s is not None)
        return Step(
            index=index,
            output=output,
            window=window,
            sources=sources,
            out_channel=out_channel,
            in_channels=self.spec.in_channels_of(out_channel),
        )

    def step_index(self, output: Cell, out_channel: int = 0) -> int:
        """The index of the step that computes ``output`` in ``out_channel``.

        Raises
        ------
        IndexError
            If the cell or the channel is out of range.
        """
        rows, cols = self.output_size
        if not (0 <= output[0] < rows and 0 <= output[1] < cols):
            raise IndexError(f"output cell {output} out of range ({rows}x{cols})")
        if not 0 <= out_channel < self.spec.out_channels:
            raise IndexError(
                f"output channel {out_channel} out of range (0..{self.spec.out_channels - 1})"
            )
        return (out_channel * rows + output[0]) * cols + output[1]

    def steps(self) -> Iterator[Step]:
        """Every step: output channel first, then row-major from the top-left output cell."""
        return (self.step(k) for k in range(len(self)))

    def __len__(self) -> int:
        return self.spec.step_count

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: spec, sizes, grid kinds and every step.

        The channel keys (``in_channels``, ``out_channels``, ``groups``,
        ``weight_shape``; per step ``out_channel`` and ``in_channels``) are
        always present: 1, 1, 1 and ``[0]`` for a single channel.
        """
        spec = self.spec
        weight_shape = spec.weight_shape
        return {
            "input_size": list(spec.input_size),
            "kernel_size": list(spec.kernel_size),
            "padding": list(spec.padding),
            "stride": list(spec.stride),
            "dilation": list(spec.dilation),
            "transposed": spec.transposed,
            "output_padding": list(spec.output_padding),
            "mode": spec.mode,
            "in_channels": spec.in_channels,
            "out_channels": spec.out_channels,
            "groups": spec.groups,
            "weight_shape": None if weight_shape is None else list(weight_shape),
            "output_size": list(spec.output_size),
            "grid_size": list(spec.grid_size),
            "display_padding": list(spec.display_padding),
            "grid": ["".join(k.letter for k in row) for row in self.cell_kinds()],
            "arithmetic": spec.arithmetic(),
            "steps": [
                {
                    "output": list(s.output),
                    "window": [list(c) for c in s.window],
                    "sources": [list(c) for c in s.sources],
                    "out_channel": s.out_channel,
                    "in_channels": list(s.in_channels),
                }
                for s in self.steps()
            ],
        }
