"""The ``convgif`` command line: parse, call one function, report.

Errors are one line on stderr (``convgif: error: ...``), exit status 2 for bad
input, never a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from convgif.api import (
    DEFAULT_DECIMALS,
    DEFAULT_DURATION_MS,
    DEFAULT_MAX_CELLS,
    DEFAULT_MAX_FRAMES,
    LAYOUTS,
    MAX_DECIMALS,
    MAX_DURATION_MS,
    PADDING_MODES,
    VIEWS,
)
from convgif.errors import ConvgifError
from convgif.interrupts import stop_signals_handled
from convgif.spec import DEFAULTS, MODES, ConvSpec, SpecError, option_name, parse_count

F = Callable[..., Any]


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP), raised where the program is, so that it
    cleans up as for Ctrl-C; ``signum`` gives the exit status."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# A signal this soon after the one that started stopping is ignored: the run is
# cleaning up, and a second exception (Ctrl-C pressed twice) would cut that short.
# A later one raises again: a cleanup that takes longer is stuck, or the first
# exception was swallowed somewhere.
REPEATED_STOP_IGNORED_S = 1.0


class _StopSignals:
    """While entered, the stop signals raise :class:`Stopped`, which unwinds as Ctrl-C does:
    temporary files are removed and worker processes stopped (exit status 128 + signal).

    ``signum`` keeps the first signal received: its exception can reach the
    command line as another one (raised inside a call from C++ back into
    Python, matplotlib reports it as an invalid transform), and the run was
    interrupted all the same.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._since: float | None = None
        self._handled: contextlib.AbstractContextManager[None] | None = None

    def _stop(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        if self._since is not None and now - self._since < REPEATED_STOP_IGNORED_S:
            return  # not SIG_IGN: that reports a signal caught just before as a race
        self._since = now
        if self.signum is None:
            self.signum = signum
        raise Stopped(signum)

    def __enter__(self) -> _StopSignals:
        self._handled = stop_signals_handled(self._stop)
        self._handled.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._handled is not None
        self._handled.__exit__(*exc)


def _interrupted(signum: int) -> NoReturn:
    click.echo("convgif: interrupted", err=True)
    sys.exit(128 + signum)


def _report(error: Exception) -> NoReturn:
    """Exit with ``error`` as one line (status 2 for bad input, 1 for a failed write)."""
    if isinstance(error, click.BadParameter):
        # "--fps: 0.0 is not in the range x>0.", the form of every other error.
        name = max(error.param.opts, key=len) if error.param else error.param_hint
        click.echo(f"convgif: error: {name}: {error.message}", err=True)
        sys.exit(2)
    if isinstance(error, click.ClickException):
        click.echo(f"convgif: error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    if isinstance(error, ConvgifError):
        click.echo(f"convgif: error: {error}", err=True)
        sys.exit(2)
    if isinstance(error, OSError):
        where = f"cannot write {error.filename}: " if error.filename else ""
        click.echo(f"convgif: error: {where}{error.strerror or error}", err=True)
        sys.exit(1)
    raise error


class ConvgifGroup(click.Group):
    """A group whose errors are a single line and exit status 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        stop = _StopSignals()
        try:
            with stop:
                return super().main(*args, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except (click.Abort, KeyboardInterrupt) as error:
            # click turns KeyboardInterrupt (and so Stopped) into Abort, keeping it as the cause.
            cause = error.__cause__ if isinstance(error, click.Abort) else error
            _interrupted(getattr(cause, "signum", signal.SIGINT))
        except Exception as error:
            if stop.signum is not None:
                _interrupted(stop.signum)
            _report(error)


class _Finite:
    """A float option that refuses nan and inf: click's float takes them, and nan passes
    every bound of a range."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)  # type: ignore[misc]
        if not math.isfinite(number):
            self.fail(f"must be a finite number, got {value}", param, ctx)  # type: ignore[attr-defined]
        return number


class FiniteFloat(_Finite, click.types.FloatParamType):
    """A finite float."""


class FiniteFloatRange(_Finite, click.FloatRange):
    """A finite float within bounds."""


# The size-like spec options: (field, metavar, help). Each takes N or HxW.
_SIZE_OPTIONS = (
    ("input_size", "N|HxW", "Input size (a transposed convolution's own input)."),
    ("kernel_size", "N|HxW", "Kernel (or pooling window) size."),
    (
        "padding",
        "N|HxW|T,B,L,R|NAME",
        "Zero padding: a number, per axis, per side, or valid, same, full, causal.",
    ),
    ("stride", "N|HxW", "Stride."),
    ("dilation", "N|HxW", "Dilation (spacing of the kernel taps)."),
    (
        "output_padding",
        "N|HxW",
        "Extra output rows/columns at the bottom/right (transposed only).",
    ),
)


# The channel options, kept together; resolved by _channel_fields.
_CHANNEL_OPTIONS = (
    click.option(
        "--in-channels",
        default=None,
        show_default="1",
        metavar="N",
        help="Input channels (3 for an RGB image).",
    ),
    click.option(
        "--out-channels",
        default=None,
        show_default="1; --in-channels for pooling and --depthwise",
        metavar="N",
        help="Output channels: the number of filters (pooling keeps the channels).",
    ),
    click.option(
        "--groups",
        default=None,
        show_default="1",
        metavar="N",
        help="Channel groups: output channel m reads only its group's input channels "
        "(PyTorch's groups; both channel counts must be divisible by it).",
    ),
    click.option(
        "--depthwise",
        is_flag=True,
        default=False,
        help="A depthwise convolution: --groups = --in-channels, and --out-channels = "
        "--in-channels unless given (a multiple of it).",
    ),
)


def _channel_fields(options: dict[str, Any]) -> dict[str, int]:
    """The spec's channel fields from the channel options (popped from ``options``).

    ``--out-channels`` defaults to 1, or to ``--in-channels`` for pooling and
    ``--depthwise``; ``--depthwise`` sets ``--groups`` to ``--in-channels``
    (which defaults to ``--out-channels`` if only that is given).

    Raises
    ------
    SpecError
        For ``--depthwise`` with pooling or with a different ``--groups``;
        counts that are not positive integers.
    """
    given = {
        name: None if options[name] is None else parse_count(options[name], name)
        for name in ("in_channels", "out_channels", "groups")
    }
    for name in given:
        options.pop(name)
    depthwise = options.pop("depthwise")
    in_channels, out_channels, groups = given.values()
    mode = options["mode"]
    if depthwise:
        if mode != "conv":
            raise SpecError(
                f"--depthwise: pooling (--mode {mode}) already works on each channel on "
                f"its own; leave out --depthwise"
            )
        channels = in_channels or out_channels or 1
        if groups is not None and groups != channels:
            raise SpecError(
                f"--depthwise: means --groups equal to --in-channels ({channels}), "
                f"got --groups {groups}; give one or the other"
            )
        return {
            "in_channels": channels,
            "out_channels": out_channels or channels,
            "groups": channels,
        }
    in_channels = in_channels or 1
    default_out = in_channels if mode != "conv" else 1
    return {
        "in_channels": in_channels,
        "out_channels": out_channels or default_out,
        "groups": groups or 1,
    }


def spec_options(command: F) -> F:
    """The options that define a :class:`ConvSpec`, shared by every command."""
    options = [
        click.option(
            option_name(field),
            default=str(DEFAULTS[field]),
            show_default=True,
            metavar=metavar,
            help=help_text,
        )
        for field, metavar, help_text in _SIZE_OPTIONS
    ]
    # --transposed goes between --dilation and --output-padding, as in the help.
    options.insert(
        5,
        click.option(
            "--transposed/--direct",
            default=False,
            show_default=True,
            help="A transposed convolution (conv_transpose2d).",
        ),
    )
    options.append(
        click.option(
            "--mode",
            type=click.Choice(MODES),
            default="conv",
            show_default=True,
            help="Convolution, or max / average pooling (padding counts as zeros "
            "in the average, PyTorch's count_include_pad=True).",
        )
    )
    options.extend(_CHANNEL_OPTIONS)
    for option in reversed(options):
        command = option(command)
    return command


RENDER_NUMBERS_HELP = (
    "Write the values in the cells: the input, the kernel's weights small in the window's "
    "cells, the outputs as they are computed, max pooling's winner ringed. Random small "
    "integers unless given; implied by the options below."
)
GEOMETRY_NUMBERS_HELP = (
    "Also print the values: the input, the kernel's weights (conv) and the output. Random "
    "small integers unless given; implied by the options below."
)


def values_options(numbers_help: str) -> Callable[[F], F]:
    """The options of a numerical figure (values in the cells), shared by render and geometry."""
    return lambda command: _add_values_options(command, numbers_help)


def _add_values_options(command: F, numbers_help: str) -> F:
    options = [
        click.option("--numbers", is_flag=True, default=False, help=numbers_help),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=None,
            show_default="0",
            help="Seed of the random input, kernel (and --bias random) values (same seed, same "
            "figure).",
        ),
        click.option(
            "--input-values",
            default=None,
            metavar="ROWS|FILE",
            help="The input's values, HxW as --input-size (CxHxW with --in-channels): inline "
            'rows "1,2;3,4", channels separated by | ("1,2;3,4 | 5,6;7,8"), or a .csv or '
            ".npy file.",
        ),
        click.option(
            "--kernel-values",
            default=None,
            metavar="ROWS|FILE",
            help="The kernel's weights, as --kernel-size, as PyTorch's weight for the "
            "operation (a transposed convolution's window shows them flipped): inline "
            "rows, or a .csv or .npy file. With channels, the 4-D weight (out, in/groups, "
            "kh, kw), transposed (in, out/groups, kh, kw): each filter's channels separated "
            "by |, filters by ||.",
        ),
        click.option(
            "--padding-mode",
            type=click.Choice(PADDING_MODES),
            default="zeros",
            show_default=True,
            help="What the padding cells hold (PyTorch's padding_mode; direct convolutions). "
            "Pooling pads with -inf for max (never chosen) and with zeros for avg, which "
            "count in the average (count_include_pad=True).",
        ),
        click.option(
            "--flip",
            is_flag=True,
            default=False,
            help="A true convolution: the kernel flipped in the window (direct convolutions; "
            "frameworks compute cross-correlation).",
        ),
        click.option(
            "--bias",
            default=None,
            metavar="VALUES|FILE|random",
            help="A bias added to each output channel: one value per output channel (inline "
            '"1,-1", or a .csv or .npy file), or "random" for small integers from --seed.',
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _sizes_from_values(options: dict[str, Any]) -> None:
    """Take ``--input-size`` / ``--kernel-size`` from the values' shapes when not given.

    Given both, they must agree: the values' reader checks that, naming the option.
    """
    context = click.get_current_context(silent=True)
    for values_key, size_key in (("input_values", "input_size"), ("kernel_values", "kernel_size")):
        source = options.get(values_key)
        if context is not None:
            given = context.get_parameter_source(size_key) != click.core.ParameterSource.DEFAULT
        else:  # parsed outside a command (the Sphinx directive): a default is not given
            given = str(options.get(size_key)) != str(DEFAULTS[size_key])
        if source is None or given:
            continue
        from convgif.values import parse_values

        # Channels (3-D input, 4-D weight) end in the plane's height and width too.
        option = "--" + values_key.replace("_", "-")
        shape = parse_values(source, option, ndims=(2, 3, 4)).shape
        options[size_key] = f"{shape[-2]}x{shape[-1]}"


def build_spec(options: dict[str, Any]) -> ConvSpec:
    """Make the spec from the parsed options (and pop them from ``options``).

    The input and kernel sizes default to the shapes of ``--input-values`` and
    ``--kernel-values`` where those are given and the sizes are not.
    """
    if "input_values" in options:
        _sizes_from_values(options)
    channels = _channel_fields(options)
    return ConvSpec(
        input_size=options.pop("input_size"),
        kernel_size=options.pop("kernel_size"),
        padding=options.pop("padding"),
        stride=options.pop("stride"),
        dilation=options.pop("dilation"),
        transposed=options.pop("transposed"),
        output_padding=options.pop("output_padding"),
        mode=options.pop("mode"),
        **channels,
    )


max_frames_option = click.option(
    "--max-frames",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FRAMES,
    show_default=True,
    help="Refuse a spec with more steps (frames) than this.",
)
max_cells_option = click.option(
    "--max-cells",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_CELLS,
    show_default=True,
    help="Refuse a spec whose drawn grid's cells plus every step's kernel taps are more than this.",
)


# -- the views of one convolution (convgif.views) -------------------------------------
view_option = click.option(
    "--view",
    type=click.Choice(VIEWS),
    default="window",
    show_default=True,
    help="What to show: window (the sliding window), im2col (the patch matrix: one column "
    "per window), matrix (the convolution matrix C, or Cᵀ for --transposed: output = "
    "matrix · input, flattened), scatter (--transposed: each input cell, times the "
    "kernel, added into the output).",
)
symbols_option = click.option(
    "--symbols",
    is_flag=True,
    default=False,
    help="Write x₀₀, w₀₀ in the matrix cells instead of numbers (--view im2col or matrix).",
)


def _echo_view(spec: ConvSpec, view: str, values: Any) -> None:
    """The view as text: the matrix (numbers, or symbols without values), or scatter's steps."""
    from convgif import views

    given = values is not None
    if view == "scatter":
        steps = views.scatter(
            spec, values.input if given else None, values.kernel if given else None
        )
        click.echo(f"scatter ({len(steps.steps)} steps, input cell -> output cells):")
        for step in steps.steps:
            targets = " ".join(f"({i},{j})" for i, j in step.targets) or "(none: cropped)"
            click.echo(f"  {step.index}: ({step.input[0]},{step.input[1]}) -> {targets}")
        return
    views.check_json_size(spec, view)
    if view == "im2col":
        matrix: Any = views.im2col(
            spec,
            values.input if given else None,
            padding_mode=values.padding_mode if given else "zeros",
        )
        title = "patch matrix (im2col)"
    else:
        matrix = views.convolution_matrix(
            spec, values.kernel if given else None, flip=values.flip if given else False
        )
        title = (
            "transposed convolution matrix (Cᵀ)" if spec.transposed else "convolution matrix (C)"
        )
    if matrix.values is not None:
        _echo_table(title, matrix.values)
    else:
        _echo_texts(title, views.symbol_table(matrix))


def figure_options(command: F) -> F:
    """The options of a drawn figure (output, look, stills, frames), shared by render and stack."""
    options = [
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            show_default=True,
            help="File to write; the suffix picks the format: .gif, .png (APNG), .webp, .mp4 or "
            ".webm (video, for slides), .html (a player that pauses and steps), or with --step "
            "a still: .png, .svg, .pdf.  [default: named after the spec, in the current "
            "directory]",
        ),
        click.option(
            "--layout",
            type=click.Choice(LAYOUTS),
            default=None,
            show_default="oblique; flat with --numbers",
            help="oblique: the guide's slanted planes; flat: side by side in 2-D (reads better "
            "for large or very non-square grids, and for numbers).",
        ),
        click.option(
            "--theme",
            default="default",
            show_default=True,
            metavar="NAME|PATH",
            help="Colours and line weights: default, dark (dark slides), contrast (colour-blind "
            "safe, print), or a TOML file of your own.",
        ),
        click.option(
            "--duration-ms",
            type=click.IntRange(min=1, max=MAX_DURATION_MS),
            default=DEFAULT_DURATION_MS,
            show_default=True,
            help="Time each frame (step) is shown.",
        ),
        click.option(
            "--fps",
            type=FiniteFloatRange(min=0.002, max=1000),  # 1000 / 0.002 ms fits a GIF delay
            default=None,
            help="Frames per second, instead of --duration-ms.",
        ),
        click.option(
            "--scale",
            type=FiniteFloat(),
            default=1.0,
            show_default=True,
            help="Size of the whole figure: cells, lines and text (and of SVG/PDF stills).",
        ),
        click.option(
            "--dpi",
            type=FiniteFloat(),
            default=100.0,
            show_default=True,
            help="Pixels per inch of raster output.",
        ),
        click.option(
            "--caption/--no-caption",
            default=False,
            show_default=True,
            help="Write the parameters and the output-size arithmetic under the figure.",
        ),
        click.option(
            "--labels/--no-labels",
            default=False,
            show_default=True,
            help="Name each plane beside it (input 5×5, output 3×3; a transposed figure says "
            "whose input and output they are).",
        ),
        click.option(
            "--equation/--no-equation",
            default=True,
            show_default=True,
            help="With numbers, write each step's sum under the figure (y₁,₁ = 3·0 + 1·1 + … = 9).",
        ),
        click.option(
            "--decimals",
            type=click.IntRange(min=0, max=MAX_DECIMALS),
            default=DEFAULT_DECIMALS,
            show_default=True,
            help="Decimals shown for values that are not whole numbers; an equation whose shown "
            "numbers are rounded says so with ≈.",
        ),
        click.option(
            "--transparent/--opaque",
            default=False,
            show_default=True,
            help="Transparent background (for slides).",
        ),
        click.option(
            "--frames",
            "frames_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            show_default=True,
            metavar="DIR",
            help="Write one PNG per step into DIR instead of an animation.",
        ),
        click.option(
            "--step",
            type=click.IntRange(min=0),
            default=None,
            show_default=True,
            metavar="N",
            help="Draw only step N (0-based, row-major over the output) as a still: "
            "-o fig.png, fig.svg or fig.pdf (papers and PDFs cannot embed GIFs).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def duration_from(fps: float | None, duration_ms: int) -> int:
    """The frame duration: from ``--fps`` when given (not with ``--duration-ms``)."""
    if fps is None:
        return duration_ms
    context = click.get_current_context()
    if context.get_parameter_source("duration_ms") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--fps and --duration-ms are mutually exclusive; give one")
    return max(1, round(1000.0 / fps))


@click.group(cls=ConvgifGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="convgif")
def cli() -> None:
    """Animated figures of convolution arithmetic (after Dumoulin & Visin, arXiv:1603.07285)."""


@cli.command()
@spec_options
@values_options(GEOMETRY_NUMBERS_HELP)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print every step as one JSON object (with the values: input_values, "
    "kernel_values, output_values, bias_values).",
)
@max_frames_option
@view_option
@max_cells_option
def geometry(as_json: bool, **options: Any) -> None:
    """Print the output size, the drawn grid and every step of a convolution (and its values)."""
    from convgif.api import RenderOptions, check_frame_count, figure_values
    from convgif.geometry import Geometry

    spec = build_spec(options)
    settings = RenderOptions(**options)
    if settings.view != "window":
        from convgif.views import check_view

        check_view(spec, settings.view, settings.padding_mode)
    check_frame_count(spec, settings)
    if settings.view != "window":
        from convgif.views import check_json_size

        check_json_size(spec, settings.view)  # before anything is printed or built
    layout = Geometry(spec)
    values = figure_values(spec, settings)
    if as_json:
        data = layout.to_dict()
        if values is not None:
            from convgif.values import values_to_json

            data.update(values_to_json(values))
        if settings.view != "window":
            from convgif.views import view_to_json

            data.update(view_to_json(spec, settings.view, values))
        click.echo(json.dumps(data, separators=(",", ":")))
        return
    click.echo(layout.spec.describe())
    for row in layout.cell_kinds():
        click.echo("  " + " ".join(kind.letter for kind in row))
    click.echo("(i input, p padding, z inserted zero)")
    if values is not None:
        tables = [("input values", values.input), ("kernel values", values.kernel)]
        tables.append(("output values", values.output))
        for title, table in tables:
            if table is not None:
                _echo_tables(title, table, spec)
        if values.bias is not None:
            from convgif.values import format_value

            bias = " ".join(format_value(b) for b in values.bias)
            click.echo(f"bias values ({len(values.bias)}, one per output channel): {bias}")
    if settings.view != "window":
        _echo_view(spec, settings.view, values)


def _echo_tables(title: str, array: Any, spec: ConvSpec) -> None:
    """One table per 2-D plane of ``array``, titled with its channel (or filter)."""
    if array.ndim == 2:
        _echo_table(title, array)
        return
    for index in itertools.product(*(range(n) for n in array.shape[:-2])):
        if len(index) == 1:
            where = f"channel {index[0]}"
        elif spec.transposed:
            # conv_transpose2d's weight is (input channel, output channel within its group).
            c, k = index
            out = spec.out_channels_of(c)[k]
            where = f"input channel {c} → output channel {out}"
        else:
            where = f"filter {index[0]}, channel {index[1]}"
        _echo_table(f"{title}, {where}", array[index])


def _echo_table(title: str, table: Any) -> None:
    """A table of values, right-aligned columns, as the figure writes them."""
    from convgif.values import format_value

    _echo_texts(title, [[format_value(x) for x in row] for row in table])


def _echo_texts(title: str, texts: list[list[str]]) -> None:
    """A table of texts, right-aligned columns."""
    width = max(len(t) for row in texts for t in row)
    click.echo(f"{title} ({len(texts)}x{len(texts[0])}):")
    for row in texts:
        click.echo("  " + " ".join(t.rjust(width) for t in row))


@cli.command()
@spec_options
@figure_options
@click.option(
    "--rgb",
    is_flag=True,
    default=False,
    help="Colour the three input channels' planes red, green and blue (--in-channels 3).",
)
@click.option(
    "--separable",
    is_flag=True,
    default=False,
    help="A depthwise-separable convolution in two stages: the convolution made depthwise "
    "(one kernel per input channel), then a 1x1 pointwise convolution from --in-channels "
    "to --out-channels (leave out --groups; weights random from --seed).",
)
@max_frames_option
@max_cells_option
@values_options(RENDER_NUMBERS_HELP)
@view_option
@symbols_option
def render(
    output: Path | None,
    frames_dir: Path | None,
    fps: float | None,
    duration_ms: int,
    **options: Any,
) -> None:
    """Draw a convolution as an animated GIF (or APNG, WebP, stills, a folder of PNGs)."""
    from convgif.api import RenderOptions, render_frames, render_to_file

    duration_ms = duration_from(fps, duration_ms)
    spec = build_spec(options)
    if frames_dir is not None and output is not None:
        raise click.UsageError("--frames and --output are mutually exclusive; give one")
    settings = RenderOptions(duration_ms=duration_ms, **options)
    if frames_dir is not None:
        written = render_frames(spec, frames_dir, settings)
    else:
        written = render_to_file(spec, output, settings)
    click.echo(str(written.path))


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gallery"),
    show_default=True,
    help="Directory the GIFs are written to.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Render only this figure (repeat, or separate names with commas).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    show_default="the number of cores",
    help="Worker processes.",
)
@click.option("--list", "list_only", is_flag=True, help="List the figures and exit.")
@click.option(
    "--force",
    is_flag=True,
    default=False,
    help="Render every figure, also those the folder's manifest (.convgif-manifest.json) "
    "says are current.",
)
@click.option(
    "--gallery",
    "gallery_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The gallery TOML.  [default: gallery.toml of the templates folder: "
    "$CONVGIF_TEMPLATES if set, else the one installed with convgif, else the source "
    "checkout's templates/]",
)
@click.option(
    "--allow-paths-outside",
    is_flag=True,
    default=False,
    help="Let the gallery's file paths (values, themes) lead outside the gallery's folder.",
)
def gallery(
    out_dir: Path,
    only: tuple[str, ...],
    jobs: int | None,
    list_only: bool,
    force: bool,
    gallery_file: Path | None,
    allow_paths_outside: bool,
) -> None:
    """Render every figure of the gallery (templates/gallery.toml), in parallel.

    A figure whose file is current (same entry, theme, values files, convgif
    and library versions as when the folder's manifest recorded it, and the
    file unchanged since) is not drawn again; --force draws every one.
    """
    from convgif import gallery as figures

    entries = figures.select(
        figures.load_gallery(gallery_file, allow_paths_outside=allow_paths_outside),
        [n for item in only for n in item.split(",") if n],
    )
    if list_only:
        for entry in entries:
            click.echo(
                f"{entry.name}\t{entry.caption}"
                + (f"\t(error: {entry.error})" if entry.error else "")
            )
        return
    started = time.perf_counter()
    built = figures.build_gallery(entries, out_dir, jobs, reuse=not force)
    with contextlib.closing(built) as results:
        # closing: an interrupt while a result is reported stops the workers at once,
        # not when the generator is collected.
        done = _collect(results, len(entries))
    failed = [result for result in done if not result.ok]
    frames = sum(result.frame_count for result in done if result.ok)
    size_bytes = sum(result.size_bytes for result in done if result.ok)
    seconds = time.perf_counter() - started
    current = sum(result.current for result in done)
    for result in failed:
        click.echo(f"convgif: error: {result.name}: {result.error}", err=True)
    click.echo(
        f"{len(done) - len(failed)} figures, {frames} frames, {size_bytes} bytes, {seconds:.1f} s"
        + (f", {current} already current" if current else "")
        + (f", {len(failed)} failed" if failed else "")
    )
    if failed:
        sys.exit(1)


@cli.command()
@click.option(
    "--input-size",
    default=str(DEFAULTS["input_size"]),
    show_default=True,
    metavar="N|HxW",
    help="Input size (1xN for a 1-D signal).",
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    metavar="SPEC",
    help="One layer, bottom first (repeat): key=value pairs separated by spaces, "
    "keys kernel-size, stride, dilation, padding, mode with the values of the render "
    'options, like "kernel-size=1x2 dilation=1x4 padding=causal"; missing keys take '
    "the defaults.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the layers, the receptive field and every step (each top cell's sources, "
    "per-layer cells and links) as one JSON object.",
)
@figure_options
@max_frames_option
@max_cells_option
def stack(
    input_size: str,
    layers: tuple[str, ...],
    as_json: bool,
    output: Path | None,
    frames_dir: Path | None,
    fps: float | None,
    duration_ms: int,
    max_frames: int,
    max_cells: int,
    **options: Any,
) -> None:
    """Print or draw a stack of layers' sizes and receptive fields.

    Without -o, --frames or --step: the table (with --json, every step). With
    one of them: the figure, one frame per top-layer cell.
    """
    from convgif.api import (
        RenderOptions,
        check_stack_cells,
        render_stack_frames,
        render_stack_to_file,
    )
    from convgif.errors import RenderError
    from convgif.stack import StackGeometry, StackSpec

    duration_ms = duration_from(fps, duration_ms)
    spec = StackSpec.parse(input_size, layers)
    draw = output is not None or frames_dir is not None or options["step"] is not None
    if draw:
        if as_json:
            raise click.UsageError("--json prints the steps; leave it out to draw (-o, --frames)")
        if frames_dir is not None and output is not None:
            raise click.UsageError("--frames and --output are mutually exclusive; give one")
        settings = RenderOptions(
            duration_ms=duration_ms, max_frames=max_frames, max_cells=max_cells, **options
        )
        if frames_dir is not None:
            written = render_stack_frames(spec, frames_dir, settings)
        else:
            written = render_stack_to_file(spec, output, settings)
        click.echo(str(written.path))
        return
    if not as_json:
        click.echo(spec.describe())
        return
    # The steps (one per top cell) are only computed for the JSON.
    if spec.step_count > max_frames:
        raise RenderError(
            f"--max-frames: this stack has {spec.step_count} steps (top-layer cells), more "
            f"than the limit of {max_frames}; raise it with --max-frames {spec.step_count}"
        )
    check_stack_cells(spec, max_cells)
    click.echo(json.dumps(StackGeometry(spec).to_dict(), separators=(",", ":")))


def _collect(results: Iterator[Any], count: int) -> list[Any]:
    """The gallery's results, reported as they come: a progress bar on a terminal, else lines."""
    if sys.stdout.isatty():
        with click.progressbar(
            results,
            length=count,
            label="rendering",
            item_show_func=lambda r: r.name if r else "",
        ) as bar:
            return list(bar)
    done = []
    for result in results:
        done.append(result)
        click.echo(
            f"{result.name}: "
            + (
                f"{result.frame_count} frames, {result.size_bytes} bytes"
                + (" (current)" if result.current else "")
                if result.ok
                else f"FAILED: {result.error}"
            )
        )
    return done


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="convgif")
    finally:
        # At exit the interpreter garbage-collects every object matplotlib made
        # (~0.1 s of a ~0.8 s render); frozen objects are skipped.
        gc.freeze()
