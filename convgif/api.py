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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convgif.errors import RenderError
from convgif.inputs import excerpt
from convgif.spec import ArgumentTypeError, ConvSpec, is_boolean, is_integer

if TYPE_CHECKING:  # pragma: no cover - typing only; the heavy modules load lazily
    from convgif.render import Renderer
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
        The input (``H×W``) and the kernel's weights (``kh×kw``, PyTorch's
        weight for the operation): inline text ``"1,2;3,4"``, a path to a
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
    max_cells: int = DEFAULT_MAX_CELLS

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
        for name in ("caption", "transparent", "numbers", "flip"):
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
    (``_seed3``, ``_values``) and how they are padded and combined, so figures
    of one spec with different numbers do not overwrite each other.
    """
    stem = spec.slug()
    if options.shows_numbers:
        given = options.input_values is not None or options.kernel_values is not None
        stem += "_values" if given else f"_seed{options.seed or 0}"
        if options.padding_mode != "zeros":
            stem += f"_{options.padding_mode}"
        if options.flip:
            stem += "_flip"
    if options.step is None:
        return Path(stem + ".gif")
    return Path(f"{stem}_step{options.step}.png")


def cell_count(spec: ConvSpec) -> int:
    """The drawn grid's cells plus every step's window taps: the size of the figure's work.

    What ``convgif geometry --json`` lists (the grid, then each step's window),
    and what bounds the memory and time of a figure's values and frames.
    """
    rows, cols = spec.grid_size
    kernel_rows, kernel_cols = spec.kernel_size
    return rows * cols + spec.step_count * kernel_rows * kernel_cols


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
    if options.step is not None:
        if options.step >= spec.step_count:
            raise RenderError(
                f"--step: must be from 0 to {spec.step_count - 1} (this spec has "
                f"{spec.step_count} steps), got {options.step}"
            )
    elif spec.step_count > options.max_frames:
        raise RenderError(
            f"--max-frames: this spec has {spec.step_count} steps (frames), more than the "
            f"limit of {options.max_frames}; raise it with --max-frames {spec.step_count} "
            f"or draw one step with --step N"
        )
    cells = cell_count(spec)
    if cells > options.max_cells:
        (rows, cols), (kh, kw) = spec.grid_size, spec.kernel_size
        raise RenderError(
            f"--max-cells: this spec lists {cells} cells (its {rows}x{cols} drawn grid, and "
            f"{kh}x{kw} kernel taps at each of its {spec.step_count} steps), more than the "
            f"limit of {options.max_cells}; raise it with --max-cells {cells}"
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
    if options is None:
        options = RenderOptions()
    if not isinstance(options, RenderOptions):
        hint = "; pass RenderOptions(**the_dict)" if isinstance(options, dict) else ""
        raise ArgumentTypeError(
            f"options: must be RenderOptions or None, got {type(options).__name__}{hint}"
        )
    if path is None:
        return options, None
    try:
        text = os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise ArgumentTypeError(
            f"{argument}: must be a str or os.PathLike path, got "
            f"{type(path).__name__} {excerpt(path)}"
        )
    return options, Path(text)


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
    )


def _renderer(spec: ConvSpec, options: RenderOptions) -> Renderer:
    """Compute the values, load the theme and lay the figure out.

    Raises before anything is drawn.
    """
    from convgif.render import CELL_INCH, NUMBERS_CELL_INCH, Renderer, Style
    from convgif.theme import load_theme

    values = figure_values(spec, options)
    style = Style(
        theme=load_theme(options.theme),
        layout=options.resolved_layout,  # type: ignore[arg-type]
        scale=float(options.scale),
        dpi=float(options.dpi),
        caption=options.caption,
        transparent=options.transparent,
        cell_inch=CELL_INCH if values is None else NUMBERS_CELL_INCH,
    )
    if values is None:
        return Renderer(spec, style)
    from convgif.numbers import NumbersLayer

    return Renderer(spec, style, layers=[NumbersLayer(values)])


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

    options, given = _arguments(spec, options, output, "output")
    path = given if given is not None else default_output(spec, options)
    suffix = path.suffix.lower()
    if options.step is None and suffix in STILL_SUFFIXES and suffix not in ANIMATION_SUFFIXES:
        raise RenderError(
            f"--output: {suffix} is for a still; add --step N to draw one step, or write "
            f"the animation as .gif, .png (APNG) or .webp"
        )
    suffixes = STILL_SUFFIXES if options.step is not None else ANIMATION_SUFFIXES
    path = check_output_path(path, suffixes, "--output")
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

    if directory is None:
        raise ArgumentTypeError("directory: must be a str or os.PathLike path, got None")
    options, path = _arguments(spec, options, directory, "directory")
    assert path is not None
    if options.step is not None:
        raise RenderError("--frames: writes every step; leave out --step")
    check_frame_count(spec, options)
    renderer = _renderer(spec, options)
    return write_frames(path, _Sized(renderer), palette=renderer.palette())


class _Sized:
    """The renderer's frames with a length, so file numbers get the right width."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def __len__(self) -> int:
        return len(self.renderer)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return self.renderer.frames()
