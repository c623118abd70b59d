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
"""

from __future__ import annotations

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
from convgif.spec import ConvSpec, Pair

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

# Random values are small integers, as in the guide's numerical figures, so
# every number stays legible in its cell. Bounds are inclusive. Pooling inputs
# span one digit: from 0..3 nearly every window's maximum would be a tied 3.
RANDOM_INPUT_RANGE = (0, 3)
RANDOM_POOLING_INPUT_RANGE = (0, 9)
RANDOM_KERNEL_RANGE = (0, 2)

# numpy.pad's name for each of PyTorch's padding modes (same values per cell).
_NUMPY_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_FILE_SUFFIXES = (".csv", ".npy", ".txt")
_JSON_DECIMALS = 6
_MINUS = "\N{MINUS SIGN}"
# Below this size a float is summation noise (0.1 + 0.2 - 0.3) and prints as 0.
_NOISE = 1e-9
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
        Max pooling only (else None): for each step, row-major, the grid cell
        of the winning input cell; the first maximum in tap order (row-major
        over the taps) on ties; None where the window holds padding only.
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
    # Rows end at ';' or a newline; a trailing separator is allowed.
    rows = [row for row in re.split(r"[;\n]", text) if row.strip()]
    return _parse_rows([(f"row {n}", row) for n, row in enumerate(rows, start=1)], option)


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


def _read_npy(path: Path, option: str) -> np.ndarray:
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
    return _check_array(array, option)


def _check_array(array: Any, option: str) -> np.ndarray:
    try:
        array = np.asarray(array)
    except ValueError:  # nested lists of unequal lengths
        raise _fail(option, "ragged rows: every row must have as many values") from None
    if array.dtype.kind not in "biuf":
        raise _fail(option, f"expected real numbers, got an array of {array.dtype}")
    if array.ndim != 2:
        raise _fail(
            option,
            f"expected a 2-D array of values, got {array.ndim}-D (shape "
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


def parse_values(source: str | Path | np.ndarray, option: str) -> np.ndarray:
    """Read a 2-D table of values.

    Parameters
    ----------
    source
        Inline text (rows separated by ``;`` or newlines, values by ``,``,
        spaces allowed, e.g. ``"1, 2; 3, 4"``), a path to a ``.csv`` (or
        ``.txt``) file in that comma-separated form (blank and ``#`` lines
        skipped), a path to a ``.npy`` file, or an array(-like).
        A string is a path when it names an existing file or ends in
        ``.csv``, ``.txt`` or ``.npy``.
    option
        The command-line option it came from, for error messages
        (``"--input-values"``).

    Returns
    -------
    numpy.ndarray
        A new float64 array, 2-D, every value finite.

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
                array = _read_npy(path, option)
            else:
                array = _read_csv(path, option)
        else:
            array = _parse_inline(text, option)
    else:
        array = _check_array(source, option)
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


def _check_shape(values: np.ndarray, expected: Pair, option: str, size_option: str) -> None:
    if values.shape != tuple(expected):
        raise _fail(
            option,
            f"expected {_shape_text(expected)} values for {size_option} "
            f"{_shape_text(expected)}, got {_shape_text(values.shape)}",
        )


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
) -> Values:
    """Compute every number of a numerical figure.

    Parameters
    ----------
    spec
        The convolution or pooling.
    input_values, kernel_values
        Anything :func:`parse_values` reads, checked against the spec's
        input and kernel sizes; random where None. Pooling has no kernel.
    seed
        Seed of ``numpy.random.default_rng`` for random values: the input
        gets integers in :data:`RANDOM_INPUT_RANGE` (pooling:
        :data:`RANDOM_POOLING_INPUT_RANGE`), the kernel in
        :data:`RANDOM_KERNEL_RANGE`. Both are always drawn (input first), so a
        seed gives the same kernel whether or not the input is given.
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
        that do not apply (a padding mode, ``flip`` or kernel values for
        pooling; a padding mode or ``flip`` for a transposed convolution).
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
    _check_padding_mode(spec, padding_mode)

    # The given values are read and checked before anything of the spec's size is made.
    given_input = given_kernel = None
    if input_values is not None:
        given_input = parse_values(input_values, "--input-values")
        _check_shape(given_input, spec.input_size, "--input-values", "--input-size")
    if kernel_values is not None:
        given_kernel = parse_values(kernel_values, "--kernel-values")
        _check_shape(given_kernel, spec.kernel_size, "--kernel-values", "--kernel-size")
    rng = np.random.default_rng(seed)
    low, high = RANDOM_POOLING_INPUT_RANGE if pooling else RANDOM_INPUT_RANGE
    inputs = rng.integers(low, high + 1, size=spec.input_size).astype(np.float64)
    low, high = RANDOM_KERNEL_RANGE
    kernel = rng.integers(low, high + 1, size=spec.kernel_size).astype(np.float64)
    inputs = inputs if given_input is None else given_input
    kernel = kernel if given_kernel is None else given_kernel

    if spec.transposed:
        grid = _transposed_grid(spec, inputs)
    else:
        grid = _direct_grid(spec, inputs, padding_mode)
    assert grid.shape == tuple(spec.grid_size), (grid.shape, spec)
    windows = _windows(spec, grid)

    winners = None
    window_kernel = None
    if spec.mode == "max":
        output, winners = _max_pool(spec, windows)
    elif spec.mode == "avg":
        # count_include_pad=True: padding cells are zeros in the grid, and the
        # divisor is kh·kw for every window.
        with np.errstate(over="ignore", invalid="ignore"):
            output = windows.mean(axis=(-2, -1))
    else:
        window_kernel = kernel[::-1, ::-1] if (spec.transposed or flip) else kernel
        with np.errstate(over="ignore", invalid="ignore"):
            output = np.einsum("ijab,ab->ij", windows, window_kernel)
    # Max pooling's -inf (a window of padding only) is PyTorch's answer; any
    # other non-finite output is an overflow of the user's values.
    if spec.mode != "max" and not np.isfinite(output).all():
        raise _fail(
            _overflowing_option(given_input, None if pooling else given_kernel),
            "the values are too large: the output overflows double precision",
        )

    return Values(
        spec=spec,
        padding_mode=padding_mode,
        flip=flip,
        input=_frozen(inputs),
        kernel=None if pooling else _frozen(kernel),
        grid=_frozen(grid),
        window_kernel=None if window_kernel is None else _frozen(window_kernel),
        output=_frozen(output),
        winners=winners,
    )


# -- output -------------------------------------------------------------------
def _json_number(x: float, integral: bool) -> int | float | None:
    if not math.isfinite(x):
        return None  # JSON has no infinity: a padding-only max-pooling window
    if integral:
        return int(x)
    rounded = round(x, _JSON_DECIMALS)
    return 0.0 if rounded == 0 else rounded


def _json_table(array: np.ndarray) -> list[list[int | float | None]]:
    finite = array[np.isfinite(array)]
    integral = bool(np.all(finite == np.round(finite)))
    return [[_json_number(float(x), integral) for x in row] for row in array]


def values_to_json(values: Values) -> dict[str, Any]:
    """The values as JSON-ready nested lists.

    Keys: ``input_values`` (``H×W``), ``kernel_values`` (``kh×kw``, conv
    only, :attr:`Values.kernel`), ``output_values`` (``Ho×Wo``), and for conv
    ``padding_mode`` and ``flip``. A table whose values are all integral is
    given as ints; otherwise floats rounded to 6 decimals. A ``-inf`` output
    (max pooling over padding only) is ``null``.
    """
    result: dict[str, Any] = {"input_values": _json_table(values.input)}
    if values.kernel is not None:
        result["kernel_values"] = _json_table(values.kernel)
    result["output_values"] = _json_table(values.output)
    if values.spec.mode == "conv":
        result["padding_mode"] = values.padding_mode
        result["flip"] = values.flip
    return result


def format_value(x: float) -> str:
    """Short, legible text for a number drawn in a cell.

    Integral values print as ints (``"3"``), others rounded to 2 decimals
    with trailing zeros dropped (``"1.5"``, ``"1.33"``); smaller values that
    would round to 0 keep one significant digit (``"0.004"``), except float
    noise under 1e-9, which is ``"0"``. NaN (max-pooling padding, not a
    candidate) is ``""``; infinities (a max-pooling window over padding only)
    are ``"−∞"`` / ``"∞"``. Negative numbers use the minus sign ``−``.
    """
    x = float(x)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return f"{_MINUS}∞" if x < 0 else "∞"
    sign = _MINUS if x < 0 else ""
    size = abs(x)
    rounded = round(size, 2)
    if size < _NOISE:
        return "0"
    if rounded == 0:
        text = f"{size:.1g}"
    elif rounded == int(rounded):
        text = str(int(rounded))
    else:
        text = f"{rounded:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "0" else sign + text
