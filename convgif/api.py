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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convgif.errors import RenderError
from convgif.spec import ConvSpec

if TYPE_CHECKING:  # pragma: no cover - typing only; the heavy modules load lazily
    from convgif.figures.model import Figure
    from convgif.render import Renderer
    from convgif.values import Values
    from convgif.writers import Written

LAYOUTS = ("oblique", "flat")
# PyTorch's padding_mode names; the same as convgif.values.PADDING_MODES,
# repeated here so the command line starts without importing numpy.
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
DEFAULT_DURATION_MS = 1000
DEFAULT_MAX_FRAMES = 3000
MAX_DURATION_MS = 655_350  # the longest GIF delay: 65535 centiseconds
DEFAULT_DECIMALS = 2
MAX_DECIMALS = 6
# The views of one convolution (convgif.views computes them; named here so the
# command line starts without importing numpy). DRAWN_VIEWS are those the
# renderer draws: a view is added there when its figure builder lands.
VIEWS = ("window", "im2col", "matrix", "scatter")
DRAWN_VIEWS = ("window",)
SYMBOL_VIEWS = ("im2col", "matrix")


def _number(name: str, value: object, minimum: float, maximum: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RenderError(f"--{name}: must be a number, got {value!r}")
    if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum:g} to {maximum:g}" if maximum is not None else f">= {minimum:g}"
        raise RenderError(f"--{name}: must be {bound}, got {value}")


def _integer(name: str, value: object, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RenderError(f"--{name}: must be a whole number, got {value!r}")
    _number(name, value, minimum, maximum)


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
    rgb: bool = False
    separable: bool = False

    def __post_init__(self) -> None:
        if self.layout is not None and self.layout not in LAYOUTS:
            raise RenderError(f"--layout: must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if not isinstance(self.theme, (str, Path)) or not str(self.theme):
            raise RenderError(f"--theme: must be a theme name or a path, got {self.theme!r}")
        _integer("duration-ms", self.duration_ms, 1, MAX_DURATION_MS)
        _number("scale", self.scale, 0.05, 20.0)
        _number("dpi", self.dpi, 10.0, 2400.0)
        _integer("max-frames", self.max_frames, 1)
        if self.step is not None:
            _integer("step", self.step, 0)
        _integer("decimals", self.decimals, 0, MAX_DECIMALS)
        for name in (
            "caption", "transparent", "numbers", "flip", "labels", "equation", "symbols", "rgb",
            "separable",
        ):  # fmt: skip
            if not isinstance(getattr(self, name), bool):
                raise RenderError(f"--{name}: must be true or false, got {getattr(self, name)!r}")
        if self.seed is not None:
            _integer("seed", self.seed, 0)
        if self.padding_mode not in PADDING_MODES:
            raise RenderError(
                f"--padding-mode: must be one of {', '.join(PADDING_MODES)}, "
                f"got {self.padding_mode!r}"
            )
        for name in ("input_values", "kernel_values"):
            value = getattr(self, name)
            if isinstance(value, (bool, int, float, bytes)) or (
                isinstance(value, str) and not value.strip()
            ):
                option = "--" + name.replace("_", "-")
                raise RenderError(
                    f'{option}: must be inline values like "1,2;3,4", a .csv or .npy '
                    f"file, or rows of numbers, got {value!r}"
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
                "--padding-mode, --flip)"
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

    A depthwise-separable figure has a step per output element of each stage.
    """
    if separable:
        from convgif.figures.channels import separable_specs

        return sum(stage.step_count for stage in separable_specs(spec))
    if view == "scatter":
        h, w = spec.input_size
        return h * w * getattr(spec, "in_channels", 1)
    return spec.step_count


def check_frame_count(spec: ConvSpec, options: RenderOptions) -> None:
    """Refuse a ``--step`` out of range, or more steps than ``--max-frames``.

    Raises
    ------
    RenderError
        Naming the option and how to raise the limit.
    """
    count = step_count(spec, options.view, options.separable)
    if options.step is not None:
        if options.step >= count:
            raise RenderError(
                f"--step: must be from 0 to {count - 1} (this spec has "
                f"{count} steps), got {options.step}"
            )
        return
    if count > options.max_frames:
        raise RenderError(
            f"--max-frames: this spec has {count} steps (frames), more than the "
            f"limit of {options.max_frames}; raise it with --max-frames {count} "
            f"or draw one step with --step N"
        )


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
    from convgif.figures.window import window_figure

    if options.separable:
        from convgif.figures.channels import separable_figure

        return separable_figure(
            spec, separable_values(spec, options), layout=options.resolved_layout,
            rgb=options.rgb, decimals=options.decimals,
        )  # fmt: skip
    if not spec.is_single_channel or options.rgb or options.bias is not None:
        from convgif.figures.channels import channels_figure

        return channels_figure(
            spec, figure_values(spec, options), layout=options.resolved_layout,
            rgb=options.rgb, decimals=options.decimals,
        )  # fmt: skip
    return window_figure(spec, figure_values(spec, options), decimals=options.decimals)


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
    ``--separable`` for a spec that has no depthwise-separable form.

    Raises
    ------
    RenderError, SpecError
        Naming the option.
    """
    from convgif.figures.channels import check_rgb, separable_specs

    check_rgb(spec, options.rgb)
    if options.separable:
        separable_specs(spec)


def _renderer(spec: ConvSpec, options: RenderOptions) -> Renderer:
    """Compute the values, build the figure, load the theme and lay the figure out.

    Raises before anything is drawn.
    """
    from convgif.render import CELL_INCH, NUMBERS_CELL_INCH, Renderer, Style
    from convgif.theme import load_theme

    figure = build_figure(spec, options)
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


def render_to_file(
    spec: ConvSpec, output: str | Path | None, options: RenderOptions | None = None
) -> Written:
    """Render an animation (or, with ``options.step``, one still) to a file.

    Parameters
    ----------
    spec
        The convolution.
    output
        The file; its suffix picks the format: ``.gif``, ``.png`` (APNG) or
        ``.webp`` for an animation; ``.png``, ``.svg`` or ``.pdf`` for a still.
        None: :func:`default_output` in the current directory.
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
    from convgif.writers import ANIMATION_SUFFIXES, STILL_SUFFIXES, check_output_path

    options = options if options is not None else RenderOptions()
    check_drawable(spec, options)
    path = Path(output) if output is not None else default_output(spec, options)
    suffix = path.suffix.lower()
    if options.step is None and suffix in STILL_SUFFIXES and suffix not in ANIMATION_SUFFIXES:
        raise RenderError(
            f"--output: {suffix} is for a still; add --step N to draw one step, or write "
            f"the animation as .gif, .png (APNG) or .webp"
        )
    if options.step is not None and suffix not in STILL_SUFFIXES:
        raise RenderError(
            f"--step: draws one still, written as .png, .svg or .pdf, not "
            f"{suffix or 'a file without a suffix'}; leave out --step to write the animation"
        )
    suffixes = STILL_SUFFIXES if options.step is not None else ANIMATION_SUFFIXES
    path = check_output_path(path, suffixes, "--output")
    check_view(spec, options)
    check_frame_count(spec, options)
    renderer = _renderer(spec, options)
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
        return write_image(path, renderer.frame(options.step), palette=renderer.palette())
    from convgif.writers import save_figure

    return save_figure(path, renderer.figure_for_step(options.step))


def render_frames(
    spec: ConvSpec, directory: str | Path, options: RenderOptions | None = None
) -> Written:
    """Write one PNG per step (``step_00.png`` ...) into ``directory``.

    Raises
    ------
    RenderError, ThemeError, OutputError
        Before anything is drawn or written.
    """
    from convgif.writers import write_frames

    options = options if options is not None else RenderOptions()
    check_drawable(spec, options)
    if options.step is not None:
        raise RenderError("--frames: writes every step; leave out --step")
    check_view(spec, options)
    check_frame_count(spec, options)
    renderer = _renderer(spec, options)
    return write_frames(Path(directory), _Sized(renderer), palette=renderer.palette())


class _Sized:
    """The renderer's frames with a length, so file numbers get the right width."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def __len__(self) -> int:
        return len(self.renderer)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return self.renderer.frames()
