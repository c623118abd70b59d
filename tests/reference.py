"""A brute-force reference for 2-D convolution geometry and values.

Written from the definitions with numpy and plain loops, independent of
``convgif`` (it imports nothing from it), so the tests can compare the engine
with it. Output sizes are found by counting (sliding or scattering), never by
the closed-form relation.

Conventions: a size, stride or dilation is an int or an ``(h, w)`` pair;
padding is an int, an ``(h, w)`` pair or per side ``(top, bottom, left,
right)``. Cells are ``(row, col)`` tuples, 0-based.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Cell = tuple[int, int]

# Marks in a grid of input indices: anything >= 0 is the flat index of an
# input cell (row * width + col).
PADDING = -1
ZERO = -2


def as_pair(value: int | Sequence[int]) -> tuple[int, int]:
    """``5`` -> ``(5, 5)``; ``(h, w)`` unchanged."""
    if isinstance(value, int):
        return (value, value)
    h, w = value
    return (int(h), int(w))


def as_sides(value: int | Sequence[int]) -> tuple[int, int, int, int]:
    """Padding as ``(top, bottom, left, right)``."""
    if isinstance(value, int):
        return (value, value, value, value)
    if len(value) == 2:
        return (int(value[0]), int(value[0]), int(value[1]), int(value[1]))
    t, b, left, r = value
    return (int(t), int(b), int(left), int(r))


@dataclass(frozen=True)
class Layout:
    """What the reference finds for one convolution.

    Attributes
    ----------
    output_size
        Counted output ``(height, width)``; a zero means the output is empty.
    sources
        For each output cell, the input cells it depends on.
    grid
        The grid a direct convolution slides over, as input indices (``>= 0``)
        or the marks ``PADDING`` / ``ZERO``. For a transposed convolution, the
        guide's drawing: zero-inserted input, padded by ``d(k-1)-p`` (cropped
        where negative) plus the output padding at the bottom/right.
    windows
        For each output cell, the grid cells under the kernel taps, row-major
        over the taps, as the direct convolution over ``grid`` slides.
    """

    output_size: tuple[int, int]
    sources: dict[Cell, frozenset[Cell]]
    grid: np.ndarray
    windows: dict[Cell, tuple[Cell, ...]]


def _window_origins(length: int, kernel: int, stride: int, dilation: int) -> list[int]:
    """Every start where a dilated kernel fits inside ``length`` cells, by sliding."""
    origins = []
    start = 0
    while start + dilation * (kernel - 1) < length:
        origins.append(start)
        start += stride
    return origins


def slide(
    grid: np.ndarray,
    input_width: int,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
) -> tuple[tuple[int, int], dict[Cell, tuple[Cell, ...]], dict[Cell, frozenset[Cell]]]:
    """Slide a kernel over a grid of input indices.

    ``input_width`` turns a flat input index back into ``(row, col)``.

    Returns
    -------
    output_size, windows, sources
        The counted output size; per output cell the grid cells under the taps
        and the input cells among them.
    """
    kh, kw = as_pair(kernel_size)
    sh, sw = as_pair(stride)
    dh, dw = as_pair(dilation)
    rows = _window_origins(grid.shape[0], kh, sh, dh)
    cols = _window_origins(grid.shape[1], kw, sw, dw)
    windows: dict[Cell, tuple[Cell, ...]] = {}
    sources: dict[Cell, frozenset[Cell]] = {}
    for i, top in enumerate(rows):
        for j, left in enumerate(cols):
            cells = tuple((top + a * dh, left + b * dw) for a in range(kh) for b in range(kw))
            windows[(i, j)] = cells
            sources[(i, j)] = frozenset(
                divmod(int(grid[c]), input_width) for c in cells if grid[c] >= 0
            )
    return (len(rows), len(cols)), windows, sources


def index_grid(input_size: int | Sequence[int]) -> np.ndarray:
    """The unpadded input as a grid of its flat indices."""
    h, w = as_pair(input_size)
    return np.arange(h * w).reshape(h, w)


def padded_grid(input_size: int | Sequence[int], padding: int | Sequence[int]) -> np.ndarray:
    """The input's indices with ``PADDING`` marks around it, per side."""
    t, b, left, r = as_sides(padding)
    return np.pad(index_grid(input_size), ((t, b), (left, r)), constant_values=PADDING)


def direct_layout(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    padding: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
) -> Layout:
    """A direct convolution: slide the dilated kernel over the padded input."""
    grid = padded_grid(input_size, padding)
    size, windows, sources = slide(grid, as_pair(input_size)[1], kernel_size, stride, dilation)
    return Layout(size, sources, grid, windows)


def transposed_sources(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    padding: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
    output_padding: int | Sequence[int],
) -> tuple[tuple[int, int], dict[Cell, frozenset[Cell]]]:
    """A transposed convolution by scattering: which inputs reach each output.

    Input cell ``x`` reaches full-output position ``x·s + t·d`` through tap
    ``t``. The output is that canvas, extended by ``output_padding`` at the
    bottom/right, with ``padding`` cropped from each side; output cell ``y`` is
    canvas position ``y + p_before``.
    """
    h, w = as_pair(input_size)
    kh, kw = as_pair(kernel_size)
    sh, sw = as_pair(stride)
    dh, dw = as_pair(dilation)
    oph, opw = as_pair(output_padding)
    t, b, left, r = as_sides(padding)
    canvas: dict[Cell, set[Cell]] = {}
    extent_h = extent_w = 0
    for p in range(h):
        for q in range(w):
            for a in range(kh):
                for c in range(kw):
                    target = (p * sh + a * dh, q * sw + c * dw)
                    canvas.setdefault(target, set()).add((p, q))
                    extent_h = max(extent_h, target[0] + 1)
                    extent_w = max(extent_w, target[1] + 1)
    rows = range(t, extent_h + oph - b)
    cols = range(left, extent_w + opw - r)
    sources = {
        (i, j): frozenset(canvas.get((y, x), ()))
        for i, y in enumerate(rows)
        for j, x in enumerate(cols)
    }
    return (len(rows), len(cols)), sources


def transposed_drawn_grid(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    padding: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
    output_padding: int | Sequence[int],
) -> np.ndarray:
    """The guide's drawing of a transposed convolution, as a grid of indices.

    ``s−1`` zeros between input cells, then ``d(k−1)−p`` padding per side (a
    negative amount crops), plus the output padding at the bottom/right.
    """
    h, w = as_pair(input_size)
    sh, sw = as_pair(stride)
    kh, kw = as_pair(kernel_size)
    dh, dw = as_pair(dilation)
    oph, opw = as_pair(output_padding)
    t, b, left, r = as_sides(padding)
    spread = np.full(((h - 1) * sh + 1, (w - 1) * sw + 1), ZERO)
    spread[::sh, ::sw] = index_grid((h, w))
    amounts = [
        dh * (kh - 1) - t,
        dh * (kh - 1) - b + oph,
        dw * (kw - 1) - left,
        dw * (kw - 1) - r + opw,
    ]
    grown = np.pad(
        spread,
        ((max(amounts[0], 0), max(amounts[1], 0)), (max(amounts[2], 0), max(amounts[3], 0))),
        constant_values=PADDING,
    )
    crop_top, crop_bottom, crop_left, crop_right = (max(-a, 0) for a in amounts)
    return grown[
        crop_top : grown.shape[0] - crop_bottom,
        crop_left : grown.shape[1] - crop_right,
    ]


def transposed_layout(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    padding: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
    output_padding: int | Sequence[int],
) -> Layout:
    """A transposed convolution: scattered sources, and the guide's drawn grid.

    ``sources`` and ``output_size`` come from scattering (the definition);
    ``grid`` and ``windows`` from the drawing (stride 1 over the drawn grid).
    """
    size, sources = transposed_sources(
        input_size, kernel_size, padding, stride, dilation, output_padding
    )
    if min(size) < 1:
        return Layout((max(size[0], 0), max(size[1], 0)), {}, np.empty((0, 0), int), {})
    grid = transposed_drawn_grid(input_size, kernel_size, padding, stride, dilation, output_padding)
    _, windows, _ = slide(grid, as_pair(input_size)[1], kernel_size, 1, dilation)
    return Layout(size, sources, grid, windows)


# -- values -----------------------------------------------------------------


def conv2d_naive(
    x: np.ndarray,
    w: np.ndarray,
    padding_sides: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
) -> np.ndarray:
    """Cross-correlation (what deep-learning libraries call convolution), by loops.

    Parameters
    ----------
    x
        Input, shape ``(H, W)``.
    w
        Kernel, shape ``(kh, kw)``.
    padding_sides
        Zero padding, an int, ``(h, w)`` or ``(top, bottom, left, right)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(Ho, Wo)``, counted by sliding; may have a zero dimension.
    """
    t, b, left, r = as_sides(padding_sides)
    sh, sw = as_pair(stride)
    dh, dw = as_pair(dilation)
    kh, kw = w.shape
    padded = np.pad(np.asarray(x, dtype=float), ((t, b), (left, r)))
    rows = _window_origins(padded.shape[0], kh, sh, dh)
    cols = _window_origins(padded.shape[1], kw, sw, dw)
    out = np.zeros((len(rows), len(cols)))
    for i, top in enumerate(rows):
        for j, start in enumerate(cols):
            total = 0.0
            for a in range(kh):
                for c in range(kw):
                    total += padded[top + a * dh, start + c * dw] * w[a, c]
            out[i, j] = total
    return out


def conv_transpose2d_naive(
    x: np.ndarray,
    w: np.ndarray,
    padding_sides: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
    output_padding: int | Sequence[int],
) -> np.ndarray:
    """Transposed convolution by scattering every input cell through every tap.

    ``out[x·s − p_before + t·d] += in[x]·w[t]`` per axis; the output keeps
    ``output_padding`` extra rows/columns at the bottom/right (zeros where the
    scattered canvas does not reach).

    Parameters
    ----------
    x
        Input, shape ``(H, W)``.
    w
        Kernel, shape ``(kh, kw)``.
    padding_sides
        Cropped from the full output: an int, ``(h, w)`` or per side.

    Returns
    -------
    numpy.ndarray
        Shape ``(Ho, Wo)``; a zero dimension when the padding crops everything.
    """
    t, b, left, r = as_sides(padding_sides)
    sh, sw = as_pair(stride)
    dh, dw = as_pair(dilation)
    oph, opw = as_pair(output_padding)
    h, wd = x.shape
    kh, kw = w.shape
    # Large enough for every target; the real extent is tracked while scattering.
    canvas = np.zeros((h * sh + kh * dh + oph, wd * sw + kw * dw + opw))
    extent_h = extent_w = 0
    for p in range(h):
        for q in range(wd):
            for a in range(kh):
                for c in range(kw):
                    y, z = p * sh + a * dh, q * sw + c * dw
                    canvas[y, z] += x[p, q] * w[a, c]
                    extent_h, extent_w = max(extent_h, y + 1), max(extent_w, z + 1)
    rows = range(t, extent_h + oph - b)
    cols = range(left, extent_w + opw - r)
    out = np.zeros((len(rows), len(cols)))
    for i, y in enumerate(rows):
        for j, z in enumerate(cols):
            out[i, j] = canvas[y, z]
    return out


def layout_of(spec: Any) -> Layout:
    """The reference's answer for a spec, read from its normalised fields.

    ``spec`` is anything with ``input_size``, ``kernel_size``, ``padding``
    (per side), ``stride``, ``dilation``, ``transposed`` and
    ``output_padding`` attributes; this module imports nothing from convgif.
    """
    args = (spec.input_size, spec.kernel_size, spec.padding, spec.stride, spec.dilation)
    if spec.transposed:
        return transposed_layout(*args, spec.output_padding)
    return direct_layout(*args)


# -- channels, patch matrices and convolution matrices ------------------------


def conv2d_groups_naive(
    x: np.ndarray,
    w: np.ndarray,
    padding_sides: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
    groups: int,
) -> np.ndarray:
    """``conv2d`` with channels and groups, by loops over channel pairs.

    ``x`` is ``C×H×W``, ``w`` is PyTorch's ``(M, C/groups, kh, kw)``; output
    channel ``m`` reads the input channels of its group.
    """
    out_channels, in_per_group = w.shape[:2]
    out_per_group = out_channels // groups
    planes = []
    for m in range(out_channels):
        group = m // out_per_group
        total = None
        for c in range(in_per_group):
            plane = conv2d_naive(
                x[group * in_per_group + c], w[m, c], padding_sides, stride, dilation
            )
            total = plane if total is None else total + plane
        planes.append(total)
    return np.stack(planes)


def conv_transpose2d_groups_naive(
    x: np.ndarray,
    w: np.ndarray,
    padding_sides: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
    output_padding: int | Sequence[int],
    groups: int,
) -> np.ndarray:
    """``conv_transpose2d`` with channels and groups, by loops over channel pairs.

    ``x`` is ``C×H×W``, ``w`` is PyTorch's ``(C, M/groups, kh, kw)``; input
    channel ``c`` scatters into the output channels of its group.
    """
    in_channels, out_per_group = w.shape[:2]
    in_per_group = in_channels // groups
    planes = []
    for m in range(out_per_group * groups):
        group, o = divmod(m, out_per_group)
        total = None
        for c in range(group * in_per_group, (group + 1) * in_per_group):
            plane = conv_transpose2d_naive(
                x[c], w[c, o], padding_sides, stride, dilation, output_padding
            )
            total = plane if total is None else total + plane
        planes.append(total)
    return np.stack(planes)


def unfold_naive(
    grid: np.ndarray,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int],
    dilation: int | Sequence[int],
) -> np.ndarray:
    """The patch matrix of an already padded ``C×Gh×Gw`` grid, by loops.

    Row ``(c, a, b)`` row-major, column = window position row-major (counted by
    sliding), as ``torch.nn.functional.unfold`` orders them.
    """
    kh, kw = as_pair(kernel_size)
    sh, sw = as_pair(stride)
    dh, dw = as_pair(dilation)
    channels = grid.shape[0]
    rows = _window_origins(grid.shape[1], kh, sh, dh)
    cols = _window_origins(grid.shape[2], kw, sw, dw)
    out = np.zeros((channels * kh * kw, len(rows) * len(cols)), dtype=grid.dtype)
    for c in range(channels):
        for a in range(kh):
            for b in range(kw):
                for i, top in enumerate(rows):
                    for j, left in enumerate(cols):
                        out[(c * kh + a) * kw + b, i * len(cols) + j] = grid[
                            c, top + a * dh, left + b * dw
                        ]
    return out


def matrix_of(operation: Any, input_shape: tuple[int, ...]) -> np.ndarray:
    """The matrix of a linear map, column by column: its output for each unit input.

    Column ``k`` is ``operation(e_k).flatten()``, ``e_k`` being 1 at flat index
    ``k`` of an array of ``input_shape`` and 0 elsewhere.
    """
    size = int(np.prod(input_shape))
    columns = []
    for k in range(size):
        unit = np.zeros(size)
        unit[k] = 1.0
        columns.append(np.asarray(operation(unit.reshape(input_shape)), dtype=float).ravel())
    return np.stack(columns, axis=1)


# -- channels -----------------------------------------------------------------


def channel_sources(spec: Any) -> dict[tuple[int, Cell], frozenset[tuple[int, int, int]]]:
    """For each ``(out_channel, output cell)``, the ``(in_channel, row, col)`` it reads.

    Brute force over every pair of channels: a convolution's output channel
    reads an input channel when both fall in the same group (the channels
    cut into ``groups`` equal runs, in order); pooling reads its own channel.
    ``spec`` also needs ``in_channels``, ``out_channels``, ``groups`` and
    ``mode``.
    """
    cells = layout_of(spec).sources
    c_count, m_count, groups = spec.in_channels, spec.out_channels, spec.groups
    group_of_in = [c // (c_count // groups) for c in range(c_count)]
    group_of_out = [m // (m_count // groups) for m in range(m_count)]
    result = {}
    for m in range(m_count):
        if spec.mode == "conv":
            read = [c for c in range(c_count) if group_of_in[c] == group_of_out[m]]
        else:
            read = [m]
        for cell, inputs in cells.items():
            result[(m, cell)] = frozenset((c, r, q) for c in read for r, q in inputs)
    return result


# ---------------------------------------------------------------------------
# Stacks of layers: a layer is (input_size, kernel, stride, dilation, sides)
# with sides = (top, bottom, left, right); dependencies are composed by
# naive loops over every kernel tap, downwards from one top cell.


def brute_reads(cell, size, kernel, stride, dilation, sides):
    """The input cells under the kernel taps of one output cell (taps on padding left out)."""
    reads = set()
    for a in range(kernel[0]):
        for b in range(kernel[1]):
            row = cell[0] * stride[0] + a * dilation[0] - sides[0]
            col = cell[1] * stride[1] + b * dilation[1] - sides[2]
            if 0 <= row < size[0] and 0 <= col < size[1]:
                reads.add((row, col))
    return reads


def brute_dependencies(layers, top_cell):
    """Per layer (bottom first) the cells the top cell depends on, then the input's."""
    cells = {top_cell}
    found = [cells]
    for size, kernel, stride, dilation, sides in reversed(layers):
        cells = set().union(*(brute_reads(c, size, kernel, stride, dilation, sides) for c in cells))
        found.append(cells)
    found.reverse()
    return found[0], found[1:]


def layers_of(stack: Any) -> list[tuple[Any, ...]]:
    """The layers of a ``convgif.stack.StackSpec`` as brute-force tuples."""
    return [
        (layer.input_size, layer.kernel_size, layer.stride, layer.dilation, layer.padding)
        for layer in stack.layers
    ]


def random_layer(rng: random.Random) -> str:
    """A random layer SPEC as the command line writes it (``kernel-size=2x3 stride=2 ...``)."""

    def pair(low: int, high: int) -> str:
        h, w = rng.randint(low, high), rng.randint(low, high)
        return str(h) if h == w and rng.random() < 0.5 else f"{h}x{w}"

    parts = [f"kernel-size={pair(1, 3)}"]
    if rng.random() < 0.7:
        parts.append(f"stride={pair(1, 2)}")
    if rng.random() < 0.7:
        parts.append(f"dilation={pair(1, 3)}")
    padding = rng.choice(["int", "pair", "sides", "causal", "same", "full", "valid", None])
    if padding == "int":
        parts.append(f"padding={rng.randint(0, 2)}")
    elif padding == "pair":
        parts.append(f"padding={pair(0, 2)}")
    elif padding == "sides":
        parts.append("padding=" + ",".join(str(rng.randint(0, 3)) for _ in range(4)))
    elif padding is not None:
        parts.append(f"padding={padding}")
    if rng.random() < 0.15:
        parts.append(f"mode={rng.choice(['max', 'avg'])}")
    rng.shuffle(parts)
    return " ".join(parts)
