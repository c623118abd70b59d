"""The convolution spec: one frozen dataclass, its parsing and its arithmetic.

Everything else in convgif is derived from a :class:`ConvSpec`. This module is
pure Python: no numpy, no matplotlib, so ``convgif geometry`` starts fast.

Every size is an ``(height, width)`` pair; a bare int means square. Padding is
stored resolved, per side, as ``(top, bottom, left, right)``.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass, field
from typing import Literal

from convgif.errors import ConvgifError

Pair = tuple[int, int]
Sides = tuple[int, int, int, int]
Mode = Literal["conv", "max", "avg"]

PADDING_NAMES = ("valid", "same", "full", "causal")
MODES = ("conv", "max", "avg")
DEFAULTS = {
    "input_size": 5,
    "kernel_size": 3,
    "padding": 0,
    "stride": 1,
    "dilation": 1,
    "output_padding": 0,
}
CHANNEL_FIELDS = ("in_channels", "out_channels", "groups")
# More channels than any figure can show; the bound keeps every step's list of
# input channels (and the JSON) small.
MAX_CHANNELS = 1024

# Signs are accepted by the patterns so that "-1" is reported as breaking the
# minimum ("must not be negative") rather than as malformed.
_PAIR_RE = re.compile(r"^\s*([+-]?\d+)\s*(?:[xX×]\s*([+-]?\d+))?\s*$")
_SIDES_RE = re.compile(r"^\s*([+-]?\d+)\s*,\s*([+-]?\d+)\s*,\s*([+-]?\d+)\s*,\s*([+-]?\d+)\s*$")


class SpecError(ConvgifError):
    """A spec that PyTorch would refuse, or that gives an empty output.

    The message names the command-line option and the rule it broke; the CLI
    prints it as is.
    """


def option_name(name: str) -> str:
    """Return the command-line option for a spec field (``input_size`` -> ``--input-size``)."""
    return "--" + name.replace("_", "-")


def _fail(name: str, rule: str) -> SpecError:
    return SpecError(f"{option_name(name)}: {rule}")


def _describe_value(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def parse_pair(value: object, name: str, minimum: int = 1) -> Pair:
    """Read a size as ``(height, width)``.

    Parameters
    ----------
    value
        An int, an ``(h, w)`` pair, or a string ``"N"`` / ``"HxW"``.
    name
        The spec field, used in the error message.
    minimum
        The smallest value allowed for each of ``h`` and ``w``.

    Raises
    ------
    SpecError
        If the value is not of that form or breaks the minimum.
    """
    kind = "a positive integer" if minimum >= 1 else "a non-negative integer"
    form = f"{kind} or HxW (like 5x7)"
    pair: tuple[object, ...]
    if isinstance(value, bool):
        raise _fail(name, f"must be {form}, got {_describe_value(value)}")
    if isinstance(value, int):
        pair = (value, value)
    elif isinstance(value, str):
        match = _PAIR_RE.match(value)
        if not match:
            raise _fail(name, f"must be {form}, got {_describe_value(value)}")
        h = int(match.group(1))
        w = int(match.group(2)) if match.group(2) is not None else h
        pair = (h, w)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = tuple(value)
    else:
        raise _fail(name, f"must be {form}, got {_describe_value(value)}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise _fail(name, f"must be {form}, got {_describe_value(value)}")
    if min(pair) < minimum:  # type: ignore[type-var]
        shown = value if not isinstance(value, (tuple, list)) else "x".join(map(str, pair))
        rule = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        raise _fail(name, f"{rule}, got {shown}")
    return (int(pair[0]), int(pair[1]))  # type: ignore[arg-type]


def parse_count(value: object, name: str) -> int:
    """Read a count (channels, groups): a positive int or a string ``"N"``.

    Raises
    ------
    SpecError
        If the value is not a whole number or is less than 1.
    """
    number: object = value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, numbers.Integral):
        raise _fail(name, f"must be a positive integer, got {_describe_value(value)}")
    if int(number) < 1:
        raise _fail(name, f"must be at least 1, got {int(number)}")
    if int(number) > MAX_CHANNELS:
        raise _fail(name, f"must be at most {MAX_CHANNELS}, got {int(number)}")
    return int(number)


def _same_padding_1d(
    size: int, kernel: int, stride: int, dilation: int, transposed: bool, axis: str
) -> tuple[int, int]:
    """Padding (before, after) that makes the output ``size`` (direct) or ``size·stride``.

    Direct: TensorFlow's rule, output ``ceil(size / stride)``; at stride 1 that
    is the input size. Transposed: the padding of the direct ``same``
    convolution it is the gradient of, so the output is ``size·stride``. An odd
    total puts the extra row/column at the bottom/right, as TensorFlow does.
    """
    effective = dilation * (kernel - 1) + 1
    if transposed:
        total = effective - stride
        if total < 0:
            raise _fail(
                "padding",
                f"'same' is undefined for this transposed convolution: its output "
                f"{axis} cannot be input·stride because the stride ({stride}) exceeds "
                f"the dilated kernel ({effective}); give the padding as numbers",
            )
    else:
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def resolve_padding(
    value: object,
    input_size: Pair,
    kernel_size: Pair,
    stride: Pair,
    dilation: Pair,
    transposed: bool,
) -> tuple[Sides, str | None]:
    """Resolve a padding argument to ``(top, bottom, left, right)``.

    Parameters
    ----------
    value
        An int, an ``(h, w)`` pair, a ``(top, bottom, left, right)`` 4-tuple, a
        name (``valid``, ``same``, ``full``, ``causal``), or a string ``"N"``,
        ``"HxW"`` or ``"T,B,L,R"``. ``causal`` pads ``d·(k−1)`` before only
        (top and left), as Keras' ``Conv1D(padding="causal")``: at stride 1 the
        output keeps the input's size and each output cell reads only input
        cells at or above/left of its own position. On a ``1×N`` input with a
        ``1×K`` kernel that is the 1-D left-only padding (the height's is 0).

    Returns
    -------
    sides, name
        The resolved padding and the name it was given by, if any.
    """
    form = "a non-negative integer, HxW, T,B,L,R, or one of valid, same, full, causal"
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "valid":
            return (0, 0, 0, 0), "valid"
        if text == "causal":
            if transposed:
                raise _fail("padding", "'causal' is for a direct convolution, not a transposed one")
            ph, pw = (d * (k - 1) for d, k in zip(dilation, kernel_size, strict=True))
            return (ph, 0, pw, 0), "causal"
        if text == "full":
            ph, pw = (d * (k - 1) for d, k in zip(dilation, kernel_size, strict=True))
            return (ph, ph, pw, pw), "full"
        if text == "same":
            top, bottom = _same_padding_1d(
                input_size[0], kernel_size[0], stride[0], dilation[0], transposed, "height"
            )
            left, right = _same_padding_1d(
                input_size[1], kernel_size[1], stride[1], dilation[1], transposed, "width"
            )
            return (top, bottom, left, right), "same"
        match = _SIDES_RE.match(text)
        if match:
            t, b, left, r = (int(g) for g in match.groups())
            if min(t, b, left, r) < 0:
                raise _fail("padding", f"must not be negative, got {value.strip()}")
            return (t, b, left, r), None
        if _PAIR_RE.match(text):
            ph, pw = parse_pair(text, "padding", minimum=0)
            return (ph, ph, pw, pw), None
        raise _fail("padding", f"must be {form}, got {value!r}")
    if isinstance(value, (tuple, list)) and len(value) == 4:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise _fail("padding", f"must be {form}, got {value!r}")
        if min(value) < 0:
            raise _fail("padding", f"must not be negative, got {tuple(value)}")
        return (int(value[0]), int(value[1]), int(value[2]), int(value[3])), None
    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_pair = isinstance(value, (tuple, list)) and len(value) == 2
    if not (is_int or is_pair) or (
        is_pair and not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise _fail("padding", f"must be {form}, got {value!r}")
    ph, pw = parse_pair(value, "padding", minimum=0)
    return (ph, ph, pw, pw), None


@dataclass(frozen=True)
class ConvSpec:
    """One 2-D convolution (or pooling), as PyTorch defines it.

    Parameters
    ----------
    input_size, kernel_size, stride, dilation, output_padding
        ``(height, width)``; an int or ``"N"`` means square, ``"HxW"`` is read.
    padding
        Per side ``(top, bottom, left, right)``, ``(h, w)``, an int, or one of
        ``valid``, ``same``, ``full``, ``causal``. For a transposed convolution it is the
        padding argument of ``conv_transpose2d`` (rows/columns cropped from the
        full output), per side where asymmetric.
    transposed
        A transposed convolution (``conv_transpose2d``); ``input_size`` is its
        own input.
    output_padding
        Extra rows/columns at the bottom/right of a transposed output.
    mode
        ``conv``, or pooling: ``max`` (``max_pool2d``), ``avg`` (``avg_pool2d``).
    in_channels, out_channels, groups
        Channel counts and groups, PyTorch's rules: both counts divisible by
        ``groups``; output channel ``m`` reads only the input channels of its
        group. Pooling works on each channel on its own: ``out_channels`` must
        equal ``in_channels`` and ``groups`` must be 1 (``max_pool2d`` and
        ``avg_pool2d`` have no groups).

    Raises
    ------
    SpecError
        For anything PyTorch would refuse or that gives an empty output.
    """

    input_size: Pair = (5, 5)
    kernel_size: Pair = (3, 3)
    padding: Sides = (0, 0, 0, 0)
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    transposed: bool = False
    output_padding: Pair = (0, 0)
    mode: Mode = "conv"
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    padding_name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        for name in ("input_size", "kernel_size", "stride", "dilation"):
            put(name, parse_pair(getattr(self, name), name))
        put("output_padding", parse_pair(self.output_padding, "output_padding", minimum=0))
        for name in CHANNEL_FIELDS:
            put(name, parse_count(getattr(self, name), name))
        put("transposed", bool(self.transposed))
        if self.mode not in MODES:
            raise _fail("mode", f"must be one of {', '.join(MODES)}, got {self.mode!r}")
        sides, name = resolve_padding(
            self.padding,
            self.input_size,
            self.kernel_size,
            self.stride,
            self.dilation,
            self.transposed,
        )
        put("padding", sides)
        put("padding_name", name if name is not None else self._kept_padding_name(sides))
        self._validate()
        self._validate_channels()

    @classmethod
    def depthwise(cls, channels: int, multiplier: int = 1, **fields: object) -> ConvSpec:
        """A depthwise convolution: ``groups = in_channels = channels``.

        Each input channel gets its own ``multiplier`` filters, so
        ``out_channels = channels·multiplier`` (1: one kernel per channel).
        Other fields are passed on to :class:`ConvSpec`.
        """
        count = parse_count(channels, "in_channels")
        times = parse_count(multiplier, "out_channels")
        return cls(
            in_channels=count,
            out_channels=count * times,
            groups=count,
            **fields,  # type: ignore[arg-type]
        )

    def _kept_padding_name(self, sides: Sides) -> str | None:
        """The given ``padding_name`` if it still resolves to ``sides``, else None.

        ``dataclasses.replace`` passes the resolved padding with the old name;
        after a change of stride or size the name may no longer describe it.
        """
        if self.padding_name not in PADDING_NAMES:
            return None
        try:
            named, _ = resolve_padding(
                self.padding_name,
                self.input_size,
                self.kernel_size,
                self.stride,
                self.dilation,
                self.transposed,
            )
        except SpecError:
            return None
        return self.padding_name if named == sides else None

    # -- validation -------------------------------------------------------
    def _validate(self) -> None:
        if self.mode != "conv":
            self._validate_pooling()
        if not self.transposed and any(self.output_padding):
            raise _fail("output_padding", "only applies to a transposed convolution (--transposed)")
        for axis, name in enumerate(("height", "width")):
            if self.transposed:
                op, s, d = self.output_padding[axis], self.stride[axis], self.dilation[axis]
                if op >= max(s, d):
                    raise _fail(
                        "output_padding",
                        f"must be smaller than the stride or the dilation (PyTorch's rule); "
                        f"the {name} has output padding {op}, stride {s}, dilation {d}",
                    )
            padded = self.padded_input_size[axis]
            effective = self.effective_kernel_size[axis]
            if not self.transposed and effective > padded:
                raise _fail(
                    "kernel_size",
                    f"the kernel (dilated size {effective}) is larger than the padded input "
                    f"({padded}) in {name}, so the output would be empty",
                )
            if self.output_size[axis] < 1:
                raise _fail(
                    "padding",
                    f"too large for this transposed convolution: it crops its whole output "
                    f"(the output {name} would be {self.output_size[axis]}, "
                    f"it must be at least 1)",
                )

    def _validate_channels(self) -> None:
        if self.mode != "conv":
            if self.groups != 1:
                raise _fail(
                    "groups",
                    f"pooling (--mode {self.mode}) has no groups: it pools each channel on "
                    f"its own; leave --groups at 1, got {self.groups}",
                )
            if self.out_channels != self.in_channels:
                raise _fail(
                    "out_channels",
                    f"pooling (--mode {self.mode}) keeps the channels: must equal "
                    f"--in-channels ({self.in_channels}), got {self.out_channels}",
                )
            return
        for name in ("in_channels", "out_channels"):
            count = getattr(self, name)
            if count % self.groups:
                raise _fail(
                    "groups",
                    f"{self.groups} does not divide {option_name(name)} {count}; both channel "
                    f"counts must be divisible by the groups (PyTorch's rule)",
                )

    def _validate_pooling(self) -> None:
        if self.transposed:
            raise _fail("transposed", f"pooling (--mode {self.mode}) has no transposed form")
        if self.padding_name == "causal":
            # PyTorch's pooling pads at most half the window, so causal padding
            # (d·(k−1) before) would only work for 2-wide windows: refuse it.
            raise _fail(
                "padding", f"'causal' is for convolutions, not pooling (--mode {self.mode})"
            )
        if self.mode == "avg" and self.dilation != (1, 1):
            raise _fail("dilation", "average pooling has no dilation (PyTorch's avg_pool2d)")
        t, b, left, r = self.padding
        for name, pads, axis in (("height", (t, b), 0), ("width", (left, r), 1)):
            # PyTorch checks the plain kernel size here, not the dilated one
            # (max_pool2d refuses kernel 3, dilation 2, padding 2).
            half = self.kernel_size[axis] // 2
            if max(pads) > half:
                raise _fail(
                    "padding",
                    f"pooling padding must be at most half the kernel size (PyTorch's rule), "
                    f"but the {name} has padding {max(pads)} and kernel {self.kernel_size[axis]}",
                )

    # -- derived values ---------------------------------------------------
    @property
    def effective_kernel_size(self) -> Pair:
        """The dilated kernel's extent, ``d·(k−1)+1``."""
        return _pair(d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel_size, strict=True))

    @property
    def padding_pairs(self) -> tuple[Pair, Pair]:
        """Padding as ``((top, bottom), (left, right))``."""
        t, b, left, r = self.padding
        return (t, b), (left, r)

    @property
    def padded_input_size(self) -> Pair:
        """Input plus padding on both sides (direct convolution)."""
        (t, b), (left, r) = self.padding_pairs
        return (self.input_size[0] + t + b, self.input_size[1] + left + r)

    @property
    def output_size(self) -> Pair:
        """Output ``(height, width)``, PyTorch's documented formulas."""
        sizes = []
        for axis, (before, after) in enumerate(self.padding_pairs):
            i, k = self.input_size[axis], self.kernel_size[axis]
            s, d = self.stride[axis], self.dilation[axis]
            if self.transposed:
                op = self.output_padding[axis]
                sizes.append((i - 1) * s - before - after + d * (k - 1) + op + 1)
            else:
                sizes.append((i + before + after - d * (k - 1) - 1) // s + 1)
        return _pair(sizes)

    @property
    def zero_inserted_size(self) -> Pair:
        """Input with ``s−1`` zeros between cells: ``(i−1)·s+1`` (transposed)."""
        return _pair((i - 1) * s + 1 for i, s in zip(self.input_size, self.stride, strict=True))

    @property
    def display_padding(self) -> Sides:
        """Padding of the drawn (direct, stride-1 for transposed) convolution.

        For a transposed convolution this is ``d·(k−1)−p`` on each side plus the
        output padding at the bottom/right; it is negative where the padding
        crops more than the dilated kernel adds (those rows are not drawn).
        """
        if not self.transposed:
            return self.padding
        t, b, left, r = self.padding
        (gh, gw) = (d * (k - 1) for d, k in zip(self.dilation, self.kernel_size, strict=True))
        oph, opw = self.output_padding
        return (gh - t, gh - b + oph, gw - left, gw - r + opw)

    @property
    def display_stride(self) -> Pair:
        """Stride of the drawn convolution (1 for transposed)."""
        return (1, 1) if self.transposed else self.stride

    @property
    def grid_size(self) -> Pair:
        """Size of the displayed (bottom) grid."""
        t, b, left, r = self.display_padding
        h, w = self.zero_inserted_size if self.transposed else self.input_size
        return (h + t + b, w + left + r)

    @property
    def step_count(self) -> int:
        """Number of steps (frames): one per output element, ``out_channels·Ho·Wo``."""
        h, w = self.output_size
        return self.out_channels * h * w

    # -- channels ---------------------------------------------------------
    @property
    def is_single_channel(self) -> bool:
        """True for one input and one output channel (the guide's figures)."""
        return self.in_channels == 1 and self.out_channels == 1

    @property
    def is_depthwise(self) -> bool:
        """True for a depthwise convolution: ``groups = in_channels > 1``.

        ``out_channels`` may be any multiple of ``in_channels`` (PyTorch's
        "depthwise" with a depth multiplier).
        """
        return self.mode == "conv" and self.in_channels > 1 and self.groups == self.in_channels

    @property
    def in_channels_per_group(self) -> int:
        """Input channels each group reads, ``in_channels / groups``."""
        return self.in_channels // self.groups

    @property
    def out_channels_per_group(self) -> int:
        """Output channels each group makes, ``out_channels / groups``."""
        return self.out_channels // self.groups

    @property
    def weight_shape(self) -> tuple[int, int, int, int] | None:
        """PyTorch's weight shape; None for pooling.

        ``(out, in/groups, kh, kw)`` for ``conv2d``, ``(in, out/groups, kh, kw)``
        for ``conv_transpose2d``.
        """
        if self.mode != "conv":
            return None
        kh, kw = self.kernel_size
        if self.transposed:
            return (self.in_channels, self.out_channels_per_group, kh, kw)
        return (self.out_channels, self.in_channels_per_group, kh, kw)

    def group_of(self, out_channel: int) -> int:
        """The group an output channel belongs to (pooling: its own channel's, 0)."""
        _check_channel(out_channel, self.out_channels, "output")
        return out_channel // self.out_channels_per_group

    def in_channels_of(self, out_channel: int) -> tuple[int, ...]:
        """The input channels an output channel reads, in order.

        Its group's channels for a convolution; the same channel for pooling.

        Raises
        ------
        IndexError
            If ``out_channel`` is not in ``0..out_channels−1``.
        """
        group = self.group_of(out_channel)
        if self.mode != "conv":
            return (out_channel,)
        size = self.in_channels_per_group
        return tuple(range(group * size, (group + 1) * size))

    def out_channels_of(self, in_channel: int) -> tuple[int, ...]:
        """The output channels that read an input channel, in order.

        Raises
        ------
        IndexError
            If ``in_channel`` is not in ``0..in_channels−1``.
        """
        _check_channel(in_channel, self.in_channels, "input")
        if self.mode != "conv":
            return (in_channel,)
        group = in_channel // self.in_channels_per_group
        size = self.out_channels_per_group
        return tuple(range(group * size, (group + 1) * size))

    def channels_text(self) -> str:
        """The channels in a few words (``channels 3 → 2, groups 1``); empty for one channel."""
        if self.is_single_channel:
            return ""
        if self.mode != "conv":
            return f"channels {self.in_channels}"
        text = f"channels {self.in_channels} → {self.out_channels}"
        if self.groups != 1:
            text += f", groups {self.groups}" + (" (depthwise)" if self.is_depthwise else "")
        return text

    # -- text -------------------------------------------------------------
    def arithmetic(self) -> str:
        """The output-size relation with this spec's numbers substituted.

        One line per axis, or one line when both axes agree.
        """
        lines = []
        axes = (("height", 0), ("width", 1))
        if self.is_square:
            axes = (("", 0),)
        for name, axis in axes:
            before, after = self.padding_pairs[axis]
            i, k = self.input_size[axis], self.kernel_size[axis]
            s, d = self.stride[axis], self.dilation[axis]
            o = self.output_size[axis]
            label = f"{name}: " if name else ""
            pad = f"{before} + {after}" if not self.transposed else f"{before} − {after}"
            if self.transposed:
                op = self.output_padding[axis]
                lines.append(
                    f"{label}o = (i − 1)·s − p_before − p_after + d·(k − 1) + output_padding + 1"
                    f" = ({i} − 1)·{s} − {pad} + {d}·({k} − 1) + {op} + 1 = {o}"
                )
            else:
                lines.append(
                    f"{label}o = ⌊(i + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1"
                    f" = ⌊({i} + {pad} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {o}"
                )
        return "\n".join(lines)

    @property
    def is_square(self) -> bool:
        """True when every parameter is the same for height and width."""
        t, b, left, r = self.padding
        pairs = (
            self.input_size,
            self.kernel_size,
            self.stride,
            self.dilation,
            self.output_padding,
        )
        return all(p[0] == p[1] for p in pairs) and (t, b) == (left, r)

    def parameters_text(self) -> str:
        """A short one-line summary of the parameters, for captions."""
        show = _show
        t, b, left, r = self.padding
        pad = show((t, left)) if t == b and left == r else f"{t},{b},{left},{r}"
        if self.padding_name:
            pad = f"{self.padding_name} ({pad})"
        kind = {"conv": "conv", "max": "max pool", "avg": "avg pool"}[self.mode]
        if self.transposed:
            kind = "transposed conv"
        parts = [
            kind,
            f"input {show(self.input_size)}",
            f"kernel {show(self.kernel_size)}",
            f"padding {pad}",
            f"stride {show(self.stride)}",
        ]
        if self.dilation != (1, 1):
            parts.append(f"dilation {show(self.dilation)}")
        if self.transposed and any(self.output_padding):
            parts.append(f"output padding {show(self.output_padding)}")
        if not self.is_single_channel:
            parts.append(self.channels_text())
        parts.append(f"output {show(self.output_size)}")
        return ", ".join(parts)

    def describe(self) -> str:
        """A short human summary: parameters, arithmetic, grid and steps."""
        gh, gw = self.grid_size
        lines = [self.parameters_text(), self.arithmetic()]
        grid = f"drawn grid {gh}x{gw}"
        if self.transposed:
            grid += " (input with stride−1 zeros inserted, padded as the equivalent direct conv)"
        lines.append(grid)
        if not self.is_single_channel:
            lines.append(self._channels_description())
        steps = f"{self.step_count} steps"
        if self.out_channels > 1:
            h, w = self.output_size
            steps += f" ({self.out_channels} output channels × {h}x{w}, channel first)"
        lines.append(steps)
        return "\n".join(lines)

    def _channels_description(self) -> str:
        if self.mode != "conv":
            return f"{self.in_channels} channels, each pooled on its own"
        shape = "x".join(map(str, self.weight_shape or ()))
        order = "in, out/groups" if self.transposed else "out, in/groups"
        reads = self.in_channels_per_group
        return (
            f"{self.channels_text()}: weight {shape} ({order}, kh, kw); each output channel "
            f"reads {reads} input channel{'s' if reads != 1 else ''}"
        )

    def slug(self) -> str:
        """A file-name stem derived from the spec (``conv_i5_k3_p1_s2``)."""
        show = _show
        t, b, left, r = self.padding
        pad = show((t, left)) if (t == b and left == r) else f"{t}-{b}-{left}-{r}"
        kind = "transposed" if self.transposed else self.mode
        parts = [
            kind,
            f"i{show(self.input_size)}",
            f"k{show(self.kernel_size)}",
            f"p{pad}",
            f"s{show(self.stride)}",
        ]
        if self.dilation != (1, 1):
            parts.append(f"d{show(self.dilation)}")
        if any(self.output_padding):
            parts.append(f"op{show(self.output_padding)}")
        if not self.is_single_channel:
            same = self.mode != "conv"
            parts.append(f"c{self.in_channels}" + ("" if same else f"to{self.out_channels}"))
        if self.groups != 1:
            parts.append(f"g{self.groups}")
        return "_".join(parts)


def _check_channel(channel: int, count: int, kind: str) -> None:
    if isinstance(channel, bool) or not isinstance(channel, numbers.Integral):
        raise IndexError(f"{kind} channel must be an integer, got {channel!r}")
    if not 0 <= channel < count:
        raise IndexError(f"{kind} channel {channel} out of range (0..{count - 1})")


def _pair(values: object) -> Pair:
    h, w = values  # type: ignore[misc]
    return (int(h), int(w))


def _show(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"
