"""The numbers of a numerical figure: input, kernel, drawn grid and output values.

Pure numpy (no drawing, no files). The output is computed the way the figure
draws it: a direct convolution (or pooling) over the drawn grid of
:class:`convgif.geometry.Geometry`, with the drawn stride and the dilation. For
a transposed convolution the drawn grid is the zero-inserted, re-padded input
and the window holds the flipped kernel, which is what makes that direct,
stride-1 convolution equal ``conv_transpose2d``. The results follow PyTorch:

- ``conv``: ``conv2d`` (cross-correlation; ``flip=True`` is a true
  convolution) with ``padding_mode`` zeros, reflect, replicate or circular;
  ``conv_transpose2d`` (zeros only, as ``ConvTranspose2d``), its padding
  crops the full output, per side where asymmetric.
- ``max``: ``max_pool2d``; padding is ``-inf`` (never a winner).
- ``avg``: ``avg_pool2d`` with ``count_include_pad=True``: padding counts as
  zeros and the divisor is always ``kh·kw``.

Pooling and transposed convolutions accept only ``padding_mode="zeros"``:
PyTorch's pooling has no padding mode and ``ConvTranspose2d`` refuses others.

Channels follow PyTorch too: the input is ``C×H×W``, the weight has the
operation's 4-D shape (:attr:`ConvSpec.weight_shape`), output channel ``m``
sums the cross-correlations of its group's input channels with its kernels,
plus ``bias[m]``; pooling pools each channel on its own. Single-channel
values keep their 2-D arrays.
"""

from __future__ import annotations

import functools
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convgif.errors import ConvgifError
from convgif.geometry import Cell
from convgif.inputs import MAX_VALUES_BYTES, excerpt, read_file, read_text, shown_path
from convgif.spec import ConvSpec

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

# Random values are small integers, as in the guide's numerical figures, so
# every number stays legible in its cell. Bounds are inclusive. Pooling inputs
# are distinct (a shuffle of 1..H·W, at most two digits): with repeats, most
# windows of a small range hold the same maximum and every frame says the same.
RANDOM_INPUT_RANGE = (0, 3)
RANDOM_POOLING_INPUT_RANGE = (0, 99)
RANDOM_KERNEL_RANGE = (0, 2)
# A random bias is small and signed, so it visibly shifts the sum both ways.
RANDOM_BIAS_RANGE = (-2, 2)
# The --bias value that asks for a random bias (from --seed).
RANDOM_BIAS = "random"

# numpy.pad's name for each of PyTorch's padding modes (same values per cell).
_NUMPY_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_FILE_SUFFIXES = (".csv", ".npy", ".txt")
_JSON_DECIMALS = 6
_MINUS = "\N{MINUS SIGN}"
# Below this size a float is summation noise (0.1 + 0.2 - 0.3) and prints as 0.
_NOISE = 1e-9
# From here on a number is written in scientific notation (``1.5e12``): its digits
# would otherwise run to 309 characters, and the figure as wide (a cell, an equation).
_SCIENTIFIC_FROM = 1e9
_NPY_SIGNATURE = b"\x93NUMPY"


class ValuesError(ConvgifError):
    """Values that cannot be used: unreadable, wrong shape, or a refused option.

    The message is one line starting with the command-line option it concerns
    (``--input-values: ...``); the CLI prints it as is.
    """


@dataclass(frozen=True, eq=False)
class Values:
    """Every number drawn in a numerical figure.

    All arrays are float64 and read-only.

    Single-channel values (:attr:`ConvSpec.is_single_channel`) keep the 2-D
    shapes below; with channels, ``input`` is ``C×H×W``, ``kernel`` the 4-D
    weight, ``grid`` ``C×Gh×Gw``, ``window_kernel`` ``M×C/g×kh×kw`` and
    ``output`` ``M×Ho×Wo``. The ``*_planes`` properties give the channel
    shapes in both cases.

    Attributes
    ----------
    spec
        The convolution these values belong to.
    padding_mode
        One of :data:`PADDING_MODES` (always ``"zeros"`` for pooling and
        transposed convolutions).
    flip
        True for a true (flipped-kernel) direct convolution.
    input
        The input, ``H×W``, unpadded.
    kernel
        The weights ``kh×kw`` as the operation takes them: ``conv2d``'s
        cross-correlation weight, ``conv_transpose2d``'s own weight, or with
        ``flip`` the true convolution's kernel (``conv2d`` needs it flipped).
        None for pooling.
    grid
        The value in every cell of the drawn grid ``Gh×Gw``: input values,
        padding values per ``padding_mode``, 0 at inserted zeros. For max
        pooling the padding is NaN: it is ``-inf`` in the maths, never a
        candidate, and drawn empty.
    window_kernel
        The weights as drawn in the sliding window, tap by tap: ``kernel``
        flipped on both axes for a transposed convolution or with ``flip``,
        else ``kernel``. ``output`` is the cross-correlation of ``grid`` with
        it. None for pooling.
    output
        The output ``Ho×Wo``. A max-pooling window over padding only gives
        ``-inf``, as PyTorch does.
    winners
        Max pooling only (else None): for each step (channel first, then
        row-major), the grid cell of the winning input cell (in the step's
        channel); the first maximum in tap order (row-major over the taps) on
        ties; None where the window holds padding only.
    bias
        The bias, one value per output channel (``M``), or None without one.
        It is added to every output value of its channel.
    channel_sums
        Convolutions only (else None): ``M×C/g×Ho×Wo``, each input channel's
        partial sum (its window cross-correlated with its kernel slice) for
        every output element, before the channels are added up and the bias
        added. Always 4-D.
    """

    spec: ConvSpec
    padding_mode: str
    flip: bool
    input: np.ndarray
    kernel: np.ndarray | None
    grid: np.ndarray
    window_kernel: np.ndarray | None
    output: np.ndarray
    winners: tuple[Cell | None, ...] | None = None
    bias: np.ndarray | None = None
    channel_sums: np.ndarray | None = None

    @property
    def input_planes(self) -> np.ndarray:
        """The input as ``C×H×W``, whatever the channel count."""
        return self.input.reshape(self.spec.in_channels, *self.spec.input_size)

    @property
    def grid_planes(self) -> np.ndarray:
        """The drawn grid of every input channel, ``C×Gh×Gw``."""
        return self.grid.reshape(self.spec.in_channels, *self.spec.grid_size)

    @property
    def output_planes(self) -> np.ndarray:
        """The output as ``M×Ho×Wo``, whatever the channel count."""
        return self.output.reshape(self.spec.out_channels, *self.spec.output_size)

    @property
    def window_weights(self) -> np.ndarray | None:
        """The weights drawn in the window, ``M×C/g×kh×kw``: output channel ``m``'s
        kernel over the ``j``-th input channel of its group (None for pooling)."""
        if self.window_kernel is None:
            return None
        spec = self.spec
        return self.window_kernel.reshape(
            spec.out_channels, spec.in_channels_per_group, *spec.kernel_size
        )

    def _step_position(self, step: int) -> tuple[int, int, int]:
        if not 0 <= step < self.spec.step_count:
            raise IndexError(f"step {step} out of range (0..{self.spec.step_count - 1})")
        rows, cols = self.spec.output_size
        channel, cell = divmod(step, rows * cols)
        return (channel, *divmod(cell, cols))

    def partial_sums(self, step: int) -> np.ndarray:
        """Each input channel's partial sum for one step (convolutions only).

        Parameters
        ----------
        step
            The step index (channel first, then row-major), as
            :meth:`convgif.geometry.Geometry.step`.

        Returns
        -------
        numpy.ndarray
            ``C/g`` values, in the order of the step's ``in_channels``; their
            sum plus :meth:`bias_of` is the step's output value.

        Raises
        ------
        ValueError
            For pooling, which has no partial sums.
        """
        if self.channel_sums is None:
            raise ValueError(f"pooling (--mode {self.spec.mode}) has no partial sums")
        channel, row, col = self._step_position(step)
        return self.channel_sums[channel, :, row, col]

    def output_value(self, step: int) -> float:
        """The output value a step computes."""
        channel, row, col = self._step_position(step)
        return float(self.output_planes[channel, row, col])

    def bias_of(self, out_channel: int) -> float:
        """The bias added to an output channel (0 without a bias)."""
        return 0.0 if self.bias is None else float(self.bias[out_channel])


# -- parsing ------------------------------------------------------------------
def _fail(option: str, message: str) -> ValuesError:
    return ValuesError(f"{option}: {message}")


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _parse_number(text: str, option: str, where: str) -> float:
    field = text.strip()
    if not field:
        raise _fail(option, f"empty value in {where}")
    try:
        return float(field)
    except ValueError:
        raise _fail(option, f"not a number: {excerpt(field, 20)} in {where}") from None


def _parse_rows(rows: list[tuple[str, str]], option: str) -> np.ndarray:
    """Read ``(where, text)`` rows of comma-separated numbers, all as long as the first."""
    if not rows:
        raise _fail(option, "no values given")
    table: list[list[float]] = []
    for where, row in rows:
        table.append([_parse_number(field, option, where) for field in row.split(",")])
        if len(table[-1]) != len(table[0]):
            raise _fail(
                option,
                f"ragged rows: {rows[0][0]} has {len(table[0])} values, "
                f"{where} has {len(table[-1])}",
            )
    return np.array(table, dtype=np.float64)


def _parse_inline(text: str, option: str) -> np.ndarray:
    if "|" in text:
        return _parse_inline_planes(text, option)
    return _parse_plane(text, option, "")


def _parse_plane(text: str, option: str, where: str) -> np.ndarray:
    # Rows end at ';' or a newline; a trailing separator is allowed.
    rows = [row for row in re.split(r"[;\n]", text) if row.strip()]
    if not rows and where:
        raise _fail(option, f"no values in {where.rstrip(', ')}")
    return _parse_rows([(f"{where}row {n}", row) for n, row in enumerate(rows, start=1)], option)


def _parse_inline_planes(text: str, option: str) -> np.ndarray:
    """Planes separated by ``|`` (channels, 3-D); groups of them by ``||`` (filters, 4-D)."""
    four_d = "||" in text
    blocks = text.split("||") if four_d else [text]
    parsed: list[list[np.ndarray]] = []
    for f, block in enumerate(blocks, start=1):
        planes = []
        for c, plane in enumerate(block.split("|"), start=1):
            where = (f"filter {f}, " if four_d else "") + f"channel {c}, "
            planes.append(_parse_plane(plane, option, where))
            first = parsed[0][0] if parsed else planes[0]
            if planes[-1].shape != first.shape:
                raise _fail(
                    option,
                    f"ragged channels: {where.rstrip(', ')} has "
                    f"{_shape_text(planes[-1].shape)} values, the first has "
                    f"{_shape_text(first.shape)}",
                )
        if parsed and len(planes) != len(parsed[0]):
            raise _fail(
                option,
                f"ragged filters: filter {f} has {len(planes)} channels, "
                f"filter 1 has {len(parsed[0])}",
            )
        parsed.append(planes)
    array = np.array(parsed, dtype=np.float64)
    return array if four_d else array[0]


def _read_csv(path: Path, option: str) -> np.ndarray:
    text = read_text(path, option, MAX_VALUES_BYTES, ValuesError, encoding="utf-8-sig")
    # Blank lines and '#' comment lines are skipped; line numbers stay the file's.
    rows = [
        (f"{shown_path(path)} line {number}", line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows:
        raise _fail(option, f"no values in {shown_path(path)}")
    return _parse_rows(rows, option)


def _read_npy(path: Path, option: str, ndims: tuple[int, ...] = (2,)) -> np.ndarray:
    """A .npy file, its header checked before numpy allocates what the header announces."""
    data = read_file(path, option, MAX_VALUES_BYTES, ValuesError)

    def refused(reason: str) -> ValuesError:
        return _fail(option, f"cannot read {shown_path(path)} as a .npy file: {reason}")

    if not data.startswith(_NPY_SIGNATURE):
        archive = " (a .npz or zip archive?)" if data.startswith(b"PK") else ""
        raise refused(f"it does not start with the .npy signature{archive}")
    stream = io.BytesIO(data)
    # numpy's parser raises many kinds of exception on a corrupt header, and its
    # messages quote the header: the reason given here is ours.
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            shape, dtype = None, None
    except Exception:
        raise refused("its header is not a valid .npy header") from None
    if shape is None or dtype is None:
        raise refused(f"unsupported .npy format version {version[0]}.{version[1]}")
    if dtype.hasobject:
        raise refused("it holds Python objects, not numbers")
    if math.prod(shape) * dtype.itemsize > len(data) - stream.tell():
        raise refused(
            f"its header announces {_shape_text(shape) or 'one'} values of {dtype}, "
            f"more than the file holds"
        )
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as error:
        raise refused(f"its data cannot be read ({type(error).__name__})") from None
    return _check_array(array, option, ndims)


def _check_array(array: Any, option: str, ndims: tuple[int, ...] = (2,)) -> np.ndarray:
    try:
        array = np.asarray(array)
    except ValueError:  # nested lists of unequal lengths
        raise _fail(option, "ragged rows: every row must have as many values") from None
    if array.dtype.kind not in "biuf":
        raise _fail(option, f"expected real numbers, got an array of {array.dtype}")
    if array.ndim not in ndims:
        dims = f"{ndims[0]}-D" if len(ndims) == 1 else f"{ndims[0]}-D to {ndims[-1]}-D"
        raise _fail(
            option,
            f"expected a {dims} array of values, got {array.ndim}-D (shape "
            f"{_shape_text(array.shape) or 'scalar'})",
        )
    if array.size == 0:
        raise _fail(option, "no values given")
    return array.astype(np.float64)


def _is_file(text: str) -> bool:
    try:
        return Path(text).exists()  # a directory too, so it is refused as a file
    except (OSError, ValueError):  # too long for a file name, or a NUL byte
        return False


def names_a_file(text: str, folder: Path | None = None) -> bool:
    """True when a values string names a file rather than giving inline rows.

    It does when it is one line and ends in ``.csv``, ``.txt`` or ``.npy``, or
    names something that exists (relative to ``folder`` when given, else to the
    current directory).
    """
    if "\n" in text:
        return False
    if text.strip().lower().endswith(_FILE_SUFFIXES):
        return True
    return _is_file(str(folder / text) if folder is not None else text)


def parse_values(
    source: str | Path | np.ndarray, option: str, ndims: tuple[int, ...] = (2,)
) -> np.ndarray:
    """Read a table of values (2-D unless ``ndims`` allows more).

    Parameters
    ----------
    source
        Inline text (rows separated by ``;`` or newlines, values by ``,``,
        spaces allowed, e.g. ``"1, 2; 3, 4"``; channels of a 3-D array
        separated by ``|``, ``"1,2;3,4 | 5,6;7,8"``; filters of a 4-D array by
        ``||``, ``"1 | 2 || 3 | 4"``), a path to a ``.csv`` (or
        ``.txt``) file in that comma-separated form (blank and ``#`` lines
        skipped), a path to a ``.npy`` file, or an array(-like).
        A string is a path when it names an existing file or ends in
        ``.csv``, ``.txt`` or ``.npy``.
    option
        The command-line option it came from, for error messages
        (``"--input-values"``).
    ndims
        The numbers of dimensions accepted (a ``.csv`` file is always 2-D).

    Returns
    -------
    numpy.ndarray
        A new float64 array, every value finite.

    Raises
    ------
    ValuesError
        One line naming ``option``: missing or unreadable file, bad number,
        ragged rows, not 2-D, empty, or a non-finite value.
    """
    if isinstance(source, (str, Path)):
        text = str(source)
        if isinstance(source, Path) or names_a_file(text):
            path = Path(text)
            if not _is_file(text):
                raise _fail(option, f"file not found: {shown_path(path)}")
            if path.suffix.lower() == ".npy":
                array = _read_npy(path, option, ndims)
            else:
                array = _check_array(_read_csv(path, option), option, ndims)
        else:
            array = _check_array(_parse_inline(text, option), option, ndims)
    else:
        array = _check_array(source, option, ndims)
    if not np.isfinite(array).all():
        raise _fail(option, "every value must be a finite number (no nan or inf)")
    return array


# -- checks -------------------------------------------------------------------
def _check_padding_mode(spec: ConvSpec, padding_mode: str) -> None:
    option = "--padding-mode"
    if padding_mode not in PADDING_MODES:
        raise _fail(
            option, f"must be one of {', '.join(PADDING_MODES)}, got {excerpt(padding_mode)}"
        )
    if padding_mode == "zeros":
        return
    if spec.mode != "conv":
        fill = "-inf" if spec.mode == "max" else "zeros"
        raise _fail(
            option,
            f"{padding_mode} applies to convolutions only; pooling (--mode {spec.mode}) "
            f"pads with {fill}, as PyTorch does",
        )
    if spec.transposed:
        raise _fail(
            option,
            f"{padding_mode} is not available for a transposed convolution "
            "(PyTorch's ConvTranspose2d supports only zeros)",
        )
    (top, bottom), (left, right) = spec.padding_pairs
    for axis_name, size, pads in (
        ("height", spec.input_size[0], (top, bottom)),
        ("width", spec.input_size[1], (left, right)),
    ):
        pad = max(pads)
        if padding_mode == "reflect" and pad >= size:
            raise _fail(
                option,
                f"reflect padding must be smaller than the input (PyTorch's rule): "
                f"padding {pad} >= input {axis_name} {size}",
            )
        if padding_mode == "circular" and pad > size:
            raise _fail(
                option,
                f"circular padding must be at most the input size (PyTorch's rule): "
                f"padding {pad} > input {axis_name} {size}",
            )


def _fit_shape(
    values: np.ndarray, expected: tuple[int, ...], option: str, wanted: str
) -> np.ndarray:
    """``values`` reshaped to ``expected``, if they agree up to dimensions of size 1.

    So a single channel's ``H×W`` fits ``1×H×W``, a 1×1 convolution's weight
    may be given as its ``M×C`` matrix, and a bias as a row or a column; the
    order of the numbers never changes.
    """
    if tuple(n for n in values.shape if n != 1) != tuple(n for n in expected if n != 1):
        if len(expected) == 2 and values.ndim != 2:
            raise _fail(
                option,
                f"expected a 2-D array of values, got {values.ndim}-D "
                f"(shape {_shape_text(values.shape)})",
            )
        got = _shape_text(values.shape)
        if len(expected) == 1 and values.ndim <= 2 and min(values.shape) == 1:
            got = f"{values.size}"  # a row or a column of values
        raise _fail(option, f"expected {wanted}, got {got}")
    return values.reshape(expected)


def _given_values(
    spec: ConvSpec, source: str | Path | np.ndarray, option: str, kind: str
) -> np.ndarray:
    """Read ``--input-values``, ``--kernel-values`` or ``--bias`` and fit it to the spec."""
    array = parse_values(source, option, ndims=(1, 2, 3, 4))
    if kind == "bias":
        shape: tuple[int, ...] = (spec.out_channels,)
        wanted = f"{spec.out_channels} values, one per output channel (--out-channels {shape[0]})"
        return _fit_shape(array, shape, option, wanted)
    if kind == "input":
        size_option, pair = "--input-size", spec.input_size
        shape = (spec.in_channels, *pair)
        channels = f"--in-channels {spec.in_channels}"
    else:
        size_option, pair = "--kernel-size", spec.kernel_size
        shape = tuple(spec.weight_shape or ())
        order = "in, out/groups" if spec.transposed else "out, in/groups"
        channels = (
            f"the weight's shape ({order}, kh, kw) for --in-channels {spec.in_channels}, "
            f"--out-channels {spec.out_channels}, --groups {spec.groups}"
        )
    if spec.is_single_channel:
        shape, wanted = pair, f"{_shape_text(pair)} values for {size_option} {_shape_text(pair)}"
    else:
        wanted = f"{_shape_text(shape)} values ({channels}, {size_option} {_shape_text(pair)})"
    return _fit_shape(array, shape, option, wanted)


# -- computation --------------------------------------------------------------
def _direct_grid(spec: ConvSpec, values: np.ndarray, padding_mode: str) -> np.ndarray:
    """The padded input of a direct convolution or pooling."""
    (top, bottom), (left, right) = spec.padding_pairs
    if padding_mode == "zeros":
        fill = np.nan if spec.mode == "max" else 0.0
        return np.pad(values, ((top, bottom), (left, right)), constant_values=fill)
    # Pad the indices, not the values: each padding cell then takes the value
    # of the input cell PyTorch copies into it.
    mode = _NUMPY_PAD_MODE[padding_mode]
    rows = np.pad(np.arange(spec.input_size[0]), (top, bottom), mode=mode)
    cols = np.pad(np.arange(spec.input_size[1]), (left, right), mode=mode)
    return values[np.ix_(rows, cols)]


def _transposed_grid(spec: ConvSpec, values: np.ndarray) -> np.ndarray:
    """The zero-inserted input, padded (or cropped, where negative) as drawn."""
    inserted = np.zeros(spec.zero_inserted_size)
    inserted[:: spec.stride[0], :: spec.stride[1]] = values
    top, bottom, left, right = spec.display_padding
    padded = np.pad(inserted, ((max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))))
    rows, cols = padded.shape
    return padded[max(-top, 0) : rows - max(-bottom, 0), max(-left, 0) : cols - max(-right, 0)]


def _windows(spec: ConvSpec, grid: np.ndarray) -> np.ndarray:
    """The taps under every window position: shape ``(Ho, Wo, kh, kw)`` (a view)."""
    (sh, sw), (dh, dw) = spec.display_stride, spec.dilation
    (oh, ow), (kh, kw) = spec.output_size, spec.kernel_size
    view = sliding_window_view(grid, spec.effective_kernel_size)
    windows = view[: (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
    assert windows.shape == (oh, ow, kh, kw), (windows.shape, spec)
    return windows


def _max_pool(spec: ConvSpec, windows: np.ndarray) -> tuple[np.ndarray, tuple[Cell | None, ...]]:
    oh, ow, kh, kw = windows.shape
    taps = np.where(np.isnan(windows), -np.inf, windows).reshape(oh, ow, kh * kw)
    best = np.argmax(taps, axis=-1)  # the first maximum in tap order
    output = np.take_along_axis(taps, best[..., None], axis=-1)[..., 0]
    (sh, sw), (dh, dw) = spec.display_stride, spec.dilation
    winners: list[Cell | None] = []
    for (row, col), tap in np.ndenumerate(best):
        if output[row, col] == -np.inf:
            winners.append(None)
        else:
            a, b = divmod(int(tap), kw)
            winners.append((row * sh + a * dh, col * sw + b * dw))
    return output, tuple(winners)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


def _overflowing_option(given_input: np.ndarray | None, given_kernel: np.ndarray | None) -> str:
    """The option whose values made the output overflow: the one given, or of two the larger.

    Random values are small integers and cannot overflow on their own.
    """
    if given_kernel is None:
        return "--input-values"
    if given_input is None:
        return "--kernel-values"
    input_peak, kernel_peak = np.abs(given_input).max(), np.abs(given_kernel).max()
    return "--kernel-values" if kernel_peak > input_peak else "--input-values"


def compute_values(
    spec: ConvSpec,
    *,
    input_values: str | Path | np.ndarray | None = None,
    kernel_values: str | Path | np.ndarray | None = None,
    seed: int = 0,
    padding_mode: str = "zeros",
    flip: bool = False,
    bias: str | Path | np.ndarray | None = None,
) -> Values:
    """Compute every number of a numerical figure.

    Parameters
    ----------
    spec
        The convolution or pooling.
    input_values, kernel_values
        Anything :func:`parse_values` reads, checked against the spec's
        input and kernel sizes; random where None. Pooling has no kernel.
        With channels: the input ``C×H×W`` and the weight's 4-D shape
        (:attr:`ConvSpec.weight_shape`); shapes that differ only by
        dimensions of size 1 are accepted (a single channel's ``H×W``).
    seed
        Seed of ``numpy.random.default_rng`` for random values: the input
        gets integers in :data:`RANDOM_INPUT_RANGE` (pooling:
        :data:`RANDOM_POOLING_INPUT_RANGE`), the kernel in
        :data:`RANDOM_KERNEL_RANGE`. Both are always drawn (input first), so a
        seed gives the same kernel whether or not the input is given.
        A random bias, drawn last, has integers in :data:`RANDOM_BIAS_RANGE`.
    bias
        None (no bias), :data:`RANDOM_BIAS` (``"random"``: from ``seed``), or
        values for each output channel (anything :func:`parse_values` reads,
        a row or a column). Convolutions only.
    padding_mode
        PyTorch's ``padding_mode``; only ``zeros`` for pooling and transposed
        convolutions.
    flip
        Compute a true convolution (kernel flipped) instead of the
        cross-correlation; direct convolutions only.

    Raises
    ------
    ValuesError
        For values that cannot be read or do not fit the spec, and for options
        that do not apply (a padding mode, ``flip``, kernel values or a bias
        for pooling; a padding mode or ``flip`` for a transposed convolution).
    """
    pooling = spec.mode != "conv"
    if flip and pooling:
        raise _fail("--flip", f"pooling (--mode {spec.mode}) has no kernel to flip")
    if flip and spec.transposed:
        raise _fail(
            "--flip",
            "applies to direct convolutions only; a transposed convolution's window "
            "already shows its kernel flipped",
        )
    if kernel_values is not None and pooling:
        raise _fail("--kernel-values", f"pooling (--mode {spec.mode}) has no kernel weights")
    if bias is not None and pooling:
        raise _fail("--bias", f"pooling (--mode {spec.mode}) has no bias")
    _check_padding_mode(spec, padding_mode)

    # The given values are read and checked before anything of the spec's size is made.
    given_input = given_kernel = given_bias = None
    random_bias = isinstance(bias, str) and bias.strip().lower() == RANDOM_BIAS
    if input_values is not None:
        given_input = _given_values(spec, input_values, "--input-values", "input")
    if kernel_values is not None:
        given_kernel = _given_values(spec, kernel_values, "--kernel-values", "kernel")
    if bias is not None and not random_bias:
        given_bias = _given_values(spec, bias, "--bias", "bias")

    # Drawn in the channel shapes: one channel draws exactly the numbers it
    # drew before channels existed (same seed, same figure).
    rng = np.random.default_rng(seed)
    channels, out_channels = spec.in_channels, spec.out_channels
    cells = spec.input_size[0] * spec.input_size[1]
    if pooling and cells <= RANDOM_POOLING_INPUT_RANGE[1]:
        # One shuffle of 1..H·W per channel: distinct values, a meaningful maximum.
        inputs = np.stack([rng.permutation(cells) + 1 for _ in range(channels)])
        inputs = inputs.reshape(channels, *spec.input_size).astype(np.float64)
    else:
        low, high = RANDOM_POOLING_INPUT_RANGE if pooling else RANDOM_INPUT_RANGE
        inputs = rng.integers(low, high + 1, size=(channels, *spec.input_size)).astype(np.float64)
    low, high = RANDOM_KERNEL_RANGE
    weight_shape = spec.weight_shape or (1, 1, *spec.kernel_size)
    kernel = rng.integers(low, high + 1, size=weight_shape).astype(np.float64)
    bias_vector = None
    if random_bias:
        low, high = RANDOM_BIAS_RANGE
        bias_vector = rng.integers(low, high + 1, size=out_channels).astype(np.float64)
    inputs = inputs if given_input is None else given_input
    kernel = kernel if given_kernel is None else given_kernel
    bias_vector = bias_vector if given_bias is None else given_bias
    inputs = inputs.reshape(channels, *spec.input_size)
    kernel = kernel.reshape(weight_shape)

    grids = np.stack(
        [
            _transposed_grid(spec, plane)
            if spec.transposed
            else _direct_grid(spec, plane, padding_mode)
            for plane in inputs
        ]
    )
    assert grids.shape[1:] == tuple(spec.grid_size), (grids.shape, spec)
    windows = [_windows(spec, grid) for grid in grids]

    winners = None
    window_kernel = None
    channel_sums = None
    if spec.mode == "max":
        pooled = [_max_pool(spec, channel) for channel in windows]
        output = np.stack([plane for plane, _ in pooled])
        winners = tuple(cell for _, cells in pooled for cell in cells)
    elif spec.mode == "avg":
        # count_include_pad=True: padding cells are zeros in the grid, and the
        # divisor is kh·kw for every window.
        with np.errstate(over="ignore", invalid="ignore"):
            output = np.stack([channel.mean(axis=(-2, -1)) for channel in windows])
    else:
        window_kernel = _window_weights(spec, kernel, flip)
        with np.errstate(over="ignore", invalid="ignore"):
            channel_sums = np.stack(
                [
                    [
                        np.einsum("ijab,ab->ij", windows[c], window_kernel[m, j])
                        for j, c in enumerate(spec.in_channels_of(m))
                    ]
                    for m in range(out_channels)
                ]
            )
            output = channel_sums.sum(axis=1)
            if bias_vector is not None:
                output = output + bias_vector[:, None, None]
    # Max pooling's -inf (a window of padding only) is PyTorch's answer; any
    # other non-finite output is an overflow of the user's values.
    if spec.mode != "max" and not np.isfinite(output).all():
        raise _fail(
            _overflowing_option(given_input, None if pooling else given_kernel),
            "the values are too large: the output overflows double precision",
        )

    # A single channel keeps the 2-D arrays it always had.
    single = spec.is_single_channel
    return Values(
        spec=spec,
        padding_mode=padding_mode,
        flip=flip,
        input=_frozen(inputs[0] if single else inputs),
        kernel=None if pooling else _frozen(kernel[0, 0] if single else kernel),
        grid=_frozen(grids[0] if single else grids),
        window_kernel=None
        if window_kernel is None
        else _frozen(window_kernel[0, 0] if single else window_kernel),
        output=_frozen(output[0] if single else output),
        winners=winners,
        bias=None if bias_vector is None else _frozen(bias_vector),
        channel_sums=None if channel_sums is None else _frozen(channel_sums),
    )


def _window_weights(spec: ConvSpec, weight: np.ndarray, flip: bool) -> np.ndarray:
    """The weights the window shows, ``M×C/g×kh×kw``, from PyTorch's weight.

    ``conv2d``'s weight is already indexed (output channel, input channel of
    its group); ``conv_transpose2d``'s is (input channel, output channel of
    its group), so it is regrouped, and flipped as the drawn direct
    convolution needs.
    """
    if not spec.transposed:
        return weight[:, :, ::-1, ::-1] if flip else weight
    per_group = spec.out_channels_per_group
    rows = []
    for m in range(spec.out_channels):
        rows.append([weight[c, m % per_group, ::-1, ::-1] for c in spec.in_channels_of(m)])
    return np.array(rows, dtype=np.float64)


# -- output -------------------------------------------------------------------
def _json_number(x: float, integral: bool) -> int | float | None:
    if not math.isfinite(x):
        return None  # JSON has no infinity: a padding-only max-pooling window
    if integral:
        return int(x)
    rounded = round(x, _JSON_DECIMALS)
    return 0.0 if rounded == 0 else rounded


def _json_table(array: np.ndarray) -> list[Any]:
    """Nested lists of any depth; ints when every finite value is integral."""
    finite = array[np.isfinite(array)]
    integral = bool(np.all(finite == np.round(finite)))

    def nest(part: np.ndarray) -> list[Any]:
        if part.ndim == 1:
            return [_json_number(float(x), integral) for x in part]
        return [nest(sub) for sub in part]

    return nest(array)


def values_to_json(values: Values) -> dict[str, Any]:
    """The values as JSON-ready nested lists.

    Keys: ``input_values`` (``H×W``), ``kernel_values`` (``kh×kw``, conv
    only, :attr:`Values.kernel`), ``output_values`` (``Ho×Wo``), and for conv
    ``padding_mode`` and ``flip``. With more than one channel: ``C×H×W``, the
    weight's 4-D shape and ``M×Ho×Wo``. With a bias, ``bias_values`` (one per
    output channel). A table whose values are all integral is
    given as ints; otherwise floats rounded to 6 decimals. A ``-inf`` output
    (max pooling over padding only) is ``null``.
    """
    result: dict[str, Any] = {"input_values": _json_table(values.input)}
    if values.kernel is not None:
        result["kernel_values"] = _json_table(values.kernel)
    result["output_values"] = _json_table(values.output)
    if values.bias is not None:
        result["bias_values"] = _json_table(values.bias)
    if values.spec.mode == "conv":
        result["padding_mode"] = values.padding_mode
        result["flip"] = values.flip
    return result


def format_value(x: float, decimals: int = 2) -> str:
    """Short, legible text for a number drawn in a cell.

    Integral values print as ints (``"3"``), others rounded to ``decimals``
    decimals with trailing zeros dropped (``"1.5"``, ``"1.33"``); smaller
    values that would round to 0 keep one significant digit (``"0.004"``),
    except float noise under 1e-9, which is ``"0"``; a billion and more is
    scientific (``"1.5e12"``), so no text is longer than a few characters. NaN (max-pooling
    padding, not a candidate) is ``""``; infinities (a max-pooling window
    over padding only) are ``"−∞"`` / ``"∞"``. Negative numbers use the
    minus sign ``−``.
    """
    x = float(x)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return f"{_MINUS}∞" if x < 0 else "∞"
    sign = _MINUS if x < 0 else ""
    size = abs(x)
    rounded = round(size, decimals)
    if size < _NOISE:
        return "0"
    if rounded >= _SCIENTIFIC_FROM:
        mantissa, exponent = f"{size:.{decimals}e}".split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return sign + f"{mantissa}e{int(exponent)}"
    if rounded == 0:
        text = f"{size:.1g}"
    elif rounded == int(rounded):
        text = str(int(rounded))
    else:
        text = f"{rounded:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text == "0" else sign + text


# A figure writes each input value once per step whose window reads it.
@functools.lru_cache(maxsize=8192)
def shown(x: float, decimals: int = 2) -> tuple[str, bool]:
    """``(format_value(x, decimals), shown_exactly(x, that text))``: a number as drawn."""
    text = format_value(x, decimals)
    return text, shown_exactly(x, text)


def shown_exactly(x: float, text: str) -> bool:
    """Whether ``text`` (from :func:`format_value`) is ``x`` itself, not a rounding of it."""
    if not math.isfinite(x) or not text:
        return True
    return abs(float(text.replace(_MINUS, "-")) - x) <= _NOISE * max(1.0, abs(x))
