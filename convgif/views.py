"""Other views of one convolution: the patch matrix, the convolution matrix, scatter-and-sum.

Pure numpy (no drawing, no files). Each view is computed twice over: as
structure (which input cell, which kernel tap lands in each entry: what a
figure without numbers draws) and, when values are given, as numbers.

- :func:`im2col`: the patch matrix. Row ``(channel, a, b)`` is one kernel tap
  (row-major), column ``(i, j)`` one window position (row-major over the
  output): exactly what ``torch.nn.functional.unfold`` returns for the padded
  input. For a transposed convolution it is the patch matrix of the drawn
  grid (zero-inserted, re-padded), which the flipped kernel multiplies.
- :func:`convolution_matrix`: the matrix ``C`` with
  ``output.flatten() == C @ input.flatten()`` (zero padding). For a
  transposed convolution it is the matrix of ``conv_transpose2d``, the
  transpose of the matching direct convolution's matrix.
- :func:`scatter`: a transposed convolution as scatter-and-sum: each input
  cell, times the kernel, is added into a window of the output.

Channels follow PyTorch: an input is ``C×H×W`` (``H×W`` for one channel); a
weight is ``(out, in/groups, kh, kw)`` for ``conv2d`` and ``(in,
out/groups, kh, kw)`` for ``conv_transpose2d`` (``kh×kw`` for one channel).
Flat indices are those of ``input.flatten()`` and ``weight.flatten()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from convgif.api import VIEWS
from convgif.errors import ConvgifError, RenderError
from convgif.geometry import Cell, CellKind, Geometry
from convgif.spec import ConvSpec
from convgif.values import Values, _direct_grid, _json_table, _transposed_grid

# Marks in a patch matrix's ``sources`` (a flat input index is >= 0).
PADDING_SOURCE = -1
ZERO_SOURCE = -2  # inserted between a transposed convolution's input cells
# Mark in a convolution matrix's ``taps``: an entry that is zero whatever the weights.
NO_TAP = -1

# The largest matrix a figure draws. The guide's 4x16 and a 7x7 input's
# 25x49 fit; beyond this the cells get too small for their text.
MAX_DRAWN_ROWS = 64
MAX_DRAWN_COLUMNS = 64
MAX_DRAWN_CELLS = 2500
# The largest matrix ``convgif geometry --json`` prints (dense, entry by entry).
MAX_JSON_ENTRIES = 1_000_000

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_VIEW_NAMES = {"im2col": "patch matrix", "matrix": "convolution matrix"}


# -- channels ---------------------------------------------------------------------
@dataclass(frozen=True)
class Channels:
    """Channel counts and groups, as PyTorch's ``Conv2d`` / ``ConvTranspose2d`` take them.

    Raises
    ------
    ConvgifError
        A count below 1, or groups that do not divide both channel counts.
    """

    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "groups"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConvgifError(f"--{name.replace('_', '-')}: must be at least 1, got {value!r}")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ConvgifError(
                f"--groups: must divide --in-channels ({self.in_channels}) and "
                f"--out-channels ({self.out_channels}), got {self.groups}"
            )

    @property
    def in_per_group(self) -> int:
        """Input channels each group reads."""
        return self.in_channels // self.groups

    @property
    def out_per_group(self) -> int:
        """Output channels each group writes."""
        return self.out_channels // self.groups

    def weight_shape(self, spec: ConvSpec) -> tuple[int, int, int, int]:
        """PyTorch's weight shape: ``(out, in/g, kh, kw)``, transposed ``(in, out/g, kh, kw)``."""
        kh, kw = spec.kernel_size
        if spec.transposed:
            return (self.in_channels, self.out_per_group, kh, kw)
        return (self.out_channels, self.in_per_group, kh, kw)


def channels_of(
    spec: ConvSpec,
    in_channels: int | None = None,
    out_channels: int | None = None,
    groups: int | None = None,
) -> Channels:
    """The channels of a view: those given, else the spec's (1 where it has none).

    Pooling keeps every channel apart: its output has the input's channels.
    """

    def pick(value: int | None, name: str) -> int:
        return getattr(spec, name, 1) if value is None else value

    count_in = pick(in_channels, "in_channels")
    if spec.mode != "conv":
        return Channels(count_in, count_in, count_in)
    return Channels(count_in, pick(out_channels, "out_channels"), pick(groups, "groups"))


def _as_input(spec: ConvSpec, array: Any, channels: Channels) -> np.ndarray:
    """The input as ``C×H×W`` float64 (an ``H×W`` array for one channel)."""
    x = np.asarray(array, dtype=np.float64)
    if x.ndim == 2 and channels.in_channels == 1:
        x = x[None]
    expected = (channels.in_channels, *spec.input_size)
    if x.shape != expected:
        raise ConvgifError(
            f"--input-values: expected shape {'x'.join(map(str, expected))}, "
            f"got {'x'.join(map(str, x.shape))}"
        )
    return x


def _as_weight(spec: ConvSpec, array: Any, channels: Channels) -> np.ndarray:
    """The weight in PyTorch's 4-D shape (a ``kh×kw`` array for one channel in and out)."""
    w = np.asarray(array, dtype=np.float64)
    if w.ndim == 2 and channels.in_channels == channels.out_channels == 1:
        w = w[None, None]
    expected = channels.weight_shape(spec)
    if w.shape != expected:
        raise ConvgifError(
            f"--kernel-values: expected shape {'x'.join(map(str, expected))}, "
            f"got {'x'.join(map(str, w.shape))}"
        )
    return w


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _axis_map(
    small: int, large: int, kernel: int, stride: int, dilation: int, before: int
) -> np.ndarray:
    """Position ``u·s + a·d − p_before`` on the large side, per (u, tap a); -1 outside.

    Direct: ``u`` an output index, the result an input index (padding is
    outside). Transposed: ``u`` an input index, the result an output index
    (the cropped rows are outside).
    """
    u = np.arange(small)[:, None]
    a = np.arange(kernel)[None, :]
    v = u * stride + a * dilation - before
    return np.where((v >= 0) & (v < large), v, -1)


# -- im2col -------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PatchMatrix:
    """The patch matrix (im2col) of one convolution or pooling.

    Attributes
    ----------
    spec, channels
        What it belongs to.
    sources
        Rows × columns, int, read-only: the flat index (into
        ``input.flatten()``) of the input cell each entry holds, or
        :data:`PADDING_SOURCE` / :data:`ZERO_SOURCE`. Row ``t`` of column ``k``
        is under tap ``t mod kh·kw`` of the window of step ``k``
        (:meth:`convgif.geometry.Geometry.step`), in channel ``t // (kh·kw)``.
    values
        The same shape, float64, read-only, or None without values: exactly
        ``unfold`` of the padded input (for max pooling, padding is NaN: it
        is ``-inf`` there, never a candidate).
    """

    spec: ConvSpec
    channels: Channels
    sources: np.ndarray
    values: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(C·kh·kw, Ho·Wo)``."""
        return (int(self.sources.shape[0]), int(self.sources.shape[1]))

    def tap(self, row: int) -> tuple[int, int, int]:
        """The ``(channel, a, b)`` of a row."""
        kh, kw = self.spec.kernel_size
        channel, t = divmod(row, kh * kw)
        return (channel, *divmod(t, kw))

    def source(self, row: int, column: int) -> tuple[int, int, int] | None:
        """The ``(channel, r, c)`` input cell of an entry; None: padding or an inserted zero."""
        index = int(self.sources[row, column])
        if index < 0:
            return None
        h, w = self.spec.input_size
        channel, cell = divmod(index, h * w)
        return (channel, *divmod(cell, w))


def _window_index(spec: ConvSpec) -> tuple[np.ndarray, np.ndarray]:
    """Drawn-grid row and column under every (tap, step): two ``(kh·kw, Ho·Wo)`` arrays."""
    (sh, sw), (dh, dw) = spec.display_stride, spec.dilation
    (kh, kw), (oh, ow) = spec.kernel_size, spec.output_size
    a, b = np.divmod(np.arange(kh * kw), kw)
    i, j = np.divmod(np.arange(oh * ow), ow)
    return i[None, :] * sh + a[:, None] * dh, j[None, :] * sw + b[:, None] * dw


def _grid_sources(geometry: Geometry) -> np.ndarray:
    """Per drawn-grid cell: the flat spatial index of its input cell, or a mark."""
    width = geometry.spec.input_size[1]
    kinds = geometry.cell_kinds()
    grid = np.empty(geometry.grid_size, dtype=np.int64)
    for (r, c), _ in np.ndenumerate(grid):
        cell = geometry.input_cell((r, c))
        if cell is not None:
            grid[r, c] = cell[0] * width + cell[1]
        else:
            grid[r, c] = ZERO_SOURCE if kinds[r][c] == CellKind.ZERO else PADDING_SOURCE
    return grid


def drawn_grid(spec: ConvSpec, input_values: Any, padding_mode: str = "zeros") -> np.ndarray:
    """The drawn grid's values per channel, ``C×Gh×Gw``, as :class:`convgif.values.Values` has it.

    ``input_values`` is ``C×H×W`` (or ``H×W``); the channel count is read
    from its shape.
    """
    x = np.asarray(input_values, dtype=np.float64)
    x = x[None] if x.ndim == 2 else x
    if spec.transposed:
        return np.stack([_transposed_grid(spec, channel) for channel in x])
    return np.stack([_direct_grid(spec, channel, padding_mode) for channel in x])


def im2col(
    spec: ConvSpec,
    input_values: Any = None,
    *,
    padding_mode: str = "zeros",
    in_channels: int | None = None,
) -> PatchMatrix:
    """The patch matrix of a convolution or pooling, and its numbers if values are given.

    Parameters
    ----------
    spec
        The convolution (direct, transposed) or pooling.
    input_values
        The input, ``C×H×W`` (``H×W`` for one channel), or None for the
        structure only.
    padding_mode
        PyTorch's padding mode (direct convolutions): what the padding entries hold.
    in_channels
        Input channels; None: the spec's (1 where it has none).

    Returns
    -------
    PatchMatrix
        ``C·kh·kw`` rows (taps, ``(channel, a, b)`` row-major), ``Ho·Wo``
        columns (steps, row-major): ``unfold`` of the padded input; for a
        transposed spec, of the drawn (zero-inserted, re-padded) grid.
    """
    channels = channels_of(spec, in_channels)
    rows, cols = _window_index(spec)
    spatial = _grid_sources(Geometry(spec))[rows, cols]
    h, w = spec.input_size
    offsets = np.arange(channels.in_channels)[:, None, None] * (h * w)
    sources = np.where(spatial >= 0, spatial[None] + offsets, spatial[None])
    sources = sources.reshape(-1, spatial.shape[1])
    values = None
    if input_values is not None:
        x = _as_input(spec, input_values, channels)
        grid = drawn_grid(spec, x, padding_mode)
        values = _frozen(grid[:, rows, cols].reshape(sources.shape))
    return PatchMatrix(spec, channels, _frozen(sources), values)


def kernel_rows(
    spec: ConvSpec,
    weight: Any,
    *,
    flip: bool = False,
    in_channels: int | None = None,
    out_channels: int | None = None,
    groups: int | None = None,
) -> np.ndarray:
    """The kernel flattened to rows, one per output channel, as it multiplies the patch matrix.

    Row ``m`` times the rows of the patch matrix that belong to ``m``'s group
    (``C/groups·kh·kw`` of them) is output channel ``m``, flattened. For a
    transposed spec the kernel is flipped (as the window draws it) and its
    in/out axes swapped; ``flip`` flips a direct convolution's kernel (a true
    convolution).

    Returns
    -------
    numpy.ndarray
        Shape ``(out_channels, in_channels/groups·kh·kw)``.
    """
    if spec.mode != "conv":
        raise ConvgifError(f"--view: pooling (--mode {spec.mode}) has no kernel weights")
    channels = channels_of(spec, in_channels, out_channels, groups)
    w = _as_weight(spec, weight, channels)
    kh, kw = spec.kernel_size
    if spec.transposed:
        g, cg, og = channels.groups, channels.in_per_group, channels.out_per_group
        w = w.reshape(g, cg, og, kh, kw).transpose(0, 2, 1, 3, 4)
        w = w.reshape(channels.out_channels, cg, kh, kw)
    if spec.transposed or flip:
        w = w[:, :, ::-1, ::-1]
    return w.reshape(channels.out_channels, -1).copy()


def im2col_product(patches: PatchMatrix, rows: np.ndarray) -> np.ndarray:
    """Kernel rows times the patch matrix, group by group: the output, ``M×(Ho·Wo)``.

    The groups are read from the shapes: each kernel row spans one group's
    ``C/groups·kh·kw`` rows of the patch matrix.
    """
    if patches.values is None:
        raise ValueError("the patch matrix has no values")
    per_group = rows.shape[1]
    groups = patches.shape[0] // per_group
    out_per_group = rows.shape[0] // groups
    parts = [
        rows[g * out_per_group : (g + 1) * out_per_group]
        @ patches.values[g * per_group : (g + 1) * per_group]
        for g in range(groups)
    ]
    return np.concatenate(parts)


# -- the convolution matrix -----------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """One nonzero block of the doubly block Toeplitz matrix: one kernel row's band.

    ``rows`` are one output row (``Wo`` matrix rows), ``columns`` one input row
    (``W`` matrix columns), of output channel ``out_channel`` and input
    channel ``in_channel``; the block holds the taps of kernel row
    ``kernel_row`` (a Toeplitz band).
    """

    rows: range
    columns: range
    kernel_row: int
    out_channel: int
    in_channel: int


@dataclass(frozen=True, eq=False)
class ConvolutionMatrix:
    """The matrix of a convolution: ``output.flatten() == matrix @ input.flatten()``.

    Attributes
    ----------
    spec, channels
        What it belongs to; for a transposed spec, ``conv_transpose2d``'s
        matrix (``Cᵀ``, ``C`` being the matching direct convolution's).
    taps
        ``(M·Ho·Wo) × (C·H·W)``, int, read-only: the flat index into
        ``weight.flatten()`` (PyTorch's shape, :meth:`Channels.weight_shape`)
        of the weight each entry holds, or :data:`NO_TAP`.
    values
        The matrix itself (float64, read-only), or None without weights.
    flip
        A true convolution: entries hold the kernel flipped.
    """

    spec: ConvSpec
    channels: Channels
    taps: np.ndarray
    values: np.ndarray | None = None
    flip: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """``(M·Ho·Wo, C·H·W)``."""
        return (int(self.taps.shape[0]), int(self.taps.shape[1]))

    def tap(self, row: int, column: int) -> tuple[int, int, int, int] | None:
        """The weight index of an entry (PyTorch's 4-D index), or None where it is always 0."""
        index = int(self.taps[row, column])
        if index < 0:
            return None
        shape = self.channels.weight_shape(self.spec)
        return tuple(int(n) for n in np.unravel_index(index, shape))  # type: ignore[return-value]

    def row_of(self, output: Cell, out_channel: int = 0) -> int:
        """The row that computes an output cell (a window step's row)."""
        oh, ow = self.spec.output_size
        return out_channel * oh * ow + output[0] * ow + output[1]

    def column_of(self, input_cell: Cell, in_channel: int = 0) -> int:
        """The column that an input cell multiplies (a scatter step's column)."""
        h, w = self.spec.input_size
        return in_channel * h * w + input_cell[0] * w + input_cell[1]

    @cached_property
    def blocks(self) -> tuple[Block, ...]:
        """Every nonzero block (output row × input row, per channel pair), row-major."""
        (oh, ow), (h, w) = self.spec.output_size, self.spec.input_size
        kh, kw = self.spec.kernel_size
        found = []
        for m in range(self.channels.out_channels):
            for i in range(oh):
                top = m * oh * ow + i * ow
                band = self.taps[top : top + ow]
                for c in range(self.channels.in_channels):
                    for r in range(h):
                        left = c * h * w + r * w
                        taps = band[:, left : left + w]
                        held = taps[taps >= 0]
                        if held.size:
                            found.append(
                                Block(
                                    rows=range(top, top + ow),
                                    columns=range(left, left + w),
                                    kernel_row=int(held[0] % (kh * kw)) // kw,
                                    out_channel=m,
                                    in_channel=c,
                                )
                            )
        return tuple(found)


def convolution_matrix(
    spec: ConvSpec,
    weight: Any = None,
    *,
    flip: bool = False,
    in_channels: int | None = None,
    out_channels: int | None = None,
    groups: int | None = None,
) -> ConvolutionMatrix:
    """The matrix of a convolution (zero padding, any stride, dilation, shape, channels).

    Parameters
    ----------
    spec
        A direct or transposed convolution (not pooling).
    weight
        PyTorch's weight for the operation (4-D, or ``kh×kw`` for one channel
        in and out), or None for the structure only.
    flip
        A true convolution (direct only): the kernel is flipped in the matrix.
    in_channels, out_channels, groups
        None: the spec's (1 where it has none).

    Returns
    -------
    ConvolutionMatrix
        ``(M·Ho·Wo) × (C·H·W)`` with ``output.flatten() == matrix @ input.flatten()``.
    """
    if spec.mode != "conv":
        raise ConvgifError(f"--view: pooling (--mode {spec.mode}) has no convolution matrix")
    if flip and spec.transposed:
        raise ConvgifError("--flip: applies to direct convolutions only")
    channels = channels_of(spec, in_channels, out_channels, groups)
    (h, w), (oh, ow) = spec.input_size, spec.output_size
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    (top, _), (left, _) = spec.padding_pairs
    if spec.transposed:
        row_map = _axis_map(h, oh, kh, sh, dh, top)  # (input row, a) -> output row
        col_map = _axis_map(w, ow, kw, sw, dw, left)
    else:
        row_map = _axis_map(oh, h, kh, sh, dh, top)  # (output row, a) -> input row
        col_map = _axis_map(ow, w, kw, sw, dw, left)
    # One channel pair: every (small cell, tap) reaching a large cell. Distinct
    # taps reach distinct cells (the dilation is at least 1), so no entry is
    # written twice.
    spatial = np.full((oh * ow, h * w), NO_TAP, dtype=np.int64)
    for u, v in np.ndindex(row_map.shape[0], col_map.shape[0]):
        for a, b in np.ndindex(kh, kw):
            y, x = row_map[u, a], col_map[v, b]
            if y < 0 or x < 0:
                continue
            tap = (kh - 1 - a) * kw + (kw - 1 - b) if flip else a * kw + b
            if spec.transposed:
                spatial[y * ow + x, u * w + v] = tap
            else:
                spatial[u * ow + v, y * w + x] = tap
    taps = np.full((channels.out_channels * oh * ow, channels.in_channels * h * w), NO_TAP)
    k2 = kh * kw
    for g in range(channels.groups):
        for o in range(channels.out_per_group):
            for c in range(channels.in_per_group):
                m, ci = g * channels.out_per_group + o, g * channels.in_per_group + c
                # PyTorch's weight index of this channel pair.
                pair = (
                    ci * channels.out_per_group + o
                    if spec.transposed
                    else m * channels.in_per_group + c
                )
                block = np.where(spatial >= 0, spatial + pair * k2, NO_TAP)
                taps[m * oh * ow : (m + 1) * oh * ow, ci * h * w : (ci + 1) * h * w] = block
    values = None
    if weight is not None:
        flat = _as_weight(spec, weight, channels).ravel()
        values = _frozen(np.where(taps >= 0, flat[np.maximum(taps, 0)], 0.0))
    return ConvolutionMatrix(spec, channels, _frozen(taps), values, flip)


# -- scatter-and-sum --------------------------------------------------------------------
@dataclass(frozen=True)
class ScatterStep:
    """One input cell of a transposed convolution, added into the output through the kernel.

    Attributes
    ----------
    index
        Position in the animation: the flat input index (channel-major, then row-major).
    channel
        The input channel.
    input
        The input cell ``(r, c)``.
    taps
        The kernel taps ``(a, b)`` whose target is inside the output, row-major.
    targets
        The output cell each of those taps adds into, ``(r·s + a·d − p_top, c·s + b·d − p_left)``.
    """

    index: int
    channel: int
    input: Cell
    taps: tuple[Cell, ...]
    targets: tuple[Cell, ...]


@dataclass(frozen=True, eq=False)
class Scatter:
    """A transposed convolution as scatter-and-sum.

    Attributes
    ----------
    spec, channels
        What it belongs to.
    steps
        One per input cell, channel-major then row-major.
    added
        With values, per step a read-only ``(out/groups) × len(targets)`` array:
        what the step adds into each target of each output channel of its
        group (input value times weight). None without values.
    """

    spec: ConvSpec
    channels: Channels
    steps: tuple[ScatterStep, ...]
    added: tuple[np.ndarray, ...] | None = None

    def out_channels_of(self, step: ScatterStep) -> range:
        """The output channels a step adds into: those of its input channel's group."""
        group = step.channel // self.channels.in_per_group
        per = self.channels.out_per_group
        return range(group * per, (group + 1) * per)

    def partial_outputs(self) -> Iterator[np.ndarray]:
        """The output (``M×Ho×Wo``) after each step in turn; the last is the whole output."""
        if self.added is None:
            raise ValueError("the scatter has no values")
        output = np.zeros((self.channels.out_channels, *self.spec.output_size))
        for step, added in zip(self.steps, self.added, strict=True):
            if step.targets:
                rows, cols = np.array(step.targets).T
                channels = np.array(self.out_channels_of(step))
                output[channels[:, None], rows[None, :], cols[None, :]] += added
            yield output.copy()

    def output_after(self, index: int) -> np.ndarray:
        """The output after step ``index`` (all steps up to it added)."""
        for k, output in enumerate(self.partial_outputs()):
            if k == index:
                return output
        raise IndexError(f"step {index} out of range (0..{len(self.steps) - 1})")


def scatter(
    spec: ConvSpec,
    input_values: Any = None,
    weight: Any = None,
    *,
    in_channels: int | None = None,
    out_channels: int | None = None,
    groups: int | None = None,
) -> Scatter:
    """A transposed convolution as scatter-and-sum: steps, targets and (with values) amounts.

    Parameters
    ----------
    spec
        A transposed convolution.
    input_values, weight
        Its input (``C×H×W`` or ``H×W``) and PyTorch's weight (4-D or
        ``kh×kw``), or both None for the structure only.
    """
    if not spec.transposed:
        raise ConvgifError("--view: scatter is for a transposed convolution (add --transposed)")
    if (input_values is None) != (weight is None):
        raise ValueError("give both the input and the weight, or neither")
    channels = channels_of(spec, in_channels, out_channels, groups)
    (h, w), (oh, ow) = spec.input_size, spec.output_size
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    (top, _), (left, _) = spec.padding_pairs
    row_map = _axis_map(h, oh, kh, sh, dh, top)
    col_map = _axis_map(w, ow, kw, sw, dw, left)
    steps = []
    for channel in range(channels.in_channels):
        for r, c in np.ndindex(h, w):
            taps = tuple(
                (a, b) for a, b in np.ndindex(kh, kw) if row_map[r, a] >= 0 and col_map[c, b] >= 0
            )
            targets = tuple((int(row_map[r, a]), int(col_map[c, b])) for a, b in taps)
            steps.append(ScatterStep(len(steps), channel, (r, c), taps, targets))
    added = None
    if input_values is not None:
        x = _as_input(spec, input_values, channels)
        wt = _as_weight(spec, weight, channels)
        added = []
        for step in steps:
            kernel = wt[step.channel]  # (out/groups, kh, kw)
            a = np.array([t[0] for t in step.taps], dtype=np.int64)
            b = np.array([t[1] for t in step.taps], dtype=np.int64)
            amounts = x[step.channel, step.input[0], step.input[1]] * kernel[:, a, b]
            added.append(_frozen(amounts))
        added = tuple(added)
    return Scatter(spec, channels, tuple(steps), added)


# -- checks -----------------------------------------------------------------------------
def view_shape(
    spec: ConvSpec, view: str, channels: Channels | None = None
) -> tuple[int, int] | None:
    """The drawn matrix's ``(rows, columns)``, or None for a view without one."""
    channels = channels if channels is not None else channels_of(spec)
    (h, w), (oh, ow) = spec.input_size, spec.output_size
    kh, kw = spec.kernel_size
    if view == "im2col":
        return (channels.in_channels * kh * kw, oh * ow)
    if view == "matrix":
        return (channels.out_channels * oh * ow, channels.in_channels * h * w)
    return None


def check_view(spec: ConvSpec, view: str, padding_mode: str = "zeros") -> None:
    """Refuse a view that does not apply to the spec.

    Raises
    ------
    RenderError
        One line starting with ``--view``.
    """
    if view not in VIEWS:
        raise RenderError(f"--view: must be one of {', '.join(VIEWS)}, got {view!r}")
    if view == "scatter" and not spec.transposed:
        raise RenderError(
            "--view: scatter shows a transposed convolution (each input cell, times the "
            "kernel, added into the output); add --transposed"
        )
    if view == "matrix" and spec.mode != "conv":
        raise RenderError(
            f"--view: pooling (--mode {spec.mode}) has no convolution matrix (it has no "
            "weights); use --view im2col or window"
        )
    if view == "matrix" and padding_mode != "zeros":
        raise RenderError(
            f"--view: the convolution matrix needs zero padding; with --padding-mode "
            f"{padding_mode} an entry can hold several weights"
        )


def check_legible(spec: ConvSpec, view: str, channels: Channels | None = None) -> None:
    """Refuse a matrix too large to draw legibly (at most :data:`MAX_DRAWN_ROWS` rows, ...).

    Raises
    ------
    RenderError
        One line starting with ``--view`` that gives the size and the limit.
    """
    shape = view_shape(spec, view, channels)
    if shape is None:
        return
    rows, cols = shape
    if rows <= MAX_DRAWN_ROWS and cols <= MAX_DRAWN_COLUMNS and rows * cols <= MAX_DRAWN_CELLS:
        return
    raise RenderError(
        f"--view: the {_VIEW_NAMES[view]} of this spec is {rows}x{cols}, too large to draw "
        f"legibly (at most {MAX_DRAWN_ROWS} rows, {MAX_DRAWN_COLUMNS} columns and "
        f"{MAX_DRAWN_CELLS} cells); use a smaller --input-size, or print it with "
        f"convgif geometry --view {view} --json"
    )


def check_json_size(spec: ConvSpec, view: str, channels: Channels | None = None) -> None:
    """Refuse a matrix with more than :data:`MAX_JSON_ENTRIES` entries for ``--json``."""
    shape = view_shape(spec, view, channels)
    if shape is not None and shape[0] * shape[1] > MAX_JSON_ENTRIES:
        raise RenderError(
            f"--view: the {_VIEW_NAMES[view]} of this spec is {shape[0]}x{shape[1]} "
            f"({shape[0] * shape[1]} entries), more than the {MAX_JSON_ENTRIES} printed; "
            "use a smaller --input-size"
        )


# -- text and JSON ----------------------------------------------------------------------
def symbol(letter: str, indices: tuple[int, ...]) -> str:
    """``x₀₀``: a letter with subscript indices, comma-separated once one has two digits."""
    texts = [str(i) for i in indices]
    joined = ("," if any(len(t) > 1 for t in texts) else "").join(texts)
    return letter + joined.translate(_SUBSCRIPTS)


def _source_symbol(patches: PatchMatrix, row: int, column: int) -> str:
    source = patches.source(row, column)
    if source is None:
        return "−∞" if patches.spec.mode == "max" else "0"
    channel, r, c = source
    return symbol("x", (channel, r, c) if patches.channels.in_channels > 1 else (r, c))


def _tap_symbol(matrix: ConvolutionMatrix, row: int, column: int) -> str:
    tap = matrix.tap(row, column)
    if tap is None:
        return "0"
    one_channel = matrix.channels.in_channels == matrix.channels.out_channels == 1
    return symbol("w", tap[2:] if one_channel else tap)


def symbol_table(view: ConvolutionMatrix | PatchMatrix) -> list[list[str]]:
    """Every entry as a symbol: ``x₀₀`` (patch matrix), ``w₀₀`` (matrix), ``0`` where zero."""
    rows, cols = view.shape
    name = _tap_symbol if isinstance(view, ConvolutionMatrix) else _source_symbol
    return [[name(view, r, c) for c in range(cols)] for r in range(rows)]  # type: ignore[arg-type]


def _json_indices(array: np.ndarray) -> list[list[int | None]]:
    return [[int(i) if i >= 0 else None for i in row] for row in array]


def view_to_json(spec: ConvSpec, view: str, values: Values | None) -> dict[str, Any]:
    """The keys ``convgif geometry --view VIEW --json`` adds (one channel).

    - ``im2col``: ``im2col_sources`` (per entry, the flat index into the
      flattened input it holds, null for padding or an inserted zero) and,
      with values, ``im2col`` (the numbers: ``unfold``).
    - ``matrix``: ``matrix_taps`` (per entry, the flat index into the
      flattened weight, null where always zero) and, with values,
      ``matrix`` (the numbers).
    - ``scatter``: ``steps``, one per input cell (row-major): ``input``
      ``[r, c]``, ``taps`` ``[[a, b], ...]``, ``targets`` ``[[i, j], ...]``
      and, with values, ``added`` (what it adds into each target).

    Every view adds ``view``.
    """
    result: dict[str, Any] = {"view": view}
    padding_mode = values.padding_mode if values is not None else "zeros"
    check_view(spec, view, padding_mode)
    check_json_size(spec, view)
    if view == "im2col":
        patches = im2col(spec, None if values is None else values.input, padding_mode=padding_mode)
        result["im2col_sources"] = _json_indices(patches.sources)
        if patches.values is not None:
            result["im2col"] = _json_table(patches.values)
    elif view == "matrix":
        flip = values.flip if values is not None else False
        matrix = convolution_matrix(spec, None if values is None else values.kernel, flip=flip)
        result["matrix_taps"] = _json_indices(matrix.taps)
        if matrix.values is not None:
            result["matrix"] = _json_table(matrix.values)
    elif view == "scatter":
        given = values is not None
        steps = scatter(spec, values.input if given else None, values.kernel if given else None)
        result["steps"] = []
        for k, step in enumerate(steps.steps):
            entry: dict[str, Any] = {
                "input": list(step.input),
                "taps": [list(t) for t in step.taps],
                "targets": [list(t) for t in step.targets],
            }
            if steps.added is not None:
                entry["added"] = _json_table(steps.added[k])[0] if step.taps else []
            result["steps"].append(entry)
    return result
