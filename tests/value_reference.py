"""Naive loop references for the output values, written from the definitions.

Independent of convgif: no drawn grid, no zero insertion, no sliding windows.
A direct convolution or pooling reads the input through an explicit padding
rule per cell; a transposed convolution scatters every input cell times the
kernel into the full output, then crops. Sizes are ``(h, w)``, padding
``(top, bottom, left, right)``.
"""

from __future__ import annotations

import math

import numpy as np

Pair = tuple[int, int]
Sides = tuple[int, int, int, int]


def padded_value(x: np.ndarray, row: int, col: int, mode: str) -> float | None:
    """The value at ``(row, col)`` of the input padded by ``mode`` (None: outside, zeros).

    ``row``/``col`` are input coordinates, negative or past the end in the
    padding. PyTorch's rules: reflect mirrors without repeating the edge,
    replicate repeats the edge, circular wraps around.
    """
    height, width = x.shape

    def index(i: int, n: int) -> int | None:
        if 0 <= i < n:
            return i
        if mode == "zeros":
            return None
        if mode == "replicate":
            return min(max(i, 0), n - 1)
        if mode == "circular":
            return i % n
        if mode == "reflect":
            return -i if i < 0 else 2 * (n - 1) - i
        raise ValueError(mode)

    r, c = index(row, height), index(col, width)
    return None if r is None or c is None else float(x[r, c])


def _direct_size(size: Pair, kernel: Pair, padding: Sides, stride: Pair, dilation: Pair) -> Pair:
    pads = ((padding[0], padding[1]), (padding[2], padding[3]))
    return tuple(  # type: ignore[return-value]
        (size[a] + sum(pads[a]) - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1
        for a in range(2)
    )


def _taps(out: Pair, tap: Pair, padding: Sides, stride: Pair, dilation: Pair) -> Pair:
    """Input coordinates read by one tap of one output cell."""
    return (
        out[0] * stride[0] - padding[0] + tap[0] * dilation[0],
        out[1] * stride[1] - padding[2] + tap[1] * dilation[1],
    )


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    padding: Sides,
    stride: Pair,
    dilation: Pair,
    mode: str = "zeros",
    flip: bool = False,
) -> np.ndarray:
    """Cross-correlation (``flip=False``) or true convolution (``flip=True``)."""
    kh, kw = w.shape
    oh, ow = _direct_size(x.shape, w.shape, padding, stride, dilation)
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    value = padded_value(x, *_taps((i, j), (a, b), padding, stride, dilation), mode)
                    weight = w[kh - 1 - a, kw - 1 - b] if flip else w[a, b]
                    total += 0.0 if value is None else value * weight
            out[i, j] = total
    return out


def conv_transpose2d(
    x: np.ndarray,
    w: np.ndarray,
    padding: Sides,
    stride: Pair,
    dilation: Pair,
    output_padding: Pair,
) -> np.ndarray:
    """Scatter: input cell ``(i, j)`` adds ``x[i, j]·w[a, b]`` at ``(i·s + a·d, j·s + b·d)``.

    The full result (plus ``output_padding`` zero rows/columns at the
    bottom/right) is then cropped by the padding on each side.
    """
    (h, wd), (kh, kw) = x.shape, w.shape
    full_h = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    full_w = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    full = np.zeros((full_h, full_w))
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for b in range(kw):
                    full[i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]] += (
                        x[i, j] * w[a, b]
                    )
    top, bottom, left, right = padding
    return full[top : full_h - bottom, left : full_w - right]


def max_pool2d(
    x: np.ndarray, kernel: Pair, padding: Sides, stride: Pair, dilation: Pair
) -> tuple[np.ndarray, list[Pair | None]]:
    """Max over the taps, padding never counted; also the winning input cell per output.

    The winner is the first maximum in tap order (row-major); None when every
    tap is padding (the output is then ``-inf``).
    """
    oh, ow = _direct_size(x.shape, kernel, padding, stride, dilation)
    out = np.full((oh, ow), -math.inf)
    winners: list[Pair | None] = []
    for i in range(oh):
        for j in range(ow):
            winner = None
            for a in range(kernel[0]):
                for b in range(kernel[1]):
                    r, c = _taps((i, j), (a, b), padding, stride, dilation)
                    value = padded_value(x, r, c, "zeros")
                    if value is not None and value > out[i, j]:
                        out[i, j], winner = value, (r, c)
            winners.append(winner)
    return out, winners


def avg_pool2d(x: np.ndarray, kernel: Pair, padding: Sides, stride: Pair) -> np.ndarray:
    """Mean over the taps with padding counted as zeros (``count_include_pad=True``)."""
    oh, ow = _direct_size(x.shape, kernel, padding, stride, (1, 1))
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            total = 0.0
            for a in range(kernel[0]):
                for b in range(kernel[1]):
                    value = padded_value(
                        x, *_taps((i, j), (a, b), padding, stride, (1, 1)), "zeros"
                    )
                    total += 0.0 if value is None else value
            out[i, j] = total / (kernel[0] * kernel[1])
    return out


# -- channels -----------------------------------------------------------------


def group_members(count: int, groups: int) -> list[range]:
    """The channels of each group: ``count`` channels cut into ``groups`` equal runs."""
    size = count // groups
    return [range(g * size, (g + 1) * size) for g in range(groups)]


def conv2d_channels(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    groups: int,
    padding: Sides,
    stride: Pair,
    dilation: Pair,
    mode: str = "zeros",
    flip: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``conv2d`` with channels: ``x`` is ``C×H×W``, ``w`` is ``M×C/g×kh×kw``.

    Output channel ``m`` of group ``g`` adds up, over the ``j``-th input
    channel of that group, the 2-D cross-correlation of the channel with
    ``w[m, j]``, then ``bias[m]``.

    Returns
    -------
    output, partial
        ``M×Ho×Wo``, and the per-channel terms ``M×C/g×Ho×Wo`` (before the bias).
    """
    in_groups = group_members(x.shape[0], groups)
    out_groups = group_members(w.shape[0], groups)
    planes: dict[tuple[int, int], np.ndarray] = {}
    for g in range(groups):
        for m in out_groups[g]:
            for j, c in enumerate(in_groups[g]):
                planes[m, j] = conv2d(x[c], w[m, j], padding, stride, dilation, mode, flip)
    first = planes[0, 0]
    partial = np.zeros((w.shape[0], w.shape[1], *first.shape))
    for (m, j), plane in planes.items():
        partial[m, j] = plane
    output = partial.sum(axis=1)
    if bias is not None:
        for m in range(w.shape[0]):
            output[m] += bias[m]
    return output, partial


def conv_transpose2d_channels(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    groups: int,
    padding: Sides,
    stride: Pair,
    dilation: Pair,
    output_padding: Pair,
) -> tuple[np.ndarray, np.ndarray]:
    """``conv_transpose2d`` with channels: ``x`` is ``C×H×W``, ``w`` is ``C×M/g×kh×kw``.

    Input channel ``c`` of group ``g`` scatters through ``w[c, k]`` into the
    ``k``-th output channel of that group.

    Returns
    -------
    output, partial
        ``M×Ho×Wo``, and the terms of each output channel's input channels,
        ``M×C/g×Ho×Wo``, in the order of the group's input channels.
    """
    in_groups = group_members(x.shape[0], groups)
    out_channels = w.shape[1] * groups
    out_groups = group_members(out_channels, groups)
    planes: dict[tuple[int, int], np.ndarray] = {}
    for g in range(groups):
        for j, c in enumerate(in_groups[g]):
            for k, m in enumerate(out_groups[g]):
                planes[m, j] = conv_transpose2d(
                    x[c], w[c, k], padding, stride, dilation, output_padding
                )
    first = planes[0, 0]
    partial = np.zeros((out_channels, x.shape[0] // groups, *first.shape))
    for (m, j), plane in planes.items():
        partial[m, j] = plane
    output = partial.sum(axis=1)
    if bias is not None:
        for m in range(out_channels):
            output[m] += bias[m]
    return output, partial
