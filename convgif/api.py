"""The Python API: render a spec to a file or a folder of frames.

Everything is checked before the first frame is drawn (output path, theme,
options, frame count), so a bad call costs nothing and writes nothing. The
drawing and writing modules are imported only when a figure is made.

Example
-------
>>> from convgif import ConvSpec                                # doctest: +SKIP
>>> from convgif.api import RenderOptions, render_to_file      # doctest: +SKIP
>>> render_to_file(ConvSpec(input_size=5, padding=1, stride=2), None,
...                RenderOptions(layout="flat"))                # doctest: +SKIP
Written(path=PosixPath('conv_i5_k3_p1_s2.gif'), frame_count=9, size_bytes=...)
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convgif.errors import RenderError
from convgif.inputs import excerpt
from convgif.spec import ArgumentTypeError, ConvSpec, _show, is_boolean, is_integer

if TYPE_CHECKING:  # pragma: no cover - typing only; the heavy modules load lazily
    from convgif.figures.model import Figure
    from convgif.render import Renderer
    from convgif.stack import StackSpec
    from convgif.values import Values
    from convgif.writers import Written

LAYOUTS = ("oblique", "flat")
# PyTorch's padding_mode names; the same as convgif.values.PADDING_MODES,
# repeated here so the command line starts without importing numpy.
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
DEFAULT_DURATION_MS = 1000
DEFAULT_MAX_FRAMES = 3000
# The drawn grid's cells plus every step's window taps: what `geometry --json` lists
# and what a figure's values and frames cost. A 1000x1000 grid, or 3000 steps of an
# 18x18 kernel; the gallery's largest figure lists 657, the README's 16x16 example 2020.
DEFAULT_MAX_CELLS = 1_000_000
MAX_DURATION_MS = 655_350  # the longest GIF delay: 65535 centiseconds
DEFAULT_DECIMALS = 2
MAX_DECIMALS = 6
# The views of one convolution (convgif.views computes them; named here so the
# command line starts without importing numpy). DRAWN_VIEWS are those the
# renderer draws: a view is added there when its figure builder lands.
VIEWS = ("window", "im2col", "matrix", "scatter")
DRAWN_VIEWS = ("window", "im2col", "matrix", "scatter")
SYMBOL_VIEWS = ("im2col", "matrix")


def _number(name: str, value: object, minimum: float, maximum: float | None = None) -> float:
    """``value`` as a float (numpy scalars too), in range and finite."""
    if is_boolean(value) or not isinstance(value, numbers.Real):
        raise RenderError(f"--{name}: must be a number, got {excerpt(value)}")
    number = float(value)
    if not math.isfinite(number) or number < minimum or (maximum is not None and number > maximum):
        bound = f"from {minimum:g} to {maximum:g}" if maximum is not None else f">= {minimum:g}"
        raise RenderError(f"--{name}: must be {bound}, got {number:g}")
    return number


def _integer(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int (numpy integer scalars too), in range."""
    if not is_integer(value):
        raise RenderError(f"--{name}: must be a whole number, got {excerpt(value)}")
    number = operator.index(value)  # type: ignore[arg-type]
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        shown = number if number.bit_length() < 64 else "a larger number"
        raise RenderError(f"--{name}: must be {bound}, got {shown}")
    return number


@dataclass(frozen=True)
class RenderOptions:
    """How to draw and write a figure (the ``convgif render`` options).

    Attributes
    ----------
    layout
        ``oblique`` (the guide's slanted view) or ``flat`` (side by side).
    theme
        A theme name (``templates/themes/NAME.toml``) or a path to a TOML file.
    duration_ms
        Time each frame is shown.
    scale
        Size factor of the whole figure (cells, lines, text).
    dpi
        Pixels per inch of raster output.
    caption
        Write the parameters and the output-size arithmetic under the figure.
    transparent
        Transparent background.
    max_frames
        Refuse specs with more steps than this.
    max_cells
        Refuse specs whose drawn grid's cells plus every step's window taps
        are more than this (see :func:`cell_count`).
    step
        Render only this step (0-based, row-major over the output) as a still.
    numbers
        Write the values in the cells (a numerical figure): every input
        value, the kernel's weights in the window, the outputs as they are
        computed, max pooling's winner. Also on when any of ``seed``, ``input_values``,
        ``kernel_values``, a ``padding_mode`` other than zeros or ``flip`` is
        given.
    seed
        Seed of the random values (small integers) used where
        ``input_values`` / ``kernel_values`` are not given; None means 0
        (giving a seed turns the numbers on).
    input_values, kernel_values
        The input (``H×W``; ``C×H×W`` with channels) and the kernel's weights
        (``kh×kw``; with channels the 4-D :attr:`ConvSpec.weight_shape`;
        PyTorch's weight for the operation): inline text ``"1,2;3,4"``
        (channels separated by ``|``, filters by ``||``), a path to a
        ``.csv`` or ``.npy`` file, or nested lists / an array. Checked against
        the spec's sizes before anything is drawn.
    padding_mode
        PyTorch's ``padding_mode``: ``zeros``, ``reflect``, ``replicate`` or
        ``circular`` (direct convolutions only; pooling pads with ``-inf``
        for max, and with zeros that count in the average for avg,
        ``count_include_pad=True``).
    flip
        Compute a true convolution (kernel flipped in the window) instead of
        the frameworks' cross-correlation; direct convolutions only.
    labels
        Write each plane's name and size beside it (``input 5×5``); a
        transposed figure says which plane is the transposed convolution's
        input and which its output.
    equation
        With numbers, write each step's arithmetic under the figure
        (``y₁,₂ = 3·0 + 1·1 + … = 9``).
    decimals
        Decimals shown for values that are not whole numbers (0 to 6).
    view
        What the figure shows: ``window`` (the sliding window), ``im2col``
        (the patch matrix), ``matrix`` (the convolution matrix ``C``, ``Cᵀ``
        for a transposed spec) or ``scatter`` (a transposed convolution as
        scatter-and-sum). See :mod:`convgif.views`.
    symbols
        Write symbols (``x₀₀``, ``w₀₀``) in the matrix cells instead of
        numbers (``im2col`` and ``matrix`` views, without values).
    bias
        A bias added to each output channel: ``"random"`` (small integers
        from ``seed``), or one value per output channel (inline ``"1,-1"``,
        a ``.csv`` or ``.npy`` file, or a list / an array). Convolutions only.
        With ``separable``, the pointwise stage's bias.
    rgb
        Colour the three input channels' planes red, green and blue
        (``--in-channels 3``).
    separable
        Draw a depthwise-separable convolution in two stages: the spec's
        convolution made depthwise (``groups = in_channels``, one kernel per
        channel), then a 1×1 pointwise convolution from the input channels to
        ``out_channels``. Steps: the depthwise outputs, then the pointwise
        ones. ``kernel_values`` are not accepted (both stages' weights are
        random from ``seed``).

    The layout defaults to ``oblique``, or ``flat`` for a figure with numbers,
    whose numbers read better upright (``layout`` set explicitly wins).
    """

    layout: str | None = None
    theme: str | Path = "default"
    duration_ms: int = DEFAULT_DURATION_MS
    scale: float = 1.0
    dpi: float = 100.0
    caption: bool = False
    transparent: bool = False
    max_frames: int = DEFAULT_MAX_FRAMES
    step: int | None = None
    numbers: bool = False
    seed: int | None = None
    input_values: str | Path | Sequence[Sequence[float]] | Any | None = None
    kernel_values: str | Path | Sequence[Sequence[float]] | Any | None = None
    padding_mode: str = "zeros"
    flip: bool = False
    labels: bool = False
    equation: bool = True
    decimals: int = DEFAULT_DECIMALS
    view: str = "window"
    symbols: bool = False
    bias: str | Path | Sequence[float] | Any | None = None
    max_cells: int = DEFAULT_MAX_CELLS
    rgb: bool = False
    separable: bool = False

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if self.layout is not None and self.layout not in LAYOUTS:
            raise RenderError(
                f"--layout: must be one of {', '.join(LAYOUTS)}, got {excerpt(self.layout)}"
            )
        if not isinstance(self.theme, (str, Path)) or not str(self.theme):
            raise RenderError(f"--theme: must be a theme name or a path, got {excerpt(self.theme)}")
        put("duration_ms", _integer("duration-ms", self.duration_ms, 1, MAX_DURATION_MS))
        put("scale", _number("scale", self.scale, 0.05, 20.0))
        put("dpi", _number("dpi", self.dpi, 10.0, 2400.0))
        put("max_frames", _integer("max-frames", self.max_frames, 1))
        put("max_cells", _integer("max-cells", self.max_cells, 1))
        if self.step is not None:
            put("step", _integer("step", self.step, 0))
        put("decimals", _integer("decimals", self.decimals, 0, MAX_DECIMALS))
        for name in (
            "caption", "transparent", "numbers", "flip", "labels", "equation", "symbols", "rgb",
            "separable",
        ):  # fmt: skip
            if not is_boolean(getattr(self, name)):
                raise RenderError(
                    f"--{name}: must be true or false, got {excerpt(getattr(self, name))}"
                )
            put(name, bool(getattr(self, name)))
        if self.seed is not None:
            put("seed", _integer("seed", self.seed, 0))
        if self.padding_mode not in PADDING_MODES:
            raise RenderError(
                f"--padding-mode: must be one of {', '.join(PADDING_MODES)}, "
                f"got {excerpt(self.padding_mode)}"
            )
        for name in ("input_values", "kernel_values"):
            value = getattr(self, name)
            if isinstance(value, (bool, int, float, bytes)) or (
                isinstance(value, str) and not value.strip()
            ):
                option = "--" + name.replace("_", "-")
                raise RenderError(
                    f'{option}: must be inline values like "1,2;3,4", a .csv or .npy '
                    f"file, or rows of numbers, got {excerpt(value)}"
                )
        if self.view not in VIEWS:
            raise RenderError(f"--view: must be one of {', '.join(VIEWS)}, got {self.view!r}")
        if self.symbols and self.view not in SYMBOL_VIEWS:
            raise RenderError(
                f"--symbols: writes x₀₀, w₀₀ in a matrix's cells: use it with --view "
                f"{' or '.join(SYMBOL_VIEWS)}, not {self.view}"
            )
        if self.symbols and self.shows_numbers:
            raise RenderError(
                "--symbols: writes symbols instead of numbers; leave out --numbers and "
                "the value options (--seed, --input-values, --kernel-values, "
                "--padding-mode, --flip, --bias)"
            )
        if isinstance(self.bias, (bool, int, float, bytes)) or (
            isinstance(self.bias, str) and not self.bias.strip()
        ):
            raise RenderError(
                f'--bias: must be "random", inline values like "1,-1" (one per output '
                f"channel), a .csv or .npy file, or a list of numbers, got {self.bias!r}"
            )

    @property
    def shows_numbers(self) -> bool:
        """True when the figure has numbers in its cells (asked for, or implied by values)."""
        return (
            self.numbers
            or self.seed is not None
            or self.input_values is not None
            or self.kernel_values is not None
            or self.padding_mode != "zeros"
            or self.flip
            or self.bias is not None
        )

    @property
    def resolved_layout(self) -> str:
        """The layout drawn: the one given, else ``flat`` with numbers, ``oblique`` without."""
        if self.layout is not None:
            return self.layout
        return "flat" if self.shows_numbers else "oblique"


def default_output(spec: ConvSpec, options: RenderOptions) -> Path:
    """The file written when no output is given: named after the spec, in the current directory.

    ``conv_i5_k3_p1_s2.gif`` for an animation, ``conv_i5_k3_p1_s2_step4.png``
    for a still of step 4. A figure with numbers says where they come from
    (``_seed3``, ``_values``) and how they are padded and combined, and a view
    other than the window names itself (``_matrix``), so figures of one spec
    with different numbers or views do not overwrite each other.
    """
    stem = spec.slug()
    if options.shows_numbers:
        given = options.input_values is not None or options.kernel_values is not None
        stem += "_values" if given else f"_seed{options.seed or 0}"
        if options.bias is not None:
            stem += "_bias"
        if options.padding_mode != "zeros":
            stem += f"_{options.padding_mode}"
        if options.flip:
            stem += "_flip"
    if options.separable:
        stem += "_separable"
    if options.rgb:
        stem += "_rgb"
    if options.view != "window":
        stem += f"_{options.view}" + ("_symbols" if options.symbols else "")
    if options.step is None:
        return Path(stem + ".gif")
    return Path(f"{stem}_step{options.step}.png")


def step_count(spec: ConvSpec, view: str = "window", separable: bool = False) -> int:
    """Steps (frames) of a view: one per output cell, or per input cell for ``scatter``.

    The matrix view of a transposed convolution (``Cᵀ``) also steps through
    the input cells: one column of ``Cᵀ`` each. A depthwise-separable figure
    has a step per output element of each stage.
    """
    if separable:
        from convgif.figures.channels import separable_specs

        return sum(stage.step_count for stage in separable_specs(spec))
    if view == "scatter" or (view == "matrix" and spec.transposed):
        h, w = spec.input_size
        return h * w * getattr(spec, "in_channels", 1)
    return spec.step_count


def cell_count(spec: ConvSpec, view: str = "window", separable: bool = False) -> int:
    """The drawn grid's cells plus every step's window taps: the size of the figure's work.

    What ``convgif geometry --json`` lists (the grid, then each step's window),
    and what bounds the memory and time of a figure's values and frames. With
    channels, the grid counts once per input channel and each step's taps once
    per input channel it reads; a view adds its matrix's entries (``im2col``,
    ``matrix``) or its steps' taps (``scatter``); a separable figure counts
    both stages.
    """
    if separable:
        from convgif.figures.channels import separable_specs

        return sum(cell_count(stage) for stage in separable_specs(spec))
    rows, cols = spec.grid_size
    kernel_rows, kernel_cols = spec.kernel_size
    count = spec.in_channels * rows * cols + spec.step_count * _taps(spec)
    if view in ("im2col", "matrix"):
        from convgif.views import view_shape

        matrix_rows, matrix_cols = view_shape(spec, view) or (0, 0)
        count += matrix_rows * matrix_cols
    elif view == "scatter":
        # Each input cell's taps and the output cells they land on.
        count += step_count(spec, view) * kernel_rows * kernel_cols * spec.out_channels_per_group
    return count


def _taps(spec: ConvSpec) -> int:
    """Kernel taps one step reads: the window in each input channel it reads."""
    kernel_rows, kernel_cols = spec.kernel_size
    channels = spec.in_channels_per_group if spec.mode == "conv" else 1
    return kernel_rows * kernel_cols * channels


def check_frame_count(spec: ConvSpec, options: RenderOptions) -> None:
    """Refuse a ``--step`` out of range, more steps than ``--max-frames``, or more cells
    than ``--max-cells``: before any value, grid or frame is made.

    Raises
    ------
    RenderError
        Naming the option and how to raise the limit.
    """
    if not isinstance(spec, ConvSpec):
        raise _not_a_spec(spec)
    _check_count(step_count(spec, options.view, options.separable), options, "spec")
    cells = cell_count(spec, options.view, options.separable)
    if cells > options.max_cells:
        (rows, cols), (kh, kw) = spec.grid_size, spec.kernel_size
        grid = f"its {rows}x{cols} drawn grid"
        if spec.in_channels > 1:
            grid += f" in {spec.in_channels} channels"
        taps = f"{kh}x{kw} kernel taps"
        if _taps(spec) > kh * kw:
            taps += f" in {_taps(spec) // (kh * kw)} channels"
        what = f"{grid}, and {taps} at each of its {spec.step_count} steps"
        if options.separable:
            what = "both stages' drawn grids and kernel taps"
        elif options.view != "window":
            what += f", and the {options.view} view's entries"
        raise RenderError(
            f"--max-cells: this spec lists {cells} cells ({what}), more than the "
            f"limit of {options.max_cells}; raise it with --max-cells {cells}"
        )


def _check_count(count: int, options: RenderOptions, what: str) -> None:
    """Refuse a ``--step`` out of range, or more steps than ``--max-frames``.

    ``count`` is the figure's steps; ``what`` names it (spec, stack).
    """
    if options.step is not None:
        if options.step >= count:
            raise RenderError(
                f"--step: must be from 0 to {count - 1} (this {what} has "
                f"{count} steps), got {options.step}"
            )
        return
    if count > options.max_frames:
        raise RenderError(
            f"--max-frames: this {what} has {count} steps (frames), more than the "
            f"limit of {options.max_frames}; raise it with --max-frames {count} "
            f"or draw one step with --step N"
        )


def _not_a_spec(spec: object) -> ArgumentTypeError:
    return ArgumentTypeError(
        f"spec: must be a ConvSpec, got {type(spec).__name__} {excerpt(spec)}; "
        f"build one with ConvSpec(input_size=..., ...)"
    )


def _arguments(
    spec: object, options: object, path: object, argument: str
) -> tuple[RenderOptions, Path | None]:
    """Check the types of the public functions' arguments; the options and the path."""
    if not isinstance(spec, ConvSpec):
        raise _not_a_spec(spec)
    options = _options_argument(options)
    if path is None:
        return options, None
    return options, path_argument(path, argument)


def _options_argument(options: object) -> RenderOptions:
    """``options`` checked: RenderOptions, or None for the defaults."""
    if options is None:
        return RenderOptions()
    if not isinstance(options, RenderOptions):
        hint = "; pass RenderOptions(**the_dict)" if isinstance(options, dict) else ""
        raise ArgumentTypeError(
            f"options: must be RenderOptions or None, got {type(options).__name__}{hint}"
        )
    return options


def path_argument(path: object, argument: str) -> Path:
    """``path`` as a Path, or an :class:`ArgumentTypeError` naming ``argument``."""
    try:
        text = os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise ArgumentTypeError(
            f"{argument}: must be a str or os.PathLike path, got "
            f"{type(path).__name__} {excerpt(path)}"
        )
    return Path(text)


def check_view(spec: ConvSpec, options: RenderOptions) -> None:
    """Refuse a view that does not apply to the spec, cannot be drawn legibly, or is not drawn.

    Raises
    ------
    RenderError
        One line starting with ``--view``.
    """
    if options.view == "window":
        return
    from convgif.views import check_legible
    from convgif.views import check_view as check_applies

    check_applies(spec, options.view, options.padding_mode)
    check_legible(spec, options.view)
    # The one guard on views without a figure builder yet: remove a view from
    # it by adding the view to DRAWN_VIEWS when its builder lands.
    if options.view not in DRAWN_VIEWS:
        raise RenderError(
            f"--view: the {options.view} view is not drawn yet; print it with "
            f"convgif geometry --view {options.view}"
        )


def figure_values(spec: ConvSpec, options: RenderOptions) -> Values | None:
    """The numbers of the figure, or None when it has none.

    Raises
    ------
    ValuesError
        Values that cannot be read or do not fit the spec, or a value option
        that does not apply to it (one line naming the option).
    """
    if not options.shows_numbers:
        return None
    from convgif.values import compute_values

    return compute_values(
        spec,
        input_values=options.input_values,  # lists and arrays are read as they are
        kernel_values=options.kernel_values,
        seed=0 if options.seed is None else options.seed,
        padding_mode=options.padding_mode,
        flip=options.flip,
        bias=options.bias,
    )


def build_figure(spec: ConvSpec, options: RenderOptions) -> Figure:
    """The figure description of a spec drawn with these options (values computed).

    Raises
    ------
    ValuesError
        Values that cannot be read or do not fit the spec.
    """
    if options.separable:
        from convgif.figures.channels import separable_figure

        return separable_figure(
            spec, separable_values(spec, options), layout=options.resolved_layout,
            rgb=options.rgb, decimals=options.decimals,
        )  # fmt: skip
    values = figure_values(spec, options)
    if not spec.is_single_channel or options.rgb or options.bias is not None:
        from convgif.figures.channels import channels_figure

        return channels_figure(
            spec, values, layout=options.resolved_layout, rgb=options.rgb,
            decimals=options.decimals,
        )  # fmt: skip
    if options.view == "window":
        from convgif.figures.window import window_figure

        return window_figure(spec, values, decimals=options.decimals)
    from convgif.figures import matrices

    if options.view == "scatter":
        return matrices.scatter_figure(spec, values, decimals=options.decimals)
    build = matrices.im2col_figure if options.view == "im2col" else matrices.matrix_figure
    return build(spec, values, decimals=options.decimals, symbols=options.symbols)


def separable_values(spec: ConvSpec, options: RenderOptions) -> tuple[Values, Values] | None:
    """The two stages' numbers of a depthwise-separable figure, or None without numbers.

    The depthwise stage takes the input values (random from the seed if not
    given) and random weights from the seed; the pointwise stage takes the
    depthwise output, random weights from the seed plus one, and the bias.

    Raises
    ------
    ValuesError, RenderError
        As :func:`figure_values`; ``--kernel-values`` is refused.
    """
    if not options.shows_numbers:
        return None
    if options.kernel_values is not None:
        raise RenderError(
            "--kernel-values: a separable figure has two kernels; their weights are random "
            "from --seed"
        )
    from convgif.figures.channels import separable_specs
    from convgif.values import compute_values

    depthwise_spec, pointwise_spec = separable_specs(spec)
    seed = 0 if options.seed is None else options.seed
    depthwise = compute_values(
        depthwise_spec, input_values=options.input_values, seed=seed,
        padding_mode=options.padding_mode, flip=options.flip,
    )  # fmt: skip
    pointwise = compute_values(
        pointwise_spec, input_values=depthwise.output_planes, seed=seed + 1, bias=options.bias
    )
    return depthwise, pointwise


def check_drawable(spec: ConvSpec, options: RenderOptions) -> None:
    """Refuse what the renderer cannot draw: ``--rgb`` without three input channels,
    ``--separable`` for a spec that has no depthwise-separable form, a matrix view
    with channels.

    Raises
    ------
    RenderError, SpecError
        Naming the option.
    """
    from convgif.figures.channels import check_rgb, separable_specs

    if options.view != "window" and (
        not spec.is_single_channel or options.rgb or options.separable or options.bias is not None
    ):
        raise RenderError(
            f"--view: the {options.view} figure is drawn for one channel without a bias; "
            f"`convgif geometry --view {options.view} --json` gives it with channels"
        )
    check_rgb(spec, options.rgb)
    if options.separable:
        separable_specs(spec)


def _renderer(spec: ConvSpec, options: RenderOptions) -> Renderer:
    """Compute the values, build the figure, load the theme and lay the figure out.

    Raises before anything is drawn.
    """
    return _figure_renderer(build_figure(spec, options), options)


def _figure_renderer(figure: Figure, options: RenderOptions) -> Renderer:
    """Load the theme and lay a figure description out (raises before anything is drawn)."""
    from convgif.render import CELL_INCH, NUMBERS_CELL_INCH, Renderer, Style
    from convgif.theme import load_theme

    style = Style(
        theme=load_theme(options.theme),
        layout=options.resolved_layout,  # type: ignore[arg-type]
        scale=float(options.scale),
        dpi=float(options.dpi),
        caption=options.caption,
        transparent=options.transparent,
        cell_inch=NUMBERS_CELL_INCH if figure.all_texts() else CELL_INCH,
        labels=options.labels,
        equation=options.equation,
    )
    return Renderer(figure, style)


def _step_texts(renderer: Renderer) -> list[str] | None:
    """The text of each step (its equation, with numbers) for the HTML player; None: none."""
    if renderer.equations is None:
        return None
    return [step.equation or "" for step in renderer.figure.steps]


def player_arguments(options: RenderOptions, renderer: Renderer) -> dict[str, Any]:
    """The HTML player's arguments for a figure, besides its frames.

    One place for ``-o fig.html`` and the notebook's inline player.
    """
    return {
        "duration_ms": options.duration_ms,
        "step_texts": _step_texts(renderer),
        "alt": f"convgif animation: {renderer.figure.title}",
        "palette": renderer.palette(),
        "transparent": options.transparent,
    }


def render_to_file(
    spec: ConvSpec, output: str | Path | None, options: RenderOptions | None = None
) -> Written:
    """Render an animation (or, with ``options.step``, one still) to a file.

    Parameters
    ----------
    spec
        The convolution.
    output
        The file; its suffix picks the format: ``.gif``, ``.png`` (APNG),
        ``.webp``, ``.mp4`` or ``.webm`` (video) or ``.html`` (a player that can
        pause and step) for an animation; ``.png``, ``.svg`` or ``.pdf`` for a
        still. None: :func:`default_output` in the current directory.
    options
        How to draw it.

    Returns
    -------
    Written
        The path, frame count and size of what was written.

    Raises
    ------
    RenderError, ThemeError, OutputError
        Before anything is drawn or written (one-line messages naming the
        option).
    """
    options, given = _arguments(spec, options, output, "output")
    check_drawable(spec, options)
    path = given if given is not None else default_output(spec, options)

    def check() -> None:
        check_view(spec, options)
        check_frame_count(spec, options)

    return _write_figure(path, options, check, lambda: build_figure(spec, options))


def _write_figure(
    path: Path, options: RenderOptions, check: Callable[[], None], build: Callable[[], Figure]
) -> Written:
    """Check the output path, then ``check()`` the figure's own options, build it, write it.

    Everything that can be refused is refused before the figure is drawn:
    the path and its suffix first, then ``check``, then the figure's layout.
    """
    from convgif.writers import (
        ANIMATION_SUFFIXES,
        PLAYER_SUFFIXES,
        STILL_SUFFIXES,
        VIDEO_SUFFIXES,
        check_output_path,
    )

    suffix = path.suffix.lower()
    animations = ANIMATION_SUFFIXES + VIDEO_SUFFIXES + PLAYER_SUFFIXES
    if options.step is None and suffix in STILL_SUFFIXES and suffix not in animations:
        raise RenderError(
            f"--output: {suffix} is for a still; add --step N to draw one step, or write "
            f"the animation as .gif, .png (APNG), .webp, .mp4, .webm or .html"
        )
    if options.step is not None and suffix not in STILL_SUFFIXES:
        raise RenderError(
            f"--step: draws one still, written as .png, .svg or .pdf, not "
            f"{suffix or 'a file without a suffix'}; leave out --step to write the animation"
        )
    suffixes = STILL_SUFFIXES if options.step is not None else animations
    path = check_output_path(path, suffixes, "--output")
    if options.transparent and suffix in VIDEO_SUFFIXES:
        raise RenderError(
            f"--transparent: {suffix} video has no transparency; write .png (APNG), .webp "
            f"or .html, or leave out --transparent"
        )
    check()
    renderer = _figure_renderer(build(), options)
    if options.step is None and suffix in VIDEO_SUFFIXES:
        from convgif.writers import write_video

        return write_video(path, renderer.frames(), duration_ms=options.duration_ms)
    if options.step is None and suffix in PLAYER_SUFFIXES:
        from convgif.player import write_player

        return write_player(path, renderer.frames(), **player_arguments(options, renderer))
    if options.step is None:
        from convgif.writers import write_animation

        return write_animation(
            path,
            renderer.frames(),
            duration_ms=options.duration_ms,
            palette=renderer.palette(),
            loop=0,
            transparent=options.transparent,
        )
    if suffix == ".png":
        from convgif.writers import write_image

        # The still is exactly the animation's frame, in the same colours.
        return write_image(
            path, renderer.frame(options.step), palette=renderer.palette(), dpi=options.dpi
        )
    from convgif.writers import save_figure

    return save_figure(path, renderer.figure_for_step(options.step))


def render_frames(
    spec: ConvSpec, directory: str | Path, options: RenderOptions | None = None
) -> Written:
    """Write one PNG per step (``step_000.png`` ...) into ``directory``.

    Raises
    ------
    RenderError, ThemeError, OutputError
        Before anything is drawn or written.
    """
    if directory is None:
        raise ArgumentTypeError("directory: must be a str or os.PathLike path, got None")
    options, path = _arguments(spec, options, directory, "directory")
    assert path is not None

    def check() -> None:
        check_drawable(spec, options)
        check_view(spec, options)
        check_frame_count(spec, options)

    return _write_frames(path, options, check, lambda: build_figure(spec, options))


def _write_frames(
    directory: str | Path,
    options: RenderOptions,
    check: Callable[[], None],
    build: Callable[[], Figure],
) -> Written:
    """:func:`render_frames` for any figure: ``check()``, build, write one PNG per step."""
    from convgif.writers import write_frames

    if options.step is not None:
        raise RenderError("--frames: writes every step; leave out --step")
    check()
    renderer = _figure_renderer(build(), options)
    return write_frames(
        Path(directory), _Sized(renderer), palette=renderer.palette(), dpi=options.dpi
    )


# -- stacks of layers (convgif.stack) -------------------------------------------------
def default_stack_output(stack: StackSpec, options: RenderOptions) -> Path:
    """The file written when no output is given: ``stack_i7_k3_k3d2.gif`` (``_stepN.png``)."""
    parts = [f"stack_i{_show(stack.input_size)}"]
    for layer in stack.layers:
        # The layer's slug without its input size (the layer below's output).
        kind, _, *rest = layer.slug().split("_")
        parts.append(("" if kind == "conv" else kind) + "".join(rest))
    stem = "_".join(parts)
    if options.step is None:
        return Path(stem + ".gif")
    return Path(f"{stem}_step{options.step}.png")


def check_stack_options(stack: StackSpec, options: RenderOptions) -> None:
    """Refuse the options a stack figure does not draw, a bad ``--step``, too many frames.

    Raises
    ------
    RenderError
        One line naming the option.
    """
    if options.view != "window":
        raise RenderError(f"--view: a stack is drawn as its receptive field, not {options.view}")
    if options.shows_numbers:
        raise RenderError(
            "--numbers: a stack figure is drawn without numbers; leave out --numbers and "
            "the value options"
        )
    _check_count(stack.step_count, options, "stack")
    check_stack_cells(stack, options.max_cells)


def check_stack_cells(stack: StackSpec, max_cells: int) -> None:
    """Refuse a stack whose steps list more than ``max_cells`` cells (``--max-cells``).

    Raises
    ------
    RenderError
        Naming the option and the value that would let it through.
    """
    cells = stack.cell_count
    if cells > max_cells:
        raise RenderError(
            f"--max-cells: this stack lists up to {cells} cells (its layers' grids and "
            f"kernel taps, and what each of its {stack.step_count} top cells depends on), "
            f"more than the limit of {max_cells}; raise it with --max-cells {cells}"
        )


def _check_stack_argument(stack: object) -> None:
    from convgif.stack import StackSpec

    if not isinstance(stack, StackSpec):
        raise ArgumentTypeError(
            f"stack: must be a StackSpec, got {type(stack).__name__} {excerpt(stack)}; "
            f"build one with StackSpec.parse(input_size, layers)"
        )


def _stack_builder(stack: StackSpec) -> Callable[[], Figure]:
    def build() -> Figure:
        from convgif.figures.stack import stack_figure

        return stack_figure(stack)

    return build


def render_stack_to_file(
    stack: StackSpec, output: str | Path | None, options: RenderOptions | None = None
) -> Written:
    """Render a stack's receptive-field animation (or, with ``options.step``, a still).

    As :func:`render_to_file` (same formats, same checks before drawing), for a
    :class:`convgif.stack.StackSpec`: one frame per top-layer cell.
    None as ``output``: :func:`default_stack_output`.
    """
    _check_stack_argument(stack)
    options = _options_argument(options)
    given = path_argument(output, "output") if output is not None else None
    path = given if given is not None else default_stack_output(stack, options)
    return _write_figure(
        path, options, lambda: check_stack_options(stack, options), _stack_builder(stack)
    )


def render_stack_frames(
    stack: StackSpec, directory: str | Path, options: RenderOptions | None = None
) -> Written:
    """Write one PNG per step of a stack's figure into ``directory`` (as :func:`render_frames`)."""
    _check_stack_argument(stack)
    options = _options_argument(options)
    return _write_frames(
        path_argument(directory, "directory"),
        options,
        lambda: check_stack_options(stack, options),
        _stack_builder(stack),
    )


class _Sized:
    """The renderer's frames with a length, so file numbers get the right width."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def __len__(self) -> int:
        return len(self.renderer)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return self.renderer.frames()
